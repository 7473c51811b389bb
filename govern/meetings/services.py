"""Planning meetings and their agendas.

Like the amendment services, these check the actor and the input, change the models and
flush; none commits. Refused input raises MeetingError before anything changes.
"""

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import current_app
from flask_babel import get_locale, gettext
from sqlalchemy import Select, func, select

from govern import clock
from govern.extensions import db
from govern.mail.services import Attachment, queue_mail
from govern.meetings.calendar import meeting_cancellation_ics, meeting_ics
from govern.meetings.models import (
    ITEM_TITLE_MAX,
    LINK_MAX,
    MEETING_TITLE_MAX,
    PLACE_MAX,
    AgendaItem,
    Meeting,
    MeetingKind,
    MeetingVote,
    Minutes,
    OuchNote,
    SpeakerRequest,
)
from govern.members.models import Member, Role, Standing
from govern.web import get_by_id


class MeetingError(ValueError):
    """A meeting the actor may not plan, or input that cannot be accepted.

    `field` names the input the message belongs to (`title`, `starts_at`, `ends_at`,
    `place`, `online_link`), when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# After its planned end a meeting still records what happens (attendance, turns to
# speak, ouches, votes) this long: meetings run late.
RUNS_LATE = timedelta(hours=6)


def refuse_if_over(meeting: Meeting) -> None:
    """Nothing more is recorded for a meeting long over, or whose minutes are approved:
    the approved minutes stay what they were."""
    if clock.now() > meeting.ends_at + RUNS_LATE:
        raise MeetingError(gettext("This meeting is over: nothing more is recorded for it."))
    approved = db.session.scalar(
        select(Minutes.approved_at).where(Minutes.meeting_id == meeting.id)
    )
    if approved is not None:
        raise MeetingError(
            gettext("The minutes of this meeting are approved: nothing more is recorded for it.")
        )


def feed_key(member: Member) -> str:
    """The member's own key to the meetings feed, for calendar apps, which send no cookies.
    It follows the member's sign-in id, so setting a new password revokes it."""
    message = f"meetings-feed:{member.id}:{member.login_id}".encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def member_of_feed_key(member_id: int | None, key: str) -> Member | None:
    member = get_by_id(Member, member_id)
    if member is None or not hmac.compare_digest(feed_key(member), key or ""):
        return None
    return member


def can_run_meetings(member: Member) -> bool:
    """Receivers and chairs in good standing plan and run meetings."""
    return (member.has_role(Role.RECEIVER) or member.has_role(Role.CHAIR)) and member.is_eligible


def create_meeting(
    actor: Member,
    title: str,
    kind: MeetingKind | str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    online_link: str,
) -> Meeting:
    """Plan a meeting; `starts_at` and `ends_at` are aware datetimes (stored in UTC)."""
    if not can_run_meetings(actor):
        raise MeetingError(gettext("Only a receiver or a chair in good standing plans meetings."))
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("naive datetime given; meetings take aware datetimes")
    meeting = Meeting(
        title=_checked_title(title),
        kind=MeetingKind(kind),
        starts_at=_checked_start(starts_at),
        ends_at=_checked_end(starts_at, ends_at),
        place=_checked_line(place, PLACE_MAX, "place"),
        online_link=_checked_link(online_link),
        uid=new_uid(),
        created_by=actor,
    )
    if not meeting.place and not meeting.online_link:
        raise MeetingError(
            gettext("Say where the meeting takes place: a place, an online link or both."),
            "place",
        )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def add_agenda_item(meeting: Meeting, title: str, amendment=None) -> AgendaItem:
    """Append an item to the meeting's agenda, after the last one."""
    _lock(meeting)
    if meeting.cancelled_at is not None:
        raise MeetingError(gettext("This meeting is cancelled; choose another one."), "meeting")
    if amendment is not None and any(item.amendment_id == amendment.id for item in meeting.items):
        raise MeetingError(
            gettext("This amendment is on this meeting's agenda already."), "meeting"
        )
    last = db.session.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting.id)
    )
    item = AgendaItem(
        meeting=meeting,
        position=(last or 0) + 1,
        title=shortened(title, ITEM_TITLE_MAX),
        amendment=amendment,
    )
    db.session.add(item)
    db.session.flush()
    return item


