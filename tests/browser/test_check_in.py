"""Self check-in in Chromium: the chair opens check-in and shows the code, three members
type it on their own devices, and the chair's meeting page counts them without a reload."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from govern.extensions import db
from govern.meetings import services
from govern.meetings.models import MeetingKind
from govern.members.models import Member, MemberRole
from tests.browser.conftest import check_accessibility, sign_in
from tests.conftest import PASSWORD_HASH

pytestmark = pytest.mark.browser

MEMBERS = [
    ("Mina Member", "mina@example.org"),
    ("Jun Park", "jun@example.org"),
    ("Ola Nowak", "ola@example.org"),
]


@pytest.fixture
def meeting_id(live_app):
    with live_app.app_context():
        chair = Member(name="Chiara Chair", email="chiara@example.org", password_hash=PASSWORD_HASH)
        chair.role_rows = [MemberRole(role="chair")]
        db.session.add(chair)
        for name, email in MEMBERS:
            db.session.add(Member(name=name, email=email, password_hash=PASSWORD_HASH))
        db.session.flush()
        meeting = services.create_meeting(
            chair,
            "General assembly",
            MeetingKind.REGULAR,
            datetime(2099, 3, 10, 18, 0, tzinfo=UTC),
            datetime(2099, 3, 10, 20, 0, tzinfo=UTC),
            "",
            "https://meet.example.org/assembly",
        )
        db.session.commit()
        return meeting.id


def test_three_members_check_in_with_the_code_and_the_chair_sees_them_live(
    browser, live_server, meeting_id
):
    console_errors: list[str] = []

    def new_page():
        page = browser.new_context(base_url=live_server.url).new_page()
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        return page

    chair = new_page()
    sign_in(chair, "chiara@example.org", "Chiara Chair")
    chair.goto(f"/meetings/{meeting_id}")
    chair.get_by_role("link", name="Take attendance").click()
    chair.get_by_role("button", name="Open self check-in").click()
    expect(chair.get_by_text("Check-in is open.")).to_be_visible()
    code = chair.locator(".check-in-code-large").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{6}", code)
    check_accessibility(chair)

    # The chair's meeting page stays open on the projector; it is never reloaded.
    chair.goto(f"/meetings/{meeting_id}")
    count = chair.locator(".presence-eligible")
    expect(count).to_have_text("0 voting-eligible members present")
    chair.evaluate("window.stillTheSamePage = true")

    for number, (name, email) in enumerate(MEMBERS):
        member = new_page()
        sign_in(member, email, name)
        member.goto(f"/meetings/{meeting_id}")
        member.get_by_role("link", name="Check in").click()
        if number == 0:
            member.get_by_label("Check-in code").fill("WRONG1")
            member.get_by_role("button", name="Check me in").click()
            expect(member.get_by_text("That is not this meeting's check-in code.")).to_be_visible()
            check_accessibility(member)
        # Typed as people type on a phone: in small letters.
        member.get_by_label("Check-in code").fill(code.lower())
        member.get_by_role("button", name="Check me in").click()
        expect(member.get_by_text("You are checked in. Welcome!")).to_be_visible()
        expect(member.get_by_role("link", name="Check in")).to_have_count(0)
        member.context.close()

    # presence.js asks every 5 seconds.
    expect(count).to_have_text("3 voting-eligible members present", timeout=15_000)
    expect(chair.locator(".presence-all")).to_contain_text("3 present in all")
    assert chair.evaluate("window.stillTheSamePage") is True
    # The one wrong code is answered with a 400 page, which Chromium logs; nothing else.
    assert [e for e in console_errors if "status of 400" not in e] == []
    assert len(console_errors) <= 1
