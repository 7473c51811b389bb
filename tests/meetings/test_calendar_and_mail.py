"""The meeting as an .ics file, and the mail that carries it to every member."""

from datetime import UTC, datetime

from icalendar import Calendar

from govern.amendments import services as amendments
from govern.extensions import db
from govern.mail.delivery import deliver_due
from govern.meetings.calendar import meeting_ics
from tests.meetings.conftest import EVENING, EVENING_END


def only_event(text: str):
    calendar = Calendar.from_ical(text)
    assert calendar["METHOD"] == "PUBLISH" and calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == "-//govern//Meetings//EN"
    [event] = calendar.walk("VEVENT")
    return event


def test_the_ics_describes_the_meeting_in_utc(acknowledged, receiver, make_meeting, clock):
    meeting = make_meeting(online_link="https://meet.example.org/assembly")
    amendments.schedule_discussion(acknowledged, receiver, meeting)
    db.session.commit()

    event = only_event(meeting_ics(meeting, "http://govern.test/"))

    assert str(event["UID"]) == meeting.uid
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert (start, end) == (EVENING, EVENING_END) and start.utcoffset().total_seconds() == 0
    assert "DTSTART:20260310T180000Z" in event.to_ical().decode()
    assert event.decoded("DTSTAMP") == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert event["SEQUENCE"] == 0
    assert str(event["SUMMARY"]) == "General assembly"
    assert str(event["LOCATION"]) == "Community hall, Main Street 1"
    assert str(event["URL"]) == f"http://govern.test/meetings/{meeting.id}"
    description = str(event["DESCRIPTION"])
    assert f"1. Amendment #{acknowledged.id}: Patience" in description
    assert "https://meet.example.org/assembly" in description


def test_an_online_meeting_is_located_at_its_link(make_meeting):
    meeting = make_meeting(place="", online_link="https://meet.example.org/assembly")
    event = only_event(meeting_ics(meeting, "http://govern.test"))
    assert str(event["LOCATION"]) == "https://meet.example.org/assembly"


def test_members_receive_the_mail_with_the_meeting_attached(
    acknowledged, receiver, proposer, make_member, make_meeting, smtp_config, clock
):
    make_member(email="sam@example.org", standing="suspended")
    meeting = make_meeting(online_link="https://meet.example.org/assembly")
    deliver_due()  # the mail of the acknowledgement, sent before
    smtp_config.messages.clear()

    amendments.schedule_discussion(acknowledged, receiver, meeting)
    db.session.commit()
    report = deliver_due()

    assert (report.sent, report.failed) == (2, 0)
    received = {email["To"]: email for email in smtp_config.messages}
    assert set(received) == {proposer.email, receiver.email}
    email = received[proposer.email]
    assert email["Subject"] == "Discussion scheduled: Patience"
    body = email.get_body(("plain",)).get_content()
    assert "Hello Pat Proposer," in body
    assert f"#{acknowledged.id} Patience" in body
    assert f"http://govern.test/amendments/{acknowledged.id}" in body
    # Europe/Berlin is an hour ahead of UTC in March.
    assert "Tuesday, March 10, 2026, 7:00\u202fPM – 9:00\u202fPM (Europe/Berlin time)" in body
    assert "In UTC: Tuesday, March 10, 2026, 6:00\u202fPM – 8:00\u202fPM" in body
    assert "Where: Community hall, Main Street 1" in body
    assert "Online: https://meet.example.org/assembly" in body

    [attachment] = email.iter_attachments()
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == f"meeting-{meeting.id}.ics"
    # RFC 5545: every line of an .ics ends in CRLF, as sent, whatever mail does to text.
    raw = attachment.get_payload(decode=True)
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and b"\r\n" in raw
    assert raw.count(b"\n") == raw.count(b"\r\n")
    event = only_event(attachment.get_content())
    assert str(event["UID"]) == meeting.uid
    assert event.decoded("DTSTART") == meeting.starts_at == EVENING
    assert str(event["SUMMARY"]) == "General assembly"
    assert str(event["LOCATION"]) == "Community hall, Main Street 1"
