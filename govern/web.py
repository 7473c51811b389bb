"""Wiring shared by every page: locale, time zone, template helpers, error pages."""

from datetime import UTC, datetime
from typing import TypeVar

from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import (
    format_date,
    format_datetime,
    get_locale,
    gettext,
    lazy_gettext,
    to_user_timezone,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from govern.extensions import db, login_manager

bp = Blueprint("main", __name__)
T = TypeVar("T")


def select_locale() -> str:
    return current_app.config["ORGANIZATION_LOCALE"]


def select_timezone() -> str:
    return current_app.config["ORGANIZATION_TIMEZONE"]


def human_size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:g} MB"
    return f"{size / 1000:g} KB"


@bp.route("/")
def index():
    from govern.documents.services import visible_documents

    return render_template("home.html", documents=visible_documents())


ERROR_MESSAGES = {
    400: lazy_gettext("The request could not be understood, so nothing was changed."),
    403: lazy_gettext("You do not have permission to do this."),
    404: lazy_gettext("There is no such page."),
    405: lazy_gettext("This page cannot be used that way."),
    429: lazy_gettext("Too many attempts. Please wait a minute and try again."),
    500: lazy_gettext(
        "Something went wrong on our side, and nothing was changed. Please try again; "
        "if it keeps happening, tell an administrator."
    ),
}


def _error_page(error: HTTPException, message: str | None = None):
    message = message or ERROR_MESSAGES.get(error.code, error.description)
    return render_template("error.html", code=error.code, message=message), error.code


# The largest id a row of ours can have (PostgreSQL's INTEGER); past 2**63 SQLite's
# driver overflows instead of finding nothing.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """A database id in a URL: a larger number is no row of ours, a 404 and never a query."""

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def get_by_id(model: type[T], value: int | None) -> T | None:
    """The row with id `value` from a form, or None; never a query with an impossible id."""
    if value is None or not 1 <= value <= MAX_ID:
        return None
    return db.session.get(model, value)


# Past this, a page number is no page of ours: the offset would overflow the database's.
MAX_PAGE = 100_000


def page_number() -> int:
    """The `page` query argument of a paginated list; anything odd is page 1."""
    number = request.args.get("page", 1, type=int)
    return number if 1 <= number <= MAX_PAGE else 1


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(bp)
    app.jinja_env.add_extension("jinja2.ext.do")
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")

    @app.template_filter("datetime")
    def _datetime(value: datetime | None, format: str = "medium") -> str:
        return format_datetime(value, format) if value else ""

    @app.template_filter("utc")
    def _utc(value: datetime | None) -> str:
        """The same moment in UTC, shown beside the organization's time: "2026-03-08 12:00 UTC"."""
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""

    @app.template_filter("date")
    def _date(value: datetime | None, format: str = "long") -> str:
        return format_date(to_user_timezone(value), format) if value else ""

    @app.context_processor
    def _globals() -> dict:
        return {
            "organization_name": current_app.config["ORGANIZATION_NAME"],
            "documents_public": current_app.config["DOCUMENTS_PUBLIC"],
            "get_locale": get_locale,
        }

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        return _error_page(
            error,
            gettext(
                "The form had expired or did not come from this site, so nothing was changed. "
                "Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge):
        limit = human_size(current_app.config["MAX_CONTENT_LENGTH"])
        return _error_page(
            error, gettext("The upload is too large: the limit is %(limit)s.", limit=limit)
        )

    for code in (400, 403, 404, 405, 429):
        app.register_error_handler(code, _error_page)

    @app.errorhandler(InternalServerError)
    def _server_error(error: InternalServerError):
        db.session.rollback()
        return _error_page(error)
