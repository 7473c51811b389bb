"""Minutes: the secretary's draft, its preview, approval once, and the record the tool adds."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from govern.extensions import db
from govern.meetings.models import Attendance, MeetingVote, Minutes, OuchNote


@pytest.fixture
def held(make_meeting, clock):
    """A meeting that took place yesterday evening."""
    meeting = make_meeting()
    clock.advance(days=10)
    return meeting


@pytest.fixture
def as_receiver(client, receiver, sign_in):
    sign_in(receiver)
    return client


def minutes_row(meeting) -> Minutes | None:
    db.session.expire_all()
    return db.session.scalar(select(Minutes).where(Minutes.meeting_id == meeting.id))


def test_the_secretary_writes_saves_and_previews(as_receiver, held):
    url = f"/meetings/{held.id}/minutes"
    assert "Write the minutes" in as_receiver.get(f"/meetings/{held.id}").get_data(as_text=True)
    assert as_receiver.get(url).status_code == 200
    assert as_receiver.post(url, data={"body": "First *draft*"}).status_code == 302
    assert as_receiver.post(url, data={"body": "Second **draft**"}).status_code == 302
    assert minutes_row(held).body == "Second **draft**"
    html = as_receiver.get(url).get_data(as_text=True)
    assert "<strong>draft</strong>" in html

    body = "Hello <script>alert(1)</script> [x](javascript:alert(2))"
    response = as_receiver.post(url, data={"body": body, "preview": "Preview"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Preview (not saved yet)" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert 'href="javascript' not in html
    assert minutes_row(held).body == "Second **draft**"  # a preview saves nothing


def test_approval_asks_first_happens_once_and_freezes_the_minutes(as_receiver, held):
    url = f"/meetings/{held.id}/minutes"
    as_receiver.post(url, data={"body": "Decided."})
    confirm = as_receiver.get(f"{url}/approve")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.get_data(as_text=True)
    assert minutes_row(held).approved_at is None
    assert as_receiver.post(f"{url}/approve").status_code == 302
    approved = minutes_row(held)
    assert approved.approved_at is not None
    first_approval = approved.approved_at

    assert as_receiver.post(f"{url}/approve").status_code == 400
    response = as_receiver.post(url, data={"body": "Rewritten."})
    assert response.status_code == 400 and "approved" in response.get_data(as_text=True)
    row = minutes_row(held)
    assert (row.body, row.approved_at) == ("Decided.", first_approval)
    html = as_receiver.get(url).get_data(as_text=True)
    assert 'name="body"' not in html and "Decided." in html


def test_empty_minutes_and_minutes_of_a_meeting_to_come_are_not_approved(
    as_receiver, make_meeting, clock
):
    meeting = make_meeting()
    url = f"/meetings/{meeting.id}/minutes"
    as_receiver.post(url, data={"body": "Prepared agenda notes."})
    response = as_receiver.post(f"{url}/approve")
    assert response.status_code == 400 and "once the meeting has taken place" in response.text
    clock.advance(days=10)
    as_receiver.post(url, data={"body": "   "})
    assert as_receiver.post(f"{url}/approve").status_code == 400
    assert minutes_row(meeting).approved_at is None


def test_bad_text_is_refused_and_changes_nothing(as_receiver, held):
    url = f"/meetings/{held.id}/minutes"
    as_receiver.post(url, data={"body": "Kept."})
    for body, message in [("a\x00b", "not valid"), ("x" * 100_001, "longer than 100,000")]:
        response = as_receiver.post(url, data={"body": body})
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert minutes_row(held).body == "Kept."


def test_drafts_are_for_those_who_run_meetings_approved_minutes_for_members(
    client, held, receiver, make_member, sign_in
):
    url = f"/meetings/{held.id}/minutes"
    member = make_member()
    sign_in(member)
    assert client.get(url).status_code == 404  # none yet
    assert client.post(url, data={"body": "Mine"}).status_code == 404
    assert minutes_row(held) is None

    client.post("/auth/sign-out")
    sign_in(receiver)
    client.post(url, data={"body": "The draft."})
    client.post("/auth/sign-out")
    sign_in(member)
    assert client.get(url).status_code == 403
    assert f'href="{url}"' not in client.get(f"/meetings/{held.id}").get_data(as_text=True)
    assert client.post(f"{url}/approve").status_code == 403
    assert minutes_row(held).approved_at is None

    client.post("/auth/sign-out")
    sign_in(receiver)
    client.post(f"{url}/approve")
    client.post("/auth/sign-out")
    sign_in(member)
    assert f'href="{url}"' in client.get(f"/meetings/{held.id}").get_data(as_text=True)
    html = client.get(url).get_data(as_text=True)
    assert "The draft." in html and 'name="body"' not in html
    assert client.post(url, data={"body": "Mine"}).status_code == 403
    client.post("/auth/sign-out")
    assert client.get(url).status_code == 302  # members only


def test_the_page_adds_attendance_votes_and_ouches(
    as_receiver, held, acknowledged, receiver, proposer, make_member
):
    suspended = make_member(standing="suspended")
    from govern.meetings import services

    agenda_item = services.add_agenda_item(held, "Amendment #1: Patience", acknowledged)
    for member in (receiver, proposer, suspended):
        db.session.add(Attendance(meeting=held, member_id=member.id))
    db.session.add(
        MeetingVote(
            agenda_item=agenda_item,
            amendment_id=acknowledged.id,
            mode="hand_count",
            yes=2,
            no=0,
            abstain=0,
            eligible_present=2,
            closed_at=datetime(2026, 3, 10, 19, 0, tzinfo=UTC),
            passed=True,
            rule="two-stage: passes if yes > half of eligible present",
            arithmetic="2 yes of 2 eligible present: 2 > 1, passes",
        )
    )
    db.session.add(
        OuchNote(
            meeting=held,
            noted_at=datetime(2026, 3, 10, 18, 30, tzinfo=UTC),
            note="An interruption <b>",
            oops_at=datetime(2026, 3, 10, 18, 31, tzinfo=UTC),
        )
    )
    db.session.add(OuchNote(meeting=held, noted_at=datetime(2026, 3, 10, 18, 40, tzinfo=UTC)))
    db.session.commit()
    html = as_receiver.get(f"/meetings/{held.id}/minutes").get_data(as_text=True)
    assert "3 members were present" in html and "2 of them eligible to vote." in html
    assert "By hand count" in html and "2 yes, 0 no, 0 abstaining" in html
    assert "2 yes of 2 eligible present: 2 &gt; 1, passes" in html and "Passed" in html
    assert "two-stage: passes if yes &gt; half of eligible present" in html
    assert "An interruption &lt;b&gt;" in html
    assert '"oops" acknowledged' in html.replace("&#34;", '"')
    assert "7:30" in html  # in the organization's time zone
    assert "not acknowledged" in html and "(no note)" in html


def test_an_empty_record_says_so(as_receiver, held):
    html = as_receiver.get(f"/meetings/{held.id}/minutes").get_data(as_text=True)
    assert "0 members were present" in html
    assert "No vote was taken." in html and "No ouch was noted." in html
