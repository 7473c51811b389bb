from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    Field,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import NumberInput

from govern.documents.models import TextFormat
from govern.documents.slugs import is_valid_slug
from govern.procedures.catalog import SETTINGS, TEMPLATES
from govern.procedures.stages import BALLOT_DAYS
from govern.procedures.thresholds import THRESHOLDS

NEW_DOCUMENT = "__new__"
FORMAT_FROM_FILENAME = "auto"


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
        ],
        description=_l("For example code-of-conduct. Made from the title when left empty."),
    )
    format = RadioField(
        _l("Format of the new document"),
        choices=[
            (FORMAT_FROM_FILENAME, _l("From the file name: .txt is plain text, others Markdown")),
            (TextFormat.MARKDOWN.value, _l("Markdown")),
            (TextFormat.PLAIN.value, _l("Plain text (lines in capitals are headings)")),
        ],
        default=FORMAT_FROM_FILENAME,
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
    ratified_on = DateField(
        _l("Ratified on (optional)"),
        validators=[Optional()],
        description=_l("The day the members adopted this version, for the history list."),
    )
    summary = StringField(
        _l("What changed (for the history list)"), validators=[Optional(), Length(max=500)]
    )
    submit = SubmitField(_l("Import"))

    def validate_slug(self, field: Field) -> None:
        if field.data and not is_valid_slug(field.data):
            raise ValidationError(gettext("Use lowercase letters, digits and dashes."))

    def set_documents(self, documents: list) -> None:
        self.document.choices = [(NEW_DOCUMENT, _l("A new document"))] + [
            (document.slug, _l("New version of %(title)s", title=document.title))
            for document in documents
        ]

    @property
    def text_format(self) -> TextFormat | None:
        """The chosen format; None lets the file name decide."""
        if self.format.data in {f.value for f in TextFormat}:
            return TextFormat(self.format.data)
        return None


class CompareForm(FlaskForm):
    """Choosing two versions by number; the compare view checks the numbers itself.

    Number fields rather than drop-downs: a document may have hundreds of versions.
    """

    class Meta:
        csrf = False  # a GET form that changes nothing

    old = IntegerField(_l("From version"), widget=NumberInput(min=1))
    new = IntegerField(_l("To version"), widget=NumberInput(min=1))
    view = RadioField(
        _l("View"),
        choices=[("redline", _l("Redline")), ("side", _l("Side by side"))],
        default="redline",
    )
    submit = SubmitField(_l("Compare"))

    def set_versions(self, numbers: list[int]) -> None:
        """`numbers` newest first; without a choice, propose the latest change."""
        if not numbers:
            return
        last = max(numbers)
        for field in (self.old, self.new):
            field.description = gettext("A number from 1 to %(last)s.", last=last)
            field.render_kw = {"max": last}
        if self.old.data is None and self.new.data is None and len(numbers) >= 2:
            self.old.data, self.new.data = numbers[1], numbers[0]


DEFAULT_SETTING = ""
YES, NO = "yes", "no"
BOOLEAN_SETTINGS = ("amendments_from_floor", "abstentions_count_as_cast", "ballot_roll_call")


def _threshold_choices(stage_kind: str) -> list[tuple[str, object]]:
    return [(DEFAULT_SETTING, _l("As the chosen procedure has it"))] + [
        (rule.name, rule.description)
        for rule in THRESHOLDS.values()
        if stage_kind in rule.stage_kinds
    ]


def _yes_no_choices() -> list[tuple[str, object]]:
    return [
        (DEFAULT_SETTING, _l("As the chosen procedure has it")),
        (YES, _l("Yes")),
        (NO, _l("No")),
    ]


class ProcedureForm(FlaskForm):
    """A procedure template and the settings to adjust; an empty setting keeps its default.

    Field names are the catalog's SETTINGS, so a ProcedureError's `field` names its field.
    The procedure rules themselves check the values (validate_choice=False).
    """

    template = RadioField(
        _l("Procedure"),
        choices=[(key, procedure.name) for key, procedure in TEMPLATES.items()],
        validators=[InputRequired(_l("Choose a procedure."))],
        validate_choice=False,
    )
    meeting_vote_threshold = RadioField(
        _l("Threshold of the meeting vote"),
        choices=_threshold_choices("meeting_vote"),
        default=DEFAULT_SETTING,
        validate_choice=False,
    )
    amendments_from_floor = RadioField(
        _l("Amendments from the floor at the meeting"),
        choices=_yes_no_choices(),
        default=DEFAULT_SETTING,
        validate_choice=False,
    )
    ballot_threshold = RadioField(
        _l("Threshold of the electronic ballot"),
        choices=_threshold_choices("ballot"),
        default=DEFAULT_SETTING,
        validate_choice=False,
    )
    ballot_days = IntegerField(
        _l("Days the electronic ballot stays open"),
        validators=[Optional()],
        widget=NumberInput(min=BALLOT_DAYS.start, max=BALLOT_DAYS.stop - 1),
        description=_l(
            "From %(min)s to %(max)s. Leave empty for the chosen procedure's default.",
            min=BALLOT_DAYS.start,
            max=BALLOT_DAYS.stop - 1,
        ),
    )
    reminder_hours = IntegerField(
        _l("Reminder to members who have not voted, in hours before the ballot closes"),
        validators=[Optional()],
        widget=NumberInput(min=0),
        description=_l("0 sends no reminder. Leave empty for the chosen procedure's default."),
    )
    abstentions_count_as_cast = RadioField(
        _l("Abstentions count as votes cast"),
        choices=_yes_no_choices(),
        default=DEFAULT_SETTING,
        validate_choice=False,
    )
    ballot_roll_call = RadioField(
        _l("Roll-call ballot: record and publish how each member voted"),
        choices=_yes_no_choices(),
        default=DEFAULT_SETTING,
        validate_choice=False,
        description=_l("No keeps the ballot secret, as the procedures have it."),
    )
    submit = SubmitField(_l("Save the procedure"))

    @property
    def settings(self) -> dict[str, object]:
        """The settings given, as `catalog.customize` takes them; empty ones are left out."""
        given: dict[str, object] = {}
        for name in SETTINGS:
            value = getattr(self, name).data
            if value in (None, DEFAULT_SETTING):
                continue
            if name in BOOLEAN_SETTINGS:
                # Anything but yes or no goes through as posted, for the rules to refuse.
                value = {YES: True, NO: False}.get(value, value)
            given[name] = value
        return given
