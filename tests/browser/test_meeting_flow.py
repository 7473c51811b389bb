"""A meeting in Chromium: the chair opens check-in, three members check in with the code,
one asks to speak and gets the floor, the chair records a hand count, and the amendment
moves on to its ballot under the two-stage procedure."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from govern.amendments import services as amendments
from govern.amendments.models import Amendment
from govern.extensions import db
from govern.meetings import services as meetings
from govern.meetings.models import MeetingKind
from tests.browser.conftest import check_accessibility, propose_to_the_code_of_conduct, sign_in
from tests.governance import PROPOSED

pytestmark = pytest.mark.browser

MEMBERS = [("Mina Member", "mina@example.org"), ("Jun Park", "jun@example.org"),
           ("Ola Nowak", "ola@example.org")]  # fmt: skip


@pytest.fixture
def scheduled(live_app):
    """Mina's proposal, acknowledged, scheduled at a general assembly that has now begun."""
    with live_app.app_context():
        proposal, people = propose_to_the_code_of_conduct(
            [
                *((name, email, []) for name, email in MEMBERS),
                ("Rosa Receiver", "rosa@example.org", ["receiver"]),
                ("Chiara Chair", "chiara@example.org", ["chair"]),
            ]
        )
        rosa = people["rosa@example.org"]
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        meeting = meetings.create_meeting(
            rosa, "General assembly", MeetingKind.REGULAR, starts,
            starts + timedelta(hours=2), "Union hall", "",
        )  # fmt: skip
        item = amendments.schedule_discussion(proposal, rosa, meeting)
        # A day later the meeting has begun (the live server runs on the real clock).
        meeting.starts_at = datetime.now(UTC) - timedelta(minutes=5)
        meeting.ends_at = meeting.starts_at + timedelta(hours=2)
        db.session.commit()
        return {"meeting": meeting.id, "item": item.id, "amendment": proposal.id}


def test_check_in_speak_and_a_hand_count_carry_the_amendment_to_its_ballot(
    browser, live_server, live_app, scheduled
):
    console_errors: list[str] = []

    def new_page():
        page = browser.new_context(base_url=live_server.url).new_page()
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        return page

    meeting_url = f"/meetings/{scheduled['meeting']}"
    chair = new_page()
    sign_in(chair, "chiara@example.org", "Chiara Chair")
    chair.goto(meeting_url)
    chair.get_by_role("link", name="Take attendance").click()
    chair.get_by_role("button", name="Open self check-in").click()
    code = chair.locator(".check-in-code-large").inner_text().strip()

    members = []
    for name, email in MEMBERS:
        member = new_page()
        sign_in(member, email, name)
        member.goto(meeting_url)
        member.get_by_role("link", name="Check in").click()
        member.get_by_label("Check-in code").fill(code)
        member.get_by_role("button", name="Check me in").click()
        expect(member.get_by_text("You are checked in. Welcome!")).to_be_visible()
        members.append(member)

    # Jun asks to speak from his phone; the chair gives him the floor.
    jun = members[1]
    jun.goto(meeting_url)
    jun.get_by_role("link", name="Speakers queue").click()
    jun.get_by_role("button", name="Ask to speak").click()
    expect(jun.get_by_role("button", name="Withdraw my request")).to_be_visible()
    check_accessibility(jun)
    chair.goto(meeting_url)
    expect(chair.locator(".presence-eligible")).to_have_text("3 voting-eligible members present")
    chair.get_by_role("link", name="Speakers queue").click()
    chair.get_by_role("button", name="Give Jun Park the floor").click()
    expect(chair.get_by_role("button", name="Mark Jun Park done")).to_be_visible()
    chair.get_by_role("button", name="Mark Jun Park done").click()

    # The chair counts hands: 2 yes, 1 no of 3 eligible present.
    chair.goto(meeting_url)
    chair.get_by_role("link", name="Open the vote on this item").click()
    chair.get_by_label("Hand count").check()
    chair.get_by_role("button", name="Open the vote").click()
    chair.get_by_label("Yes").fill("2")
    chair.get_by_label("No", exact=True).fill("1")
    chair.get_by_label("Abstain").fill("0")
    check_accessibility(chair)
    chair.get_by_role("button", name="Record the hand count").click()
    arithmetic = chair.locator(".vote-arithmetic")
    expect(arithmetic).to_have_text("2 yes of 3 eligible members present: 2 > 1.5, passes")

    with live_app.app_context():
        amendment = db.session.get(Amendment, scheduled["amendment"])
        assert amendment.state == "meeting_vote_passed"
        assert amendment.frozen_text == PROPOSED
    mina = members[0]
    mina.goto(f"/amendments/{scheduled['amendment']}")
    expect(mina.get_by_text("passed the meeting vote").first).to_be_visible()
    assert [e for e in console_errors if "status of 400" not in e] == []
