"""A proposal from draft to its discussion slot, in Chromium: a member drafts a section
edit and submits it; a receiver acknowledges it and schedules its discussion; every
member's mail reaches the SMTP server with a calendar file a calendar can read."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import expect

from govern.documents import services as documents
from govern.extensions import db
from govern.mail.delivery import deliver_due
from govern.members.models import Member, MemberRole
from tests.browser.conftest import check_accessibility, sign_in
from tests.conftest import PASSWORD_HASH

pytestmark = pytest.mark.browser

CODE = """# Code of Conduct

## Expected behaviour

Members listen to one another.

## Reporting

Report a breach to any receiver.
"""
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def organization(live_app, smtp_server):
    live_app.config.update(
        ORGANIZATION_TIMEZONE="Asia/Seoul",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
    )
    with live_app.app_context():
        documents.import_versions(
            [documents.VersionFile(data=CODE.encode())], title="Code of Conduct", slug="coc"
        )
        for name, email, roles in [
            ("Mina Member", "mina@example.org", []),
            ("Rosa Receiver", "rosa@example.org", ["receiver"]),
            ("Jun Park", "jun@example.org", []),
        ]:
            member = Member(name=name, email=email, password_hash=PASSWORD_HASH)
            member.role_rows = [MemberRole(role=role) for role in roles]
            db.session.add(member)
        db.session.commit()


def test_a_section_edit_is_proposed_acknowledged_and_scheduled_with_a_calendar_file(
    browser, live_server, live_app, organization, smtp_server
):
    console_errors: list[str] = []

    def new_page():
        page = browser.new_context(base_url=live_server.url).new_page()
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        return page

    # Mina drafts a change to one section and sees its redline as she types.
    mina = new_page()
    sign_in(mina, "mina@example.org", "Mina Member")
    mina.goto("/documents/coc")
    mina.get_by_role("link", name="Propose an amendment").click()
    mina.get_by_role("link", name="Reporting", exact=True).click()
    mina.get_by_label("Title", exact=True).fill("Report to anyone you trust")
    mina.get_by_label("Rationale").fill("Not everyone knows who the receivers are.")
    section = mina.get_by_label("Proposed text of this section")
    section.fill("## Reporting\n\nReport a breach to any receiver or any member you trust.")
    preview = mina.locator("#redline-preview")
    expect(preview.locator("ins").filter(has_text="or any member you trust")).to_be_visible()
    mina.get_by_role("button", name="Save draft").click()
    expect(mina.get_by_text("Your draft is saved. Only you can see it.")).to_be_visible()
    expect(mina.locator("ins").filter(has_text="or any member you trust")).to_be_visible()
    expect(mina.get_by_text("Members listen to one another.")).to_be_attached()

    # She submits it to all receivers.
    mina.get_by_label("Address to").select_option(label="All receivers")
    mina.get_by_role("button", name="Submit", exact=True).click()
    expect(mina.get_by_text("Your proposal is submitted.")).to_be_visible()
    amendment_url = mina.url
    check_accessibility(mina)

    # Rosa finds it in her inbox and acknowledges it.
    rosa = new_page()
    sign_in(rosa, "rosa@example.org", "Rosa Receiver")
    rosa.goto("/amendments/inbox")
    rosa.get_by_role("button", name="Acknowledge").click()
    expect(rosa.get_by_text("You acknowledged the proposal")).to_be_visible()
    assert rosa.url == amendment_url

    # She gives it a discussion slot at a new meeting, in the organization's time zone.
    rosa.get_by_role("link", name="Schedule the discussion").click()
    expect(rosa.get_by_text("3 members in good standing will be told by mail")).to_be_visible()
    check_accessibility(rosa)
    day = datetime.now(SEOUL).date() + timedelta(days=10)
    rosa.get_by_label("Date").fill(day.isoformat())
    rosa.get_by_label("Start time").fill("19:00")
    rosa.get_by_label("End time").fill("20:30")
    rosa.get_by_label("Place").fill("Union hall, 2nd floor")
    rosa.get_by_role("button", name="Schedule the discussion").click()
    expect(rosa.get_by_text("The discussion is scheduled")).to_be_visible()
    expect(rosa.get_by_text("discussion scheduled").first).to_be_visible()

    # Members discuss it in writing before the meeting.
    mina.reload()
    mina.get_by_label("Your comment").fill("Happy to take **questions** here.")
    mina.get_by_role("button", name="Post comment").click()
    expect(mina.locator(".comment-body strong").filter(has_text="questions")).to_be_visible()

    # Every member gets the news with the meeting for their calendar.
    with live_app.app_context():
        deliver_due()
    scheduled = {
        message["To"]: message
        for message in smtp_server.messages
        if message["Subject"].startswith("Discussion scheduled")
    }
    assert set(scheduled) == {"mina@example.org", "rosa@example.org", "jun@example.org"}
    message = scheduled["jun@example.org"]
    body = message.get_body(("plain",)).get_content()
    assert re.search(r"When: .*7:00\sPM – 8:30\sPM \(Asia/Seoul time\)", body)
    assert re.search(r"In UTC: .*10:00\sAM – 11:30\sAM", body)
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    (event,) = calendar.walk("VEVENT")
    starts = event.decoded("DTSTART")
    assert starts == datetime(day.year, day.month, day.day, 19, 0, tzinfo=SEOUL)
    assert starts.astimezone(UTC).utcoffset() == timedelta(0)
    assert event.decoded("DTEND") - starts == timedelta(minutes=90)
    assert str(event["LOCATION"]) == "Union hall, 2nd floor"
    assert "Report to anyone you trust" in str(event["DESCRIPTION"])
    assert console_errors == []
