"""The speakers queue page: who sees and does what, and ouch and oops."""

import pytest
from sqlalchemy import func, select

from govern.extensions import db
from govern.meetings import queue, services
from govern.meetings.models import Attendance, OuchNote, SpeakerRequest


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def turns() -> list[tuple]:
    db.session.expire_all()
    rows = db.session.scalars(select(SpeakerRequest).order_by(SpeakerRequest.id))
    return [(row.member_id, row.status, row.priority) for row in rows]


@pytest.fixture
def item(make_meeting):
    meeting = make_meeting()
    item = services.add_agenda_item(meeting, "Rent strike")
    db.session.commit()
    return item


@pytest.fixture
def url(item):
    return f"/meetings/{item.meeting_id}/items/{item.id}"


@pytest.fixture
def chair(make_member):
    return make_member(name="Chiara Chair", roles=["chair"])


@pytest.fixture
def member(make_member, item):
    member = make_member(name="Mo Member")
    db.session.add(Attendance(meeting_id=item.meeting_id, member_id=member.id))
    db.session.commit()
    return member


@pytest.fixture
def waiting(item, member):
    turn = queue.ask_to_speak(item, member)
    db.session.commit()
    return turn


def test_anonymous_visitors_are_sent_to_sign_in(client, url, waiting):
    for response in (
        client.get(f"{url}/queue"),
        client.post(f"{url}/queue/ask"),
        client.post(f"{url}/queue/{waiting.id}/speaking"),
        client.post(f"{url}/ouch"),
    ):
        assert response.status_code == 302 and "/auth/sign-in" in response.location
    assert count(OuchNote) == 0 and turns() == [(waiting.member_id, "waiting", 0)]


def test_unknown_or_mismatched_ids_are_404(
    client, sign_in, chair, item, url, waiting, make_meeting
):
    sign_in(chair)
    other = services.add_agenda_item(make_meeting(title="Other"), "Elsewhere")
    db.session.commit()
    assert client.get(f"/meetings/{item.meeting_id}/items/999/queue").status_code == 404
    assert client.get(f"/meetings/{other.meeting_id}/items/{item.id}/queue").status_code == 404
    wrong_item = f"/meetings/{other.meeting_id}/items/{other.id}/queue/{waiting.id}/speaking"
    assert client.post(wrong_item).status_code == 404
    assert client.post(f"{url}/ouches/999/oops").status_code == 404
    assert turns() == [(waiting.member_id, "waiting", 0)]


def test_the_meeting_page_links_to_the_queue_with_the_number_waiting(
    client, sign_in, member, url, item, waiting
):
    sign_in(member)
    page = client.get(f"/meetings/{item.meeting_id}").get_data(as_text=True)
    assert f'href="{url}/queue"' in page and "1 waiting" in page


def test_a_member_asks_to_speak_sees_the_place_and_withdraws(
    client, sign_in, member, make_member, item, url
):
    earlier = make_member(name="Early Bird")
    queue.add_speaker(item, make_member(roles=["chair"]), earlier)
    db.session.commit()
    sign_in(member)
    assert "Ask to speak" in client.get(f"{url}/queue").get_data(as_text=True)
    assert client.post(f"{url}/queue/ask").status_code == 302
    assert client.post(f"{url}/queue/ask").status_code == 302  # double click
    page = client.get(f"{url}/queue").get_data(as_text=True)
    assert "You are number 2 of 2 in the queue." in page
    # Members see their place, not the facilitator's list.
    assert "Early Bird" not in page and "Move" not in page
    mine = db.session.scalars(select(SpeakerRequest).filter_by(member_id=member.id)).one()
    assert client.post(f"{url}/queue/{mine.id}/withdraw").status_code == 302
    assert turns()[1] == (member.id, "withdrawn", 0)