def upcoming_meetings() -> list[Meeting]:
    """Meetings to come that still take place: those a discussion can be scheduled at."""
    statement = (
        select(Meeting)
        .where(Meeting.starts_at > clock.now(), Meeting.cancelled_at.is_(None))
        .order_by(Meeting.starts_at)
    )
    return list(db.session.scalars(statement))


def upcoming_statement() -> Select:
    """Meetings to come, cancelled ones included (the list shows them as cancelled)."""
    return select(Meeting).where(Meeting.starts_at > clock.now()).order_by(Meeting.starts_at)


def past_statement() -> Select:
    """Meetings that have started, the latest first."""
    return (
        select(Meeting)
        .where(Meeting.starts_at <= clock.now())
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    )


def members_in_good_standing() -> list[Member]:
    statement = select(Member).where(Member.standing == Standing.ACTIVE).order_by(Member.id)
    return list(db.session.scalars(statement))


def count_members_in_good_standing() -> int:
    statement = select(func.count()).where(Member.standing == Standing.ACTIVE)
    return db.session.scalar(statement.select_from(Member))


def new_uid() -> str:
    """A calendar UID no other meeting, here or elsewhere, has: `meeting-<random>@<host>`."""
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"meeting-{secrets.token_hex(12)}@{host}"


def update_meeting(
    meeting: Meeting,
    actor: Member,
    title: str,
    kind: MeetingKind | str,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    online_link: str,
) -> bool:
    """Change a meeting to come. When its time or place change, its calendar event's
    SEQUENCE goes up and every member in good standing gets the updated event by mail.
    Whether the members were told is returned."""
    _check_may_change(meeting, actor)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("naive datetime given; meetings take aware datetimes")
    title = _checked_title(title)
    kind = MeetingKind(kind)
    starts_at = _checked_start(starts_at)
    ends_at = _checked_end(starts_at, ends_at)
    place = _checked_line(place, PLACE_MAX, "place")
    online_link = _checked_link(online_link)
    if not place and not online_link:
        raise MeetingError(
            gettext("Say where the meeting takes place: a place, an online link or both."),
            "place",
        )
    moved = (starts_at, ends_at, place, online_link) != (
        meeting.starts_at,
        meeting.ends_at,
        meeting.place,
        meeting.online_link,
    )
    meeting.title, meeting.kind = title, kind
    meeting.starts_at, meeting.ends_at = starts_at, ends_at
    meeting.place, meeting.online_link = place, online_link
    if moved:
        meeting.sequence += 1
        tell_members(
            meeting,
            gettext("Meeting changed: %(title)s", title=meeting.title),
            "meeting_updated",
            meeting_ics(meeting, current_app.config["PUBLIC_URL"]),
            "PUBLISH",
        )
    db.session.flush()
    return moved


def cancel_meeting(meeting: Meeting, actor: Member) -> None:
    """Call the meeting off and send every member in good standing the cancellation for
    their calendars. It cannot be undone: a new meeting is planned instead."""
    _check_may_change(meeting, actor)
    meeting.cancelled_at = clock.now()
    meeting.sequence += 1
    tell_members(
        meeting,
        gettext("Meeting cancelled: %(title)s", title=meeting.title),
        "meeting_cancelled",
        meeting_cancellation_ics(meeting, current_app.config["PUBLIC_URL"]),
        "CANCEL",
    )
    db.session.flush()


def why_not_changeable(meeting: Meeting) -> str | None:
    """None while the meeting's details may change; otherwise the reason."""
    if meeting.cancelled_at is not None:
        return gettext("This meeting is cancelled; it can no longer be changed.")
    if meeting.starts_at <= clock.now():
        return gettext("This meeting has started already; it can no longer be changed.")
    return None


