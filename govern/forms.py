"""Forms shared by every part of the site."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""
