"""The scheduling page and the meeting pages."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from govern.amendments import services as amendments
from govern.amendments.errors import AmendmentError
from govern.amendments.models import Amendment
from govern.documents.models import procedure_snapshot_json
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.meetings import services
from govern.meetings.models import AgendaItem, Meeting
from govern.procedures import catalog
from govern.procedures.states import State
from tests.governance import PROPOSED
from tests.meetings.conftest import EVENING, EVENING_END


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot(amendment: Amendment) -> tuple:
    """What a refused request must leave as it was."""
    db.session.expire_all()
    state = db.session.get(Amendment, amendment.id).state
    return state, count(Meeting), count(AgendaItem), count(OutboxMessage)


def new_meeting_form(**changes) -> dict:
    # Europe/Berlin is an hour ahead of UTC in March.
    return {
        "where": "new",
        "title": "Discussion: Patience",
        "day": "2026-03-10",
        "start_time": "19:00",
        "end_time": "21:00",
        "place": "Community hall",
        "online_link": "https://meet.example.org/patience",
    } | changes


@pytest.fixture
def as_receiver(client, receiver, sign_in):
    sign_in(receiver)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client, acknowledged, make_meeting):
    meeting = make_meeting()
    for url in (
        f"/amendments/{acknowledged.id}/schedule",
        f"/meetings/{meeting.id}",
        f"/meetings/{meeting.id}/calendar.ics",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/sign-in" in response.location
    response = client.post(f"/amendments/{acknowledged.id}/schedule", data=new_meeting_form())
    assert response.status_code == 302 and "/auth/sign-in" in response.location
    assert snapshot(acknowledged)[:3] == (State.ACKNOWLEDGED, 1, 0)


def test_unknown_ids_are_404(as_receiver, acknowledged):
    for url in ("/amendments/999/schedule", "/meetings/999", "/meetings/999/calendar.ics"):
        assert as_receiver.get(url).status_code == 404
    assert as_receiver.post("/amendments/999/schedule", data=new_meeting_form()).status_code == 404


@pytest.mark.parametrize(
    ("roles", "standing"),
    [((), "active"), (("chair", "admin"), "active"), (("receiver",), "suspended")],
)
def test_other_members_get_403(client, acknowledged, make_member, sign_in, roles, standing):
    sign_in(make_member(roles=roles, standing=standing))
    before = snapshot(acknowledged)
    url = f"/amendments/{acknowledged.id}/schedule"
    assert client.get(url).status_code == 403
    assert client.post(url, data=new_meeting_form()).status_code == 403
    assert snapshot(acknowledged) == before
    page = client.get(f"/amendments/{acknowledged.id}").get_data(as_text=True)
    assert url not in page


def test_the_proposer_cannot_schedule_either(client, acknowledged, proposer, sign_in):
    sign_in(proposer)
    assert client.get(f"/amendments/{acknowledged.id}/schedule").status_code == 403


def test_a_receiver_does_not_schedule_their_own_proposal(
    client, document, make_member, receiver, sign_in
):
    own = make_member(name="Ren Receiver", roles=["receiver"])
    amendment = amendments.start_draft(own, document, "Mine", "Because.", PROPOSED)
    amendments.submit(amendment, own)
    amendments.acknowledge(amendment, receiver)
    db.session.commit()
    sign_in(own)
    url = f"/amendments/{amendment.id}/schedule"
    assert client.get(url).status_code == 403
    assert url not in client.get(f"/amendments/{amendment.id}").get_data(as_text=True)
    meeting = services.create_meeting(
        receiver, "Assembly", "regular", EVENING, EVENING_END, "Hall", ""
    )
    with pytest.raises(AmendmentError, match="Another receiver schedules"):
        amendments.schedule_discussion(amendment, own, meeting)


def test_whoever_the_procedure_names_schedules(
    client, document, make_amendment, make_member, receiver, sign_in
):
    """Procedures are data: one where chairs give the discussion slot lets a chair do it."""
    rules = catalog.to_dict(catalog.get_template("two-stage"))
    rules["stages"][1]["actors"]["schedule_discussion"] = ["chair"]
    document.procedure_snapshot = procedure_snapshot_json(catalog.from_dict(rules))
    db.session.commit()
    amendment = make_amendment()
    url = f"/amendments/{amendment.id}/schedule"
    sign_in(receiver)
    assert client.get(url).status_code == 403
    client.post("/auth/sign-out")
    sign_in(make_member(name="Cy Chair", roles=["chair"]))
    assert url in client.get(f"/amendments/{amendment.id}").get_data(as_text=True)
    assert client.post(url, data=new_meeting_form()).status_code == 302
    assert db.session.get(Amendment, amendment.id).state == "discussion_scheduled"


def test_a_state_that_does_not_allow_scheduling_is_400_with_the_reason(as_receiver, make_amendment):
    submitted = make_amendment(acknowledged=False)
    before = snapshot(submitted)
    url = f"/amendments/{submitted.id}/schedule"
    for response in (as_receiver.get(url), as_receiver.post(url, data=new_meeting_form())):
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Cannot &#34;Schedule the discussion&#34;: the amendment is submitted." in html
        assert 'name="day"' not in html
    assert snapshot(submitted) == before


def test_the_form_offers_a_new_meeting_and_counts_who_is_told(
    as_receiver, acknowledged, make_member
):
    make_member(standing="lapsed")
    html = as_receiver.get(f"/amendments/{acknowledged.id}/schedule").get_data(as_text=True)
    assert 'value="Discussion: Patience"' in html
    assert "2 members in good standing will be told by mail" in html
    assert "Europe/Berlin" in html
    assert '<label for="day">Date</label>' in html and 'type="date"' in html
    # No meeting is planned, so there is nothing to choose from.
    assert 'name="where"' not in html and 'name="meeting"' not in html


def test_a_receiver_schedules_a_new_standalone_meeting(
    as_receiver, acknowledged, receiver, proposer
):
    url = f"/amendments/{acknowledged.id}/schedule"
    assert f'href="{url}"' in as_receiver.get(f"/amendments/{acknowledged.id}").get_data(
        as_text=True
    )
    outbox_before = count(OutboxMessage)
    # With no meeting planned, the page offers no choice: a new meeting it is.
    form = new_meeting_form()
    del form["where"]
    response = as_receiver.post(url, data=form)
    assert response.status_code == 302
    assert response.location.endswith(f"/amendments/{acknowledged.id}")

    meeting = db.session.scalars(select(Meeting)).one()
    assert meeting.kind == "standalone" and meeting.title == "Discussion: Patience"
    assert meeting.starts_at == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert meeting.ends_at == datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    assert meeting.created_by_id == receiver.id
    assert [item.amendment_id for item in meeting.items] == [acknowledged.id]
    assert snapshot(acknowledged)[0] == State.DISCUSSION_SCHEDULED
    assert count(OutboxMessage) == outbox_before + 2  # the receiver and the proposer

    page = as_receiver.get(response.location).get_data(as_text=True)
    assert f'<a href="/meetings/{meeting.id}">Discussion: Patience</a>' in page
    assert "Tuesday, March 10, 2026, 7:00\u202fPM – 9:00\u202fPM (Europe/Berlin time)" in page
    assert f'href="{url}"' not in page


def test_a_receiver_schedules_at_a_meeting_already_planned(as_receiver, acknowledged, make_meeting):
    make_meeting(title="Spring assembly")
    planned = make_meeting(title="Autumn assembly")
    html = as_receiver.get(f"/amendments/{acknowledged.id}/schedule").get_data(as_text=True)
    assert 'name="where" type="radio" value="existing">' in html and "checked" not in html
    assert "Spring assembly (Tuesday, March 10, 2026, 7:00\u202fPM – 9:00\u202fPM)" in html
    response = as_receiver.post(
        f"/amendments/{acknowledged.id}/schedule",
        data={"where": "existing", "meeting": str(planned.id), "day": "", "title": ""},
    )
    assert response.status_code == 302
    assert count(Meeting) == 2
    [item] = db.session.scalars(select(AgendaItem)).all()
    assert (item.meeting_id, item.amendment_id) == (planned.id, acknowledged.id)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "A meeting needs a title."),
        ({"title": "x" * 201}, "title", "longer than 200 characters"),
        ({"day": ""}, "day", "Give the meeting&#39;s date."),
        ({"day": "2026-13-40"}, "day", "Not a valid date value."),
        ({"start_time": ""}, "start_time", "Give the time."),
        ({"end_time": "25:00"}, "end_time", "Not a valid time value."),
        ({"end_time": "18:00"}, "end_time", "The meeting must end after it starts."),
        ({"day": "2026-02-28"}, "start_time", "The meeting must start in the future."),
        ({"place": "", "online_link": ""}, "place", "a place, an online link or both"),
        ({"online_link": "javascript:alert(1)"}, "online_link", "starting with https://"),
        ({"where": "existing", "meeting": "999"}, "meeting", "Choose a meeting from the list."),
        ({"where": "existing", "meeting": "abc"}, "meeting", "Choose a meeting from the list."),
        (
            {"where": "existing", "meeting": str(2**63)},
            "meeting",
            "Choose a meeting from the list.",
        ),
        ({"where": ""}, "where", "Choose where the discussion takes place."),
    ],
)
def test_wrong_input_is_shown_next_to_its_field_and_changes_nothing(
    as_receiver, acknowledged, make_meeting, changes, field, message
):
    make_meeting(starts_at=EVENING.replace(day=2), ends_at=EVENING.replace(day=2, hour=20))
    before = snapshot(acknowledged)
    response = as_receiver.post(
        f"/amendments/{acknowledged.id}/schedule", data=new_meeting_form(**changes)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = html.split(f'<ul class="errors" id="{field}-error">', 1)[1].split("</ul>", 1)[0]
    assert message in errors
    assert snapshot(acknowledged) == before


def test_a_second_submission_is_refused_and_sends_nothing_more(as_receiver, acknowledged):
    url = f"/amendments/{acknowledged.id}/schedule"
    assert as_receiver.post(url, data=new_meeting_form()).status_code == 302
    after_first = snapshot(acknowledged)
    response = as_receiver.post(url, data=new_meeting_form())
    assert response.status_code == 400
    assert "on the agenda of Discussion: Patience already" in response.get_data(as_text=True)
    assert snapshot(acknowledged) == after_first


def test_a_meeting_that_started_since_the_page_was_loaded_is_refused(
    as_receiver, acknowledged, make_meeting, clock
):
    meeting = make_meeting()
    url = f"/amendments/{acknowledged.id}/schedule"
    assert "General assembly" in as_receiver.get(url).get_data(as_text=True)
    before = snapshot(acknowledged)
    clock.current = EVENING
    response = as_receiver.post(url, data={"where": "existing", "meeting": str(meeting.id)})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "No meeting to come is planned any more" in html and 'name="day"' in html
    assert snapshot(acknowledged) == before


# The meeting pages ------------------------------------------------------------------------


def test_the_meeting_page_shows_when_where_and_the_agenda(as_receiver, acknowledged, make_meeting):
    meeting = make_meeting(online_link="https://meet.example.org/assembly")
    db.session.add(AgendaItem(meeting=meeting, position=1, title="Welcome"))
    db.session.commit()
    as_receiver.post(
        f"/amendments/{acknowledged.id}/schedule",
        data={"where": "existing", "meeting": str(meeting.id)},
    )
    html = as_receiver.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "<h1>General assembly</h1>" in html and "Regular meeting" in html
    assert "Tuesday, March 10, 2026, 7:00\u202fPM – 9:00\u202fPM" in html
    assert "Europe/Berlin time" in html and "Community hall, Main Street 1" in html
    assert re.search(r"<li value=\"1\">Welcome\s", html)
    link = f'<a href="/amendments/{acknowledged.id}">Amendment #{acknowledged.id}: Patience</a>'
    item = f'<li value="2">{link}'
    assert item in html
    assert f'href="/meetings/{meeting.id}/calendar.ics"' in html


def test_a_link_that_is_no_web_address_is_shown_as_text(as_receiver, make_meeting):
    meeting = make_meeting()
    # Written past the service's check, as an import or an older version might have.
    meeting.online_link = "javascript:alert(1)"
    db.session.commit()
    html = as_receiver.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "javascript:alert(1)" in html and 'href="javascript' not in html


def test_any_member_sees_the_meeting_and_downloads_its_calendar_file(
    client, make_member, sign_in, make_meeting
):
    meeting = make_meeting()
    sign_in(make_member())
    assert client.get(f"/meetings/{meeting.id}").status_code == 200
    response = client.get(f"/meetings/{meeting.id}/calendar.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="meeting-{meeting.id}.ics"'
    )
    assert f"UID:{meeting.uid}" in response.get_data(as_text=True)


def test_when_its_meeting_is_cancelled_the_discussion_waits_for_another(
    as_receiver, acknowledged, make_meeting, receiver
):
    url = f"/amendments/{acknowledged.id}/schedule"
    meeting = make_meeting()
    as_receiver.post(url, data={"where": "existing", "meeting": str(meeting.id)})
    inbox = as_receiver.get("/amendments/inbox").get_data(as_text=True)
    assert f'href="{url}"' not in inbox
    services.cancel_meeting(meeting, receiver)
    db.session.commit()
    inbox = as_receiver.get("/amendments/inbox").get_data(as_text=True)
    assert f'href="{url}"' in inbox[inbox.index("Waiting for a discussion slot") :]
    page = as_receiver.get(f"/amendments/{acknowledged.id}").get_data(as_text=True)
    assert f'href="{url}"' in page
    assert as_receiver.post(url, data=new_meeting_form()).status_code == 302
    assert len(db.session.get(Amendment, acknowledged.id).agenda_items) == 2