def _check_may_change(meeting: Meeting, actor: Member) -> None:
    if not can_run_meetings(actor):
        raise MeetingError(gettext("Only a receiver or a chair in good standing plans meetings."))
    reason = why_not_changeable(meeting)
    if reason is not None:
        raise MeetingError(reason)
    _lock(meeting)


def tell_members(
    meeting: Meeting, subject: str, template: str, ics: str, method: str, **context
) -> None:
    """Mail every member in good standing about the meeting, its .ics attached; `context`
    goes to the template too. Built once for all: with thousands of members, it adds up."""
    attachment = Attachment(f"meeting-{meeting.id}.ics", f"text/calendar; method={method}", ics)
    zone = organization_zone()
    context |= {
        "meeting": meeting,
        "time_zone": str(zone),
        "local_times": describe_times(meeting, zone),
        "utc_times": describe_times(meeting, UTC),
    }
    for member in members_in_good_standing():
        queue_mail(member.email, subject, template, attachment, member=member, **context)


# The agenda ------------------------------------------------------------------------------


def add_plain_item(meeting: Meeting, actor: Member, title: str) -> AgendaItem:
    """An agenda item other than an amendment's discussion, which scheduling adds."""
    _check_may_edit_agenda(meeting, actor)
    title = _checked_line(title, ITEM_TITLE_MAX, "title")
    if not title:
        raise MeetingError(gettext("Give the item a title."), "title")
    return add_agenda_item(meeting, title)


def remove_item(item: AgendaItem, actor: Member) -> None:
    """Take a plain item off the agenda; the items after it move up one place."""
    meeting = item.meeting
    _check_may_edit_agenda(meeting, actor)
    if item.amendment_id is not None:
        raise MeetingError(
            gettext("An amendment's discussion stays on the agenda it was scheduled on.")
        )
    if _is_referenced(item):
        raise MeetingError(
            gettext("This item has been taken up at the meeting; it stays in the record.")
        )
    later = [other for other in meeting.items if other.position > item.position]
    db.session.delete(item)
    db.session.flush()
    # One at a time from the top, so no two items ever share a position.
    for other in sorted(later, key=lambda other: other.position):
        other.position -= 1
        db.session.flush()
    db.session.expire(meeting, ["items"])


def move_item(item: AgendaItem, actor: Member, direction: str) -> None:
    """Swap the item with the one before it ("up") or after it ("down")."""
    meeting = item.meeting
    _check_may_edit_agenda(meeting, actor)
    if direction not in ("up", "down"):
        raise MeetingError(gettext("Move an item up or down."))
    db.session.refresh(meeting, ["items"])
    items = meeting.items
    index = next(i for i, other in enumerate(items) if other.id == item.id)
    neighbour_index = index - 1 if direction == "up" else index + 1
    if not 0 <= neighbour_index < len(items):
        raise MeetingError(gettext("This item cannot move further that way."))
    neighbour = items[neighbour_index]
    mine, theirs = item.position, neighbour.position
    # Through a free position: the unique (meeting, position) holds at every step.
    item.position = -1
    db.session.flush()
    neighbour.position = mine
    db.session.flush()
    item.position = theirs
    db.session.flush()
    db.session.expire(meeting, ["items"])


def _check_may_edit_agenda(meeting: Meeting, actor: Member) -> None:
    if not can_run_meetings(actor):
        raise MeetingError(gettext("Only a receiver or a chair in good standing sets agendas."))
    if meeting.cancelled_at is not None:
        raise MeetingError(gettext("This meeting is cancelled; it can no longer be changed."))
    _lock(meeting)


def _is_referenced(item: AgendaItem) -> bool:
    for model in (SpeakerRequest, OuchNote, MeetingVote):
        statement = select(model.id).where(model.agenda_item_id == item.id).limit(1)
        if db.session.scalar(statement) is not None:
            return True
    return False


def _lock(meeting: Meeting) -> None:
    """Lock the meeting's row on PostgreSQL: changes to one meeting and its agenda
    happen one at a time (two items added at once get two positions)."""
    db.session.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


