"""Meetings as iCalendar files, for members' calendars (RFC 5545)."""

from collections.abc import Iterable
from datetime import UTC

from flask_babel import gettext
from icalendar import Calendar, Event

from govern import clock
from govern.meetings.models import Meeting

PRODID = "-//govern//Meetings//EN"


def meeting_ics(meeting: Meeting, public_url: str) -> str:
    """The meeting as a published event; its UID and SEQUENCE let a calendar update it."""
    return _calendar([meeting_event(meeting, public_url)], "PUBLISH").to_ical().decode()


def meeting_cancellation_ics(meeting: Meeting, public_url: str) -> str:
    """The message that takes the meeting off calendars: the same UID, cancelled."""
    event = meeting_event(meeting, public_url)
    event["status"] = "CANCELLED"
    return _calendar([event], "CANCEL").to_ical().decode()


def meetings_feed_ics(meetings: Iterable[Meeting], public_url: str, name: str) -> str:
    """Every meeting, for calendars that subscribe: one event each, cancelled ones marked.

    Calendar apps fetch it without signing in, so online links (which may carry a
    meeting password) stay out: members get them by mail and on the meeting page.
    """
    events = [meeting_event(meeting, public_url, with_link=False) for meeting in meetings]
    calendar = _calendar(events, "PUBLISH")
    calendar.add("x-wr-calname", gettext("%(name)s meetings", name=name))
    return calendar.to_ical().decode()


def meeting_event(meeting: Meeting, public_url: str, with_link: bool = True) -> Event:
    page = f"{public_url.rstrip('/')}/meetings/{meeting.id}"
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", clock.now().astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("sequence", meeting.sequence)
    event.add("summary", meeting.title)
    location = meeting.place or (meeting.online_link if with_link else gettext("Online"))
    event.add("location", location)
    event.add("url", page)
    event.add("description", _description(meeting, page, with_link))
    if meeting.cancelled_at is not None:
        event.add("status", "CANCELLED")
    return event


def _calendar(events: list[Event], method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for event in events:
        calendar.add_component(event)
    return calendar


def _description(meeting: Meeting, page: str, with_link: bool) -> str:
    lines = []
    if meeting.cancelled_at is not None:
        lines += [gettext("This meeting is cancelled."), ""]
    if meeting.items:
        lines += [gettext("Agenda:"), *(f"{item.position}. {item.title}" for item in meeting.items)]
        lines.append("")
    if meeting.online_link and with_link:
        lines += [gettext("Online: %(link)s", link=meeting.online_link), ""]
    lines.append(page)
    return "\n".join(lines)
