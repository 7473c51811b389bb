from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from govern.documents.models import TextFormat


class DocumentImportForm(FlaskForm):
    document = SelectField(_l("Document"), coerce=str, validate_choice=True)
    title = StringField(
        _l("Title of the new document"),
        validators=[Optional(), Length(max=200)],
        description=_l("Only for a new document."),
    )
    slug = StringField(
        _l("Web address (optional)"),
        validators=[
            Optional(),
            Length(max=80),
            Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l("Use lowercase letters, digits and dashes.")),
        ],
        description=_l("For example code-of-conduct. Made from the title when left empty."),
    )
    format = RadioField(
        _l("Format"),
        choices=[(TextFormat.MARKDOWN.value, _l("Markdown")), (TextFormat.PLAIN.value, _l("Plain text"))],
        default=TextFormat.MARKDOWN.value,
    )
    file = FileField(
        _l("Text file"),
        validators=[FileRequired(_l("Choose a file."))],
        description=_l("UTF-8 Markdown (.md) or plain text (.txt)."),
    )
    effective_on = DateField(
        _l("In effect since"),
        validators=[Optional()],
        description=_l("For a past version; leave empty for today."),
    )
    summary = StringField(
        _l("What changed (for the history list)"), validators=[Optional(), Length(max=500)]
    )
    submit = SubmitField(_l("Import"))


class CompareForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    old = SelectField(_l("From version"), coerce=int, validators=[DataRequired()])
    new = SelectField(_l("To version"), coerce=int, validators=[DataRequired()])
    view = RadioField(
        _l("View"),
        choices=[("redline", _l("Redline")), ("side", _l("Side by side"))],
        default="redline",
    )
    submit = SubmitField(_l("Compare"))
