"""A meeting as an iCalendar file, for members' calendars (RFC 5545)."""

from datetime import UTC

from flask_babel import gettext
from icalendar import Calendar, Event

from govern import clock
from govern.meetings.models import Meeting

PRODID = "-//govern//Meetings//EN"


def meeting_ics(meeting: Meeting, public_url: str) -> str:
    """The meeting as a published event; its UID and SEQUENCE let a calendar update it."""
    page = f"{public_url.rstrip('/')}/meetings/{meeting.id}"
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", clock.now().astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", meeting.title)
    event.add("location", meeting.place or meeting.online_link)
    event.add("url", page)
    event.add("description", _description(meeting, page))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _description(meeting: Meeting, page: str) -> str:
    lines = []
    if meeting.items:
        lines += [gettext("Agenda:"), *(f"{item.position}. {item.title}" for item in meeting.items)]
        lines.append("")
    if meeting.online_link:
        lines += [gettext("Online: %(link)s", link=meeting.online_link), ""]
    lines.append(page)
    return "\n".join(lines)
