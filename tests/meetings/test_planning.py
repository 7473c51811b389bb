"""Planning meetings: the list, the form, changes mailed with the updated event, cancelling,
and the agenda's plain items."""

from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.meetings import services
from govern.meetings.models import AgendaItem, Meeting, SpeakerRequest


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def meeting_form(**changes) -> dict:
    # Europe/Berlin is an hour ahead of UTC in March.
    return {
        "title": "Spring assembly",
        "kind": "regular",
        "day": "2026-03-10",
        "start_time": "19:00",
        "end_time": "21:00",
        "place": "Community hall",
        "online_link": "",
    } | changes


def reloaded(meeting: Meeting) -> Meeting:
    db.session.expire_all()
    return db.session.get(Meeting, meeting.id)


def state() -> tuple:
    """What a refused request must leave as it was."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.sequence, Meeting.cancelled_at)
    ).all()
    items = db.session.execute(select(AgendaItem.id, AgendaItem.position, AgendaItem.title)).all()
    return sorted(rows), sorted(items), count(OutboxMessage)


@pytest.fixture
def as_receiver(client, receiver, sign_in, clock):
    sign_in(receiver)
    return client


def test_members_see_upcoming_and_past_meetings(client, make_member, sign_in, make_meeting, clock):
    past = make_meeting(
        title="Winter assembly",
        starts_at=datetime(2026, 3, 2, 18, tzinfo=UTC),
        ends_at=datetime(2026, 3, 2, 20, tzinfo=UTC),
    )
    make_meeting(title="Spring assembly")
    clock.advance(days=2)
    sign_in(make_member())
    html = client.get("/meetings/").get_data(as_text=True)
    assert html.index("Spring assembly") < html.index("Past meetings") < html.index(past.title)
    assert "Plan a meeting" not in html
    assert 'href="http://govern.test/meetings/calendar.ics"' in html
    assert "Subscribe in your calendar" in html
    assert 'href="/meetings/"' in html  # the navigation


def test_past_meetings_are_paginated(as_receiver, make_meeting, clock):
    for number in range(25):
        make_meeting(title=f"Meeting {number:02}")
    clock.advance(days=30)
    first = as_receiver.get("/meetings/").get_data(as_text=True)
    second = as_receiver.get("/meetings/?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert first.count('class="meetings"') == 1  # no upcoming ones
    assert as_receiver.get("/meetings/?page=x").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client, make_meeting):
    meeting = make_meeting()
    for url in ("/meetings/", "/meetings/new", f"/meetings/{meeting.id}/edit"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/sign-in" in response.location


def test_a_receiver_plans_a_meeting(as_receiver, receiver):
    assert "Plan a meeting" in as_receiver.get("/meetings/").get_data(as_text=True)
    assert as_receiver.get("/meetings/new").status_code == 200
    response = as_receiver.post("/meetings/new", data=meeting_form(kind="standalone"))
    assert response.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    assert response.location.endswith(f"/meetings/{meeting.id}")
    assert (meeting.title, meeting.kind, meeting.created_by_id) == (
        "Spring assembly",
        "standalone",
        receiver.id,
    )
    assert meeting.starts_at == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert count(OutboxMessage) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "A meeting needs a title."),
        ({"day": ""}, "Give the meeting&#39;s date."),
        ({"day": "tomorrow"}, "Give the date as year-month-day"),
        ({"start_time": "25:00"}, "Give the time as hours and minutes"),
        ({"end_time": "18:00"}, "The meeting must end after it starts."),
        ({"day": "2026-02-10"}, "The meeting must start in the future."),
        ({"day": "2026-03-29", "start_time": "02:30"}, "does not exist on that day"),
        ({"place": ""}, "Say where the meeting takes place"),
        ({"online_link": "javascript:alert(1)"}, "The online link must be a web address"),
        ({"kind": "secret"}, "Choose the kind of meeting."),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    as_receiver, make_meeting, changes, message
):
    meeting = make_meeting()
    before = state()
    for url in ("/meetings/new", f"/meetings/{meeting.id}/edit"):
        response = as_receiver.post(url, data=meeting_form(**changes))
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True), url
        assert state() == before


@pytest.mark.parametrize(
    ("roles", "standing"),
    [((), "active"), (("admin",), "active"), (("chair",), "suspended")],
)
def test_only_those_who_run_meetings_plan_them(
    client, make_member, sign_in, make_meeting, roles, standing
):
    meeting = make_meeting()
    item = services.add_agenda_item(meeting, "Welcome")
    db.session.commit()
    sign_in(make_member(roles=roles, standing=standing))
    before = state()
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "/edit" not in html and "/cancel" not in html and "/agenda" not in html
    assert client.get("/meetings/new").status_code == 403
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 403
    assert client.get(f"/meetings/{meeting.id}/cancel").status_code == 403
    base = f"/meetings/{meeting.id}/agenda"
    for url, data in [
        ("/meetings/new", meeting_form()),
        (f"/meetings/{meeting.id}/edit", meeting_form(title="Mine")),
        (f"/meetings/{meeting.id}/cancel", {}),
        (base, {"title": "Other business"}),
        (f"{base}/{item.id}/remove", {}),
        (f"{base}/{item.id}/move", {"direction": "down"}),
    ]:
        assert client.post(url, data=data).status_code == 403, url
    assert state() == before


def test_a_chair_plans_too(client, make_member, sign_in, clock):
    sign_in(make_member(roles=["chair"]))
    assert client.post("/meetings/new", data=meeting_form()).status_code == 302


def test_changing_the_time_mails_every_member_the_updated_event(
    as_receiver, make_meeting, make_member
):
    meeting = make_meeting()
    uid = meeting.uid
    make_member(standing="lapsed")  # not told
    form = as_receiver.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="19:00"' in form and 'value="2026-03-10"' in form
    response = as_receiver.post(
        f"/meetings/{meeting.id}/edit",
        data=meeting_form(title="General assembly", start_time="18:00"),
    )
    assert response.status_code == 302
    meeting = reloaded(meeting)
    assert meeting.starts_at == datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    assert (meeting.uid, meeting.sequence) == (uid, 1)
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert len(messages) == 1  # the receiver, the only member in good standing
    [message] = messages
    assert message.subject == "Meeting changed: General assembly"
    assert message.attachment_type == "text/calendar; method=PUBLISH"
    assert "6:00\u202fPM" in message.body_text
    [event] = Calendar.from_ical(message.attachment_text).walk("VEVENT")
    assert str(event["uid"]) == uid and event["sequence"] == 1


def test_changing_only_the_title_tells_nobody(as_receiver, make_meeting):
    meeting = make_meeting()
    as_receiver.post(
        f"/meetings/{meeting.id}/edit", data=meeting_form(title="Renamed", place=meeting.place)
    )
    meeting = reloaded(meeting)
    assert (meeting.title, meeting.sequence, count(OutboxMessage)) == ("Renamed", 0, 0)


def test_cancelling_asks_first_then_mails_the_cancellation(as_receiver, make_meeting, acknowledged):
    meeting = make_meeting()
    page = as_receiver.get(f"/meetings/{meeting.id}/cancel")
    assert page.status_code == 200 and "Cancel the meeting" in page.get_data(as_text=True)
    assert reloaded(meeting).cancelled_at is None
    assert as_receiver.post(f"/meetings/{meeting.id}/cancel").status_code == 302
    meeting = reloaded(meeting)
    assert meeting.cancelled_at is not None and meeting.sequence == 1
    statement = select(OutboxMessage).where(OutboxMessage.subject.startswith("Meeting cancelled"))
    message = db.session.scalars(statement).first()
    assert message.attachment_type == "text/calendar; method=CANCEL"
    calendar = Calendar.from_ical(message.attachment_text)
    assert calendar["method"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert event["status"] == "CANCELLED" and str(event["uid"]) == meeting.uid

    html = as_receiver.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "This meeting is cancelled." in html and "/edit" not in html
    before = state()
    assert as_receiver.post(f"/meetings/{meeting.id}/edit", data=meeting_form()).status_code == 400
    assert as_receiver.post(f"/meetings/{meeting.id}/cancel").status_code == 400
    response = as_receiver.post(f"/meetings/{meeting.id}/agenda", data={"title": "More"})
    assert response.status_code == 400
    assert state() == before
    # Nor can a discussion be scheduled at it.
    assert services.upcoming_meetings() == []
    schedule = as_receiver.get(f"/amendments/{acknowledged.id}/schedule").get_data(as_text=True)
    assert 'name="meeting"' not in schedule
    with pytest.raises(services.MeetingError, match="cancelled"):
        services.add_agenda_item(meeting, "Sneaked in")


def test_a_meeting_that_has_started_cannot_be_changed(as_receiver, make_meeting, clock):
    meeting = make_meeting()
    clock.advance(days=9, hours=7)  # 2026-03-10 19:00 UTC
    before = state()
    assert as_receiver.get(f"/meetings/{meeting.id}/edit").status_code == 400
    assert as_receiver.post(f"/meetings/{meeting.id}/cancel").status_code == 400
    assert state() == before


def test_unknown_ids_are_404(as_receiver, make_meeting):
    meeting = make_meeting()
    other = make_meeting(title="Other")
    item = services.add_agenda_item(other, "Elsewhere")
    db.session.commit()
    assert as_receiver.get("/meetings/999/edit").status_code == 404
    assert as_receiver.post("/meetings/999/cancel").status_code == 404
    url = f"/meetings/{meeting.id}/agenda/{item.id}/remove"
    assert as_receiver.post(url).status_code == 404


def titles(meeting: Meeting) -> list[tuple[int, str]]:
    db.session.expire_all()
    return [(item.position, item.title) for item in db.session.get(Meeting, meeting.id).items]


def test_the_agenda_takes_plain_items_moves_them_and_removes_them(as_receiver, make_meeting):
    meeting = make_meeting()
    base = f"/meetings/{meeting.id}/agenda"
    for title in ("Welcome", "Reports", "Other business"):
        assert as_receiver.post(base, data={"title": title}).status_code == 302
    assert titles(meeting) == [(1, "Welcome"), (2, "Reports"), (3, "Other business")]
    ids = {item.title: item.id for item in reloaded(meeting).items}

    assert (
        as_receiver.post(
            f"{base}/{ids['Other business']}/move", data={"direction": "up"}
        ).status_code
        == 302
    )
    assert titles(meeting) == [(1, "Welcome"), (2, "Other business"), (3, "Reports")]
    as_receiver.post(f"{base}/{ids['Welcome']}/move", data={"direction": "down"})
    assert titles(meeting) == [(1, "Other business"), (2, "Welcome"), (3, "Reports")]

    assert as_receiver.post(f"{base}/{ids['Other business']}/remove").status_code == 302
    assert titles(meeting) == [(1, "Welcome"), (2, "Reports")]

    before = state()
    for url, data, message in [
        (f"{base}/{ids['Welcome']}/move", {"direction": "up"}, "cannot move further"),
        (f"{base}/{ids['Reports']}/move", {"direction": "down"}, "cannot move further"),
        (f"{base}/{ids['Reports']}/move", {"direction": "sideways"}, "Move an item up or down"),
        (base, {"title": "  "}, "Give the item a title."),
        (base, {"title": "x" * 301}, "longer than 300 characters"),
    ]:
        response = as_receiver.post(url, data=data)
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True)
    assert state() == before


def test_amendment_items_and_items_taken_up_stay_on_the_agenda(
    as_receiver, make_meeting, acknowledged, receiver, proposer
):
    from govern.amendments import services as amendments

    meeting = make_meeting()
    amendments.schedule_discussion(acknowledged, receiver, meeting)
    spoken = services.add_agenda_item(meeting, "Reports")
    db.session.add(SpeakerRequest(agenda_item=spoken, member_id=proposer.id))
    db.session.commit()
    [discussion, _] = reloaded(meeting).items
    html = as_receiver.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert f"/agenda/{discussion.id}/remove" not in html
    before = state()
    for item, message in [(discussion, "stays on the agenda"), (spoken, "stays in the record")]:
        response = as_receiver.post(f"/meetings/{meeting.id}/agenda/{item.id}/remove")
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert state() == before
    # Moving an amendment's item is fine.
    url = f"/meetings/{meeting.id}/agenda/{discussion.id}/move"
    assert as_receiver.post(url, data={"direction": "down"}).status_code == 302
    assert titles(meeting)[1][1].startswith("Amendment #")