def test_asking_without_check_in_is_refused_with_a_reason(client, sign_in, make_member, url):
    sign_in(make_member())
    response = client.post(f"{url}/queue/ask")
    assert response.status_code == 400
    assert "Check in to the meeting first" in response.get_data(as_text=True)
    assert turns() == []


@pytest.mark.parametrize("action", ["speaking", "move-up", "done"])
def test_members_cannot_run_the_queue(client, sign_in, make_member, item, url, waiting, action):
    sign_in(make_member(roles=["receiver"], standing="suspended"))
    response = client.post(f"{url}/queue/{waiting.id}/{action}")
    assert response.status_code == 403
    assert "Only a chair or a receiver" in response.get_data(as_text=True)
    assert turns() == [(waiting.member_id, "waiting", 0)]


def test_members_cannot_add_others_or_withdraw_them(
    client, sign_in, make_member, item, url, waiting
):
    sign_in(make_member())
    assert client.post(f"{url}/queue/add", data={"member_id": waiting.member_id}).status_code == 403
    assert client.post(f"{url}/queue/{waiting.id}/withdraw").status_code == 403
    assert "Move Mo Member up" not in client.get(f"{url}/queue").get_data(as_text=True)
    assert turns() == [(waiting.member_id, "waiting", 0)]


def test_the_facilitator_runs_the_queue(
    client, sign_in, chair, make_member, member, url, waiting, clock
):
    hand = make_member(name="Hana Hand")
    sign_in(chair)
    page = client.get(f"{url}/queue?name=hana").get_data(as_text=True)
    assert "Add Hana Hand to the queue" in page
    assert client.post(f"{url}/queue/add", data={"member_id": hand.id}).status_code == 302
    added = db.session.scalars(select(SpeakerRequest).filter_by(member_id=hand.id)).one()
    assert client.post(f"{url}/queue/{added.id}/move-up").status_code == 302
    page = client.get(f"{url}/queue").get_data(as_text=True)
    assert page.index("Give Hana Hand the floor") < page.index("Give Mo Member the floor")
    assert client.post(f"{url}/queue/{added.id}/speaking").status_code == 302
    clock.advance(minutes=2, seconds=5)
    assert client.post(f"{url}/queue/{waiting.id}/speaking").status_code == 302
    assert turns() == [(member.id, "speaking", 0), (hand.id, "done", 1)]
    page = client.get(f"{url}/queue").get_data(as_text=True)
    assert "Mark Mo Member done" in page and "2:05" in page
    assert client.post(f"{url}/queue/{added.id}/speaking").status_code == 400
    assert client.post(f"{url}/queue/add", data={"member_id": "x"}).status_code == 400


def test_ouch_by_a_member_and_oops_by_the_facilitator(client, sign_in, member, chair, url, item):
    sign_in(member)
    assert client.post(f"{url}/ouch").status_code == 302
    response = client.post(f"{url}/ouch", data={"note": "names someone"})
    assert response.status_code == 400 and count(OuchNote) == 1
    ouch = db.session.scalars(select(OuchNote)).one()
    assert client.post(f"{url}/ouches/{ouch.id}/oops").status_code == 403
    page = client.get(f"{url}/queue").get_data(as_text=True)
    assert "waiting for the oops" in page and "Mo Member" not in page.split("ouch-heading")[1]

    client.post("/auth/sign-out")
    sign_in(chair)
    assert client.post(f"{url}/ouches/{ouch.id}/oops").status_code == 302
    db.session.expire_all()
    assert queue.ouches_of(item.meeting)[0].oops_at is not None
    assert "oops acknowledged at" in client.get(f"{url}/queue").get_data(as_text=True)


def test_the_queue_page_loads_its_script_from_a_file(client, sign_in, member, url):
    sign_in(member)
    response = client.get(f"{url}/queue")
    page = response.get_data(as_text=True)
    assert 'src="/static/queue.js"' in page and "<script>" not in page
    assert client.get("/static/queue.js").status_code == 200
