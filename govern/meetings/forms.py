from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import Optional

from govern.meetings.models import Meeting, MeetingKind
from govern.meetings.services import describe_times, organization_zone

EXISTING = "existing"
NEW = "new"
NEW_MEETING_FIELDS = ("title", "day", "start_time", "end_time", "place", "online_link")
# The services name the moments; the form asks for a date and two times.
SERVICE_FIELDS = {"starts_at": "start_time", "ends_at": "end_time"}


class WhenAndWhere(FlaskForm):
    """The date, times and place of a meeting, as the forms that plan one ask for them."""

    day = DateField(_l("Date"), validators=[Optional()])
    start_time = TimeField(_l("Start time"), validators=[Optional()])
    end_time = TimeField(_l("End time"), validators=[Optional()])
    place = StringField(
        _l("Place"), description=_l("An address or a room. Give a place, an online link or both.")
    )
    online_link = URLField(
        _l("Online link"), description=_l("A web address starting with https://.")
    )


class ScheduleDiscussionForm(WhenAndWhere):
    """At a meeting already planned, or at a new standalone one; only the fields of the
    choice made are checked."""

    where = RadioField(
        _l("Where is it discussed?"),
        choices=[
            (EXISTING, _l("As an agenda item at a meeting already planned")),
            (NEW, _l("At a new standalone meeting")),
        ],
        # Checked by `validate`: the choice is offered only when meetings are planned.
        validate_choice=False,
    )
    meeting = SelectField(_l("Meeting"), coerce=int, validate_choice=False)
    title = StringField(_l("Title"))
    submit = SubmitField(_l("Schedule the discussion"))

    def set_meetings(self, meetings: list[Meeting]) -> None:
        zone = organization_zone()
        self.meeting.choices = [
            (meeting.id, f"{meeting.title} ({describe_times(meeting, zone)})")
            for meeting in meetings
        ]

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        if self.where.data not in (EXISTING, NEW):
            if self.meeting.choices:
                # No choice made for them: new details under a meeting chosen by default
                # would be lost, or the other way round.
                self.where.errors = [_l("Choose where the discussion takes place.")]
            else:
                self.where.data = NEW
        if self.meeting.errors:  # not a number
            self.meeting.errors = [_l("Choose a meeting from the list.")]
        unused = NEW_MEETING_FIELDS if self.where.data == EXISTING else ("meeting",)
        for name in unused:
            self[name].errors = []
        return not any(field.errors for field in self)

    def show_error(self, error: Exception) -> str | None:
        """Put the message next to its field; give it back when it belongs to none shown."""
        field = getattr(error, "field", None)
        name = SERVICE_FIELDS.get(field, field)
        if name in NEW_MEETING_FIELDS or name == "meeting" and self.meeting.choices:
            self[name].errors = [*self[name].errors, str(error)]
            return None
        return str(error)


# Planning meetings -----------------------------------------------------------------------

MEETING_FIELDS = ("title", "kind", "day", "start_time", "end_time", "place", "online_link")


class MeetingForm(WhenAndWhere):
    title = StringField(_l("Title"))
    kind = RadioField(
        _l("Kind"),
        choices=[
            (MeetingKind.REGULAR.value, _l("Regular meeting")),
            (MeetingKind.STANDALONE.value, _l("Standalone meeting")),
        ],
        default=MeetingKind.REGULAR.value,
        validate_choice=False,
    )
    submit = SubmitField(_l("Save the meeting"))

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        if self.kind.data not in {kind.value for kind in MeetingKind}:
            self.kind.errors = [_l("Choose the kind of meeting.")]
        if self.day.errors:
            self.day.errors = [_l("Give the date as year-month-day, e.g. 2026-03-10.")]
        for name in ("start_time", "end_time"):
            if self[name].errors:
                self[name].errors = [_l("Give the time as hours and minutes, e.g. 19:00.")]
        return not any(field.errors for field in self)

    def show_error(self, error: Exception) -> str | None:
        """Put the message next to its field; give it back when it belongs to none."""
        field = getattr(error, "field", None)
        name = SERVICE_FIELDS.get(field, field)
        if name in MEETING_FIELDS:
            self[name].errors = [*self[name].errors, str(error)]
            return None
        return str(error)


class AgendaItemForm(FlaskForm):
    title = StringField(_l("New agenda item"))
    submit = SubmitField(_l("Add to the agenda"))


class MinutesForm(FlaskForm):
    body = TextAreaField(
        _l("Minutes"),
        description=_l(
            "Markdown: **bold**, *italics*, lists with - and headings with #. "
            "Attendance, votes and noted ouches are added below by the tool."
        ),
    )
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save the draft"))