# Time zones ------------------------------------------------------------------------------


def organization_zone() -> tzinfo:
    return ZoneInfo(current_app.config["ORGANIZATION_TIMEZONE"])


def organization_datetime(day: date | None, at: time | None, field: str) -> datetime:
    """The moment a wall-clock time in the organization's time zone names, in UTC.

    A time the clocks skip (spring forward) or pass twice (fall back) names no single
    moment, so it is refused rather than guessed.
    """
    if day is None:
        raise MeetingError(gettext("Give the meeting's date."), "day")
    if at is None:
        raise MeetingError(gettext("Give the time."), field)
    zone = organization_zone()
    wall = datetime.combine(day, at.replace(tzinfo=None))
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    try:
        at_utc = first.astimezone(UTC)
    except OverflowError:  # the first or the last hours of the calendar
        raise MeetingError(gettext("Give a date in the years to come."), "day") from None
    if first.utcoffset() != second.utcoffset():
        arguments = {"time": at.strftime("%H:%M"), "zone": str(zone)}
        if at_utc.astimezone(zone).replace(tzinfo=None) != wall:
            message = gettext(
                "%(time)s does not exist on that day in %(zone)s: the clocks skip it when "
                "daylight saving time starts. Choose another time.",
                **arguments,
            )
        else:
            message = gettext(
                "%(time)s happens twice on that day in %(zone)s, when daylight saving time "
                "ends. Choose another time, so that nobody comes an hour early or late.",
                **arguments,
            )
        raise MeetingError(message, field)
    return at_utc


def describe_times(meeting: Meeting, zone: tzinfo) -> str:
    """When the meeting runs, read in `zone`: "Tuesday, March 10, 2026, 7:00 PM – 9:00 PM"."""
    locale = get_locale()
    starts, ends = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    start_day = babel_dates.format_date(starts, "full", locale=locale)
    start_time = babel_dates.format_time(starts, "short", tzinfo=zone, locale=locale)
    end_time = babel_dates.format_time(ends, "short", tzinfo=zone, locale=locale)
    if starts.date() == ends.date():
        return f"{start_day}, {start_time} – {end_time}"
    end_day = babel_dates.format_date(ends, "full", locale=locale)
    return f"{start_day}, {start_time} – {end_day}, {end_time}"


def shortened(text: str, limit: int) -> str:
    """`text`, cut with an ellipsis when longer than `limit` characters."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def is_web_link(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# Checks ----------------------------------------------------------------------------------


def _checked_title(title: str) -> str:
    title = _checked_line(title, MEETING_TITLE_MAX, "title")
    if not title:
        raise MeetingError(gettext("A meeting needs a title."), "title")
    return title


def _checked_start(starts_at: datetime) -> datetime:
    if starts_at <= clock.now():
        raise MeetingError(gettext("The meeting must start in the future."), "starts_at")
    return starts_at.astimezone(UTC)


def _checked_end(starts_at: datetime, ends_at: datetime) -> datetime:
    if ends_at <= starts_at:
        raise MeetingError(gettext("The meeting must end after it starts."), "ends_at")
    return ends_at.astimezone(UTC)


def _checked_link(link: str) -> str:
    link = _checked_line(link, LINK_MAX, "online_link")
    if link and (" " in link or not is_web_link(link)):
        raise MeetingError(
            gettext("The online link must be a web address starting with https:// or http://."),
            "online_link",
        )
    return link


def _checked_line(value: str, limit: int, field: str) -> str:
    """One line of text, spaces collapsed; control characters and lone surrogates refused."""
    value = " ".join((value or "").split())
    try:
        value.encode()
    except UnicodeEncodeError:
        raise MeetingError(
            gettext("The text contains characters that are not valid."), field
        ) from None
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise MeetingError(gettext("The text contains characters that are not valid."), field)
    if len(value) > limit:
        raise MeetingError(gettext("This is longer than %(max)s characters.", max=limit), field)
    return value
