"""The ballot pages: opening, voting by link or signed in, turnout, the result."""

from flask import Blueprint

from govern.ballots import models  # noqa: F401  (the tables, for the app and migrations)

bp = Blueprint("ballots", __name__)
