"""The minutes of a meeting: the secretary's Markdown, and the record the tool adds to it
(attendance, votes, ouches). Approved minutes are read-only and every member reads them;
drafts only those who run meetings.

Like the other meeting services, these check the actor and the input, change the models
and flush; none commits.
"""

from dataclasses import dataclass

from flask_babel import gettext
from markupsafe import Markup, escape
from sqlalchemy import func, select, update

from govern import clock
from govern.documents.rendering import render_markdown
from govern.extensions import db
from govern.meetings.models import (
    AgendaItem,
    Attendance,
    Meeting,
    MeetingVote,
    Minutes,
    OuchNote,
)
from govern.meetings.services import MeetingError, can_run_meetings
from govern.members.models import Member, Standing

MINUTES_MAX = 100_000


@dataclass(frozen=True)
class AttendanceFigures:
    present: int
    eligible_present: int


def minutes_of(meeting: Meeting) -> Minutes | None:
    return db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))


def may_read_minutes(minutes: Minutes | None, member: Member) -> bool:
    if can_run_meetings(member):
        return True
    return minutes is not None and minutes.approved_at is not None


def save_minutes(meeting: Meeting, actor: Member, body: str) -> Minutes:
    """Keep the draft as written; as often as the secretary likes, until approved."""
    _check_secretary(meeting, actor)
    body = checked_body(body)
    minutes = minutes_of(meeting)
    if minutes is None:
        minutes = Minutes(meeting_id=meeting.id)
        db.session.add(minutes)
    elif minutes.approved_at is not None:
        raise MeetingError(gettext("These minutes are approved and can no longer change."))
    minutes.body = body
    minutes.updated_at = clock.now()
    minutes.updated_by_id = actor.id
    db.session.flush()
    return minutes


def approve_minutes(meeting: Meeting, actor: Member) -> Minutes:
    """Make the minutes final and visible to every member. There is no way back."""
    _check_secretary(meeting, actor)
    minutes = minutes_of(meeting)
    if minutes is None or not minutes.body.strip():
        raise MeetingError(gettext("Write and save the minutes before approving them."))
    if meeting.starts_at > clock.now():
        raise MeetingError(gettext("Minutes are approved once the meeting has taken place."))
    if _has_open_vote(meeting):
        raise MeetingError(
            gettext("A vote of this meeting is still open: close it before approving the minutes.")
        )
    # Only one approval lands, even from two requests at once.
    approved = db.session.execute(
        update(Minutes)
        .where(Minutes.id == minutes.id, Minutes.approved_at.is_(None))
        .values(approved_at=clock.now(), approved_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if approved.rowcount != 1:
        raise MeetingError(gettext("These minutes are approved already."))
    db.session.refresh(minutes)
    return minutes


def _has_open_vote(meeting: Meeting) -> bool:
    statement = (
        select(MeetingVote.id)
        .join(AgendaItem, AgendaItem.id == MeetingVote.agenda_item_id)
        .where(AgendaItem.meeting_id == meeting.id, MeetingVote.closed_at.is_(None))
        .limit(1)
    )
    return db.session.scalar(statement) is not None


def checked_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    try:
        body.encode()
    except UnicodeEncodeError:
        raise MeetingError(
            gettext("The text contains characters that are not valid."), "body"
        ) from None
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in body):
        raise MeetingError(gettext("The text contains characters that are not valid."), "body")
    if len(body) > MINUTES_MAX:
        raise MeetingError(
            gettext(
                "The minutes are longer than %(max)s characters (they have %(length)s).",
                max=f"{MINUTES_MAX:,}",
                length=f"{len(body):,}",
            ),
            "body",
        )
    return body


def render_minutes(body: str) -> Markup:
    """The secretary's Markdown as safe HTML; raw HTML in it shows as text."""
    rendered = render_markdown(body)
    if rendered.title:
        return Markup("<h2>{}</h2>\n{}").format(escape(rendered.title), rendered.html)
    return rendered.html


def _check_secretary(meeting: Meeting, actor: Member) -> None:
    if not can_run_meetings(actor):
        raise MeetingError(
            gettext("Only a receiver or a chair in good standing writes the minutes.")
        )
    if meeting.cancelled_at is not None:
        raise MeetingError(gettext("This meeting was cancelled; it has no minutes."))
    # One writer at a time on PostgreSQL: the draft is created once.
    db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


# The record the tool adds --------------------------------------------------------------


def attendance_figures(meeting: Meeting) -> AttendanceFigures:
    """Members who checked in at the meeting, and how many of them may vote."""
    statement = (
        select(func.count(), func.count().filter(Member.standing == Standing.ACTIVE))
        .select_from(Attendance)
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id == meeting.id)
    )
    present, eligible = db.session.execute(statement).one()
    return AttendanceFigures(present, eligible)


def meeting_votes(meeting: Meeting) -> list[MeetingVote]:
    """The meeting's closed votes. An open one is left out: its running counts would tell
    whoever reloads the page how each electronic voter just voted."""
    statement = (
        select(MeetingVote)
        .join(AgendaItem, AgendaItem.id == MeetingVote.agenda_item_id)
        .where(AgendaItem.meeting_id == meeting.id, MeetingVote.closed_at.is_not(None))
        .order_by(AgendaItem.position, MeetingVote.opened_at, MeetingVote.id)
    )
    return list(db.session.scalars(statement))


def ouch_notes(meeting: Meeting) -> list[OuchNote]:
    statement = (
        select(OuchNote)
        .where(OuchNote.meeting_id == meeting.id)
        .order_by(OuchNote.noted_at, OuchNote.id)
    )
    return list(db.session.scalars(statement))
