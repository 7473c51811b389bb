"""Scheduling a discussion and planning meetings, through the services."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from govern.amendments import services as amendments
from govern.amendments.errors import AmendmentError
from govern.amendments.models import Amendment, AmendmentEvent
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.meetings import services
from govern.meetings.models import AgendaItem, Meeting, MeetingKind
from govern.procedures.states import IllegalTransition, State
from tests.meetings.conftest import EVENING, EVENING_END


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def reloaded(amendment: Amendment) -> Amendment:
    db.session.expire_all()
    return db.session.get(Amendment, amendment.id)


def test_a_receiver_schedules_an_acknowledged_amendment_at_a_meeting(
    acknowledged, receiver, make_meeting
):
    meeting = make_meeting()
    item = amendments.schedule_discussion(acknowledged, receiver, meeting)
    db.session.commit()

    amendment = reloaded(acknowledged)
    assert amendment.state == State.DISCUSSION_SCHEDULED
    [slot] = amendment.agenda_items
    assert slot.id == item.id and slot.meeting_id == meeting.id and slot.position == 1
    assert slot.title == f"Amendment #{amendment.id}: Patience"
    last = amendment.events[-1]
    assert (last.event, last.actor_id, last.to_state) == (
        "schedule_discussion",
        receiver.id,
        State.DISCUSSION_SCHEDULED,
    )


@pytest.mark.parametrize(
    ("roles", "standing"),
    [((), "active"), (("chair",), "active"), (("receiver",), "suspended"), (("admin",), "active")],
)
def test_only_a_receiver_in_good_standing_schedules(
    acknowledged, make_member, make_meeting, roles, standing
):
    meeting = make_meeting()
    outbox_before = count(OutboxMessage)
    actor = make_member(roles=roles, standing=standing)
    with pytest.raises(AmendmentError, match="Only a receiver in good standing"):
        amendments.schedule_discussion(acknowledged, actor, meeting)
    db.session.rollback()
    assert reloaded(acknowledged).state == State.ACKNOWLEDGED
    assert count(AgendaItem) == 0 and count(OutboxMessage) == outbox_before


def test_only_an_acknowledged_amendment_can_be_scheduled(make_amendment, receiver, make_meeting):
    submitted = make_amendment(acknowledged=False)
    meeting = make_meeting()
    with pytest.raises(IllegalTransition, match="the amendment is submitted"):
        amendments.schedule_discussion(submitted, receiver, meeting)
    db.session.rollback()
    assert reloaded(submitted).state == State.SUBMITTED and count(AgendaItem) == 0


def test_a_discussion_moves_only_when_its_meeting_is_cancelled_or_over(
    acknowledged, receiver, make_meeting, clock
):
    first, second = make_meeting(), make_meeting(title="Another assembly")
    amendments.schedule_discussion(acknowledged, receiver, first)
    db.session.commit()
    with pytest.raises(AmendmentError, match="on the agenda of General assembly already"):
        amendments.schedule_discussion(acknowledged, receiver, second)
    db.session.rollback()
    assert [item.meeting_id for item in reloaded(acknowledged).agenda_items] == [first.id]

    services.cancel_meeting(first, receiver)
    amendments.schedule_discussion(acknowledged, receiver, second)
    db.session.commit()
    moved = reloaded(acknowledged)
    assert moved.state == "discussion_scheduled"
    assert [item.meeting_id for item in moved.agenda_items] == [first.id, second.id]
    assert [event.event for event in moved.events][-2:] == [
        "schedule_discussion",
        "schedule_discussion",
    ]


def test_a_meeting_that_has_started_is_refused(acknowledged, receiver, make_meeting, clock):
    meeting = make_meeting()
    clock.current = EVENING
    with pytest.raises(AmendmentError, match="has started already") as refused:
        amendments.schedule_discussion(acknowledged, receiver, meeting)
    assert refused.value.field == "meeting"
    db.session.rollback()
    assert reloaded(acknowledged).state == State.ACKNOWLEDGED and count(AgendaItem) == 0


def test_a_scheduling_from_a_stale_read_is_refused_by_the_conditional_update(
    acknowledged, receiver, make_meeting
):
    meeting = make_meeting()
    outbox_before = count(OutboxMessage)
    events_before = count(AmendmentEvent)
    assert acknowledged.state == State.ACKNOWLEDGED  # read now, as a page would
    # Another receiver's request moves it meanwhile, on its own connection.
    with db.engine.begin() as other:
        other.execute(
            update(Amendment)
            .where(Amendment.id == acknowledged.id)
            .values(state=State.DISCUSSION_SCHEDULED)
        )
    with pytest.raises(AmendmentError, match="Someone else acted"):
        amendments.schedule_discussion(acknowledged, receiver, meeting)
    db.session.rollback()
    assert count(AgendaItem) == 0
    assert count(OutboxMessage) == outbox_before and count(AmendmentEvent) == events_before


def test_agenda_positions_follow_one_another(make_amendment, receiver, make_meeting):
    meeting = make_meeting()
    first, second = make_amendment("First"), make_amendment("Second")
    amendments.schedule_discussion(first, receiver, meeting)
    amendments.schedule_discussion(second, receiver, meeting)
    db.session.commit()
    db.session.expire_all()
    items = db.session.get(Meeting, meeting.id).items
    assert [(item.position, item.amendment_id) for item in items] == [
        (1, first.id),
        (2, second.id),
    ]


def test_every_member_in_good_standing_is_mailed_the_meeting(
    acknowledged, receiver, proposer, make_member, make_meeting
):
    active = make_member(name="Ana Active", email="ana@example.org")
    make_member(email="sam@example.org", standing="suspended")
    make_member(email="lou@example.org", standing="lapsed")
    meeting = make_meeting()
    already = {message.id for message in db.session.scalars(select(OutboxMessage))}

    amendments.schedule_discussion(acknowledged, receiver, meeting)
    db.session.commit()

    new = [m for m in db.session.scalars(select(OutboxMessage)) if m.id not in already]
    assert sorted(m.recipient for m in new) == sorted(
        [proposer.email, receiver.email, active.email]
    )
    assert {m.subject for m in new} == {"Discussion scheduled: Patience"}
    assert {m.attachment_filename for m in new} == {f"meeting-{meeting.id}.ics"}
    assert {m.attachment_type for m in new} == {"text/calendar; method=PUBLISH"}
    assert len({m.attachment_text for m in new}) == 1
    assert f"Amendment #{acknowledged.id}: Patience" in new[0].attachment_text


# Planning meetings -----------------------------------------------------------------------


def plan(actor, **changes):
    arguments = {
        "title": "General assembly",
        "kind": MeetingKind.REGULAR,
        "starts_at": EVENING,
        "ends_at": EVENING_END,
        "place": "Community hall",
        "online_link": "",
    } | changes
    return services.create_meeting(actor, **arguments)


def test_a_meeting_gets_a_calendar_uid_of_its_own(receiver, clock):
    first, second = plan(receiver), plan(receiver)
    assert first.uid.startswith("meeting-") and first.uid.endswith("@govern.test")
    assert first.uid != second.uid
    assert (first.starts_at, first.ends_at, first.sequence) == (EVENING, EVENING_END, 0)


def test_a_chair_plans_meetings_and_a_plain_member_does_not(make_member, clock):
    assert plan(make_member(roles=["chair"])).id
    for actor in (make_member(), make_member(roles=["receiver"], standing="lapsed")):
        with pytest.raises(services.MeetingError, match="Only a receiver or a chair"):
            plan(actor)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "needs a title"),
        ({"title": "x" * 201}, "title", "longer than 200"),
        ({"title": "Null\x00"}, "title", "not valid"),
        ({"ends_at": EVENING}, "ends_at", "end after it starts"),
        ({"ends_at": EVENING - timedelta(hours=1)}, "ends_at", "end after it starts"),
        (
            {"starts_at": datetime(2026, 3, 1, 11, 0, tzinfo=UTC)},
            "starts_at",
            "start in the future",
        ),
        ({"place": "", "online_link": ""}, "place", "a place, an online link or both"),
        ({"place": "x" * 301}, "place", "longer than 300"),
        ({"online_link": "javascript:alert(1)"}, "online_link", "web address"),
        ({"online_link": "ftp://files.example.org"}, "online_link", "web address"),
        ({"online_link": "https://"}, "online_link", "web address"),
        ({"online_link": "https://" + "x" * 500}, "online_link", "longer than 500"),
    ],
)
def test_a_meeting_with_wrong_details_is_refused(receiver, clock, changes, field, message):
    with pytest.raises(services.MeetingError, match=message) as refused:
        plan(receiver, **changes)
    assert refused.value.field == field
    db.session.rollback()
    assert count(Meeting) == 0


def test_an_online_meeting_needs_no_place(receiver, clock):
    meeting = plan(receiver, place="", online_link="https://meet.example.org/assembly")
    assert meeting.online_link == "https://meet.example.org/assembly" and meeting.place == ""


def test_upcoming_meetings_are_those_still_to_start(receiver, clock):
    later = plan(receiver, title="Later")
    sooner = plan(
        receiver,
        title="Sooner",
        starts_at=EVENING - timedelta(days=2),
        ends_at=EVENING_END - timedelta(days=2),
    )
    assert services.upcoming_meetings() == [sooner, later]
    clock.current = EVENING - timedelta(days=1)
    assert services.upcoming_meetings() == [later]
