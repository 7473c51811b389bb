"""The speakers queue: the order as a table of scenarios, the services, the statistics."""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from govern.extensions import db
from govern.meetings import queue, services
from govern.meetings.models import Attendance, OuchNote, SpeakerRequest
from govern.meetings.services import MeetingError

WAITING, SPEAKING, DONE, WITHDRAWN = "waiting", "speaking", "done", "withdrawn"
START = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


@dataclass
class Turn:
    id: int
    member_id: int
    status: str = WAITING
    priority: int = 0
    started_at: datetime | None = None

    @property
    def requested_at(self) -> datetime:
        return START + timedelta(seconds=self.id)


def spoke(id: int, member_id: int, status: str = DONE) -> Turn:
    return Turn(id, member_id, status, started_at=START)


# Each scenario: the item's requests, in the order asked (id = order), and the member ids
# in the order the queue gives them the floor.
SCENARIOS = {
    "nobody spoke yet: order of request": ([Turn(1, 30), Turn(2, 10), Turn(3, 20)], [30, 10, 20]),
    "someone who spoke goes after first-timers": (
        [spoke(1, 10), Turn(2, 10), Turn(3, 20), Turn(4, 30)],
        [20, 30, 10],
    ),
    "the current speaker asking again already spoke": (
        [spoke(1, 10, SPEAKING), Turn(2, 20), Turn(3, 30)],
        [20, 30],
    ),
    "priority within first-timers": (
        [Turn(1, 10), Turn(2, 20), Turn(3, 30, priority=1)],
        [30, 10, 20],
    ),
    "higher priority first": (
        [Turn(1, 10, priority=1), Turn(2, 20, priority=2), Turn(3, 30)],
        [20, 10, 30],
    ),
    "priority within repeat speakers": (
        [spoke(1, 10), spoke(2, 20), Turn(3, 10), Turn(4, 20, priority=1), Turn(5, 30)],
        [30, 20, 10],
    ),
    "priority does not lift a repeat speaker above a first-timer": (
        [spoke(1, 10), Turn(2, 10, priority=5), Turn(3, 20)],
        [20, 10],
    ),
    "a person withdrawing leaves the queue": (
        [Turn(1, 10, WITHDRAWN), Turn(2, 20), Turn(3, 30)],
        [20, 30],
    ),
    "withdrawing is not speaking: asking again counts as first time": (
        [Turn(1, 10, WITHDRAWN), Turn(2, 20), Turn(3, 10)],
        [20, 10],
    ),
    "the same person asking twice keeps their first place": (
        [Turn(1, 10), Turn(2, 20)],  # the second ask made no row: see the services
        [10, 20],
    ),
    "done speakers asking again count as having spoken": (
        [spoke(1, 10), spoke(2, 20), Turn(3, 20), Turn(4, 10), Turn(5, 30)],
        [30, 20, 10],
    ),
    "nobody waiting": ([spoke(1, 10), Turn(2, 20, WITHDRAWN)], []),
}


@pytest.mark.parametrize(("requests", "expected"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_queue_order(requests, expected):
    order = queue.speaking_order(requests, queue.members_who_spoke(requests))
    assert [turn.member_id for turn in order] == expected


def test_queue_order_takes_the_history_it_is_given():
    requests = [Turn(1, 10), Turn(2, 20)]
    assert [t.member_id for t in queue.speaking_order(requests, {10})] == [20, 10]


# The services -------------------------------------------------------------------------------


@pytest.fixture
def item(make_meeting):
    meeting = make_meeting()
    item = services.add_agenda_item(meeting, "Rent strike")
    db.session.commit()
    return item


@pytest.fixture
def chair(make_member):
    return make_member(name="Chiara Chair", roles=["chair"])


@pytest.fixture
def present(make_member, item):
    """A member in good standing, checked in to the item's meeting."""

    def make(name: str | None = None, standing: str = "active"):
        member = make_member(name=name, standing=standing)
        db.session.add(Attendance(meeting_id=item.meeting_id, member_id=member.id))
        db.session.commit()
        return member

    return make


def open_requests(item) -> int:
    statement = select(func.count()).where(
        SpeakerRequest.agenda_item_id == item.id,
        SpeakerRequest.status.in_([WAITING, SPEAKING]),
    )
    return db.session.scalar(statement.select_from(SpeakerRequest))


def test_asking_twice_changes_nothing(item, present):
    member = present()
    first = queue.ask_to_speak(item, member)
    db.session.commit()
    again = queue.ask_to_speak(item, member)
    db.session.commit()
    assert again.id == first.id and open_requests(item) == 1


def test_asking_from_two_devices_at_once_makes_one_request(app, item, present):
    member = present()
    ids, errors = [], []
    barrier = threading.Barrier(4)

    def ask() -> None:
        with app.app_context():
            try:
                mine = db.session.get(type(item), item.id)
                who = db.session.get(type(member), member.id)
                barrier.wait()
                ids.append(queue.ask_to_speak(mine, who).id)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(ids)) == 1
    assert open_requests(item) == 1


def test_asking_needs_check_in(item, make_member):
    with pytest.raises(MeetingError, match="Check in"):
        queue.ask_to_speak(item, make_member())
    assert open_requests(item) == 0


def test_checked_out_members_cannot_ask(item, present, clock):
    member = present()
    attendance = db.session.scalars(select(Attendance)).one()
    attendance.checked_out_at = clock.advance(minutes=1)
    db.session.commit()
    with pytest.raises(MeetingError, match="Check in"):
        queue.ask_to_speak(item, member)


@pytest.mark.parametrize("standing", ["suspended", "lapsed"])
def test_members_not_in_good_standing_do_not_take_the_floor(item, present, chair, standing):
    # Decided: like voting, the floor is for members in good standing; they may still read.
    member = present(standing=standing)
    with pytest.raises(MeetingError, match="good standing"):
        queue.ask_to_speak(item, member)
    with pytest.raises(MeetingError, match="good standing"):
        queue.add_speaker(item, chair, member)
    assert open_requests(item) == 0


def test_the_facilitator_adds_a_member_without_check_in(item, chair, make_member):
    member = make_member(name="Hand Raiser")
    turn = queue.add_speaker(item, chair, member)
    db.session.commit()
    assert turn.added_by_id == chair.id and turn.status == WAITING
    assert queue.add_speaker(item, chair, member).id == turn.id


def test_only_facilitators_add_move_and_mark(item, present):
    member, other = present(), present()
    turn = queue.ask_to_speak(item, other)
    db.session.commit()
    for attempt in (
        lambda: queue.add_speaker(item, member, other),
        lambda: queue.move_up(turn, member),
        lambda: queue.start_speaking(turn, member),
        lambda: queue.finish_speaking(turn, member),
        lambda: queue.withdraw(turn, member),
    ):
        with pytest.raises(MeetingError):
            attempt()
    db.session.rollback()
    db.session.refresh(turn)
    assert (turn.status, turn.priority, turn.started_at) == (WAITING, 0, None)


def test_one_speaker_at_a_time(item, present, chair, clock):
    first, second = (queue.ask_to_speak(item, present()) for _ in range(2))
    queue.start_speaking(first, chair)
    clock.advance(minutes=2)
    queue.start_speaking(second, chair)
    db.session.commit()
    assert (first.status, first.ended_at) == (DONE, clock.current)
    assert second.status == SPEAKING and queue.current_speaker(item).id == second.id


def test_double_clicks_give_the_floor_and_end_it_once(item, present, chair, clock):
    turn = queue.ask_to_speak(item, present())
    queue.start_speaking(turn, chair)
    started = turn.started_at
    clock.advance(seconds=1)
    queue.start_speaking(turn, chair)
    assert turn.started_at == started
    queue.finish_speaking(turn, chair)
    ended = turn.ended_at
    clock.advance(seconds=1)
    queue.finish_speaking(turn, chair)
    assert turn.ended_at == ended and turn.status == DONE


def test_done_and_withdrawn_turns_cannot_get_the_floor(item, present, chair):
    member = present()
    turn = queue.ask_to_speak(item, member)
    queue.withdraw(turn, member)
    queue.withdraw(turn, member)  # twice: no change
    with pytest.raises(MeetingError, match="not waiting"):
        queue.start_speaking(turn, chair)
    with pytest.raises(MeetingError, match="not speaking"):
        queue.finish_speaking(turn, chair)


def test_a_member_withdraws_only_a_waiting_request(item, present, chair):
    member = present()
    turn = queue.ask_to_speak(item, member)
    queue.start_speaking(turn, chair)
    with pytest.raises(MeetingError, match="begun"):
        queue.withdraw(turn, member)


def test_moving_up_raises_priority_and_reorders(item, present, chair):
    first, second = present(), present()
    queue.ask_to_speak(item, first)
    turn = queue.ask_to_speak(item, second)
    queue.move_up(turn, chair)
    db.session.commit()
    assert turn.priority == 1
    assert [t.member_id for t in queue.queue_of(item)] == [second.id, first.id]


def test_cancelled_meetings_refuse_the_queue(item, present, clock):
    member = present()
    item.meeting.cancelled_at = clock.current
    db.session.commit()
    with pytest.raises(MeetingError, match="cancelled"):
        queue.ask_to_speak(item, member)


def test_statistics_count_turns_and_time(item, present, chair, clock, make_meeting):
    ana, ben = present("Ana"), present("Ben")
    turn = queue.ask_to_speak(item, ana)
    queue.start_speaking(turn, chair)
    clock.advance(minutes=3)
    queue.finish_speaking(turn, chair)
    turn = queue.ask_to_speak(item, ben)
    queue.start_speaking(turn, chair)
    clock.advance(seconds=45)
    turn = queue.ask_to_speak(item, ana)
    queue.start_speaking(turn, chair)  # Ben is done
    clock.advance(seconds=30)  # Ana is still speaking, and counts on until now
    other = services.add_agenda_item(item.meeting, "Budget")
    turn = queue.add_speaker(other, chair, ben)
    queue.start_speaking(turn, chair)
    clock.advance(minutes=1)
    queue.finish_speaking(turn, chair)
    db.session.commit()

    on_item = {row.name: (row.turns, row.total) for row in queue.item_statistics(item)}
    assert on_item == {
        "Ana": (2, timedelta(minutes=4, seconds=30)),
        "Ben": (1, timedelta(seconds=45)),
    }
    in_meeting = [
        (row.name, row.turns, row.total) for row in queue.meeting_statistics(item.meeting)
    ]
    assert in_meeting == [
        ("Ana", 2, timedelta(minutes=4, seconds=30)),
        ("Ben", 2, timedelta(minutes=1, seconds=45)),
    ]


def test_members_named_finds_by_part_of_the_name(app, make_member):
    make_member(name="Rosa Parks")
    make_member(name="Rosalind Franklin", standing="suspended")
    make_member(name="100% Ross")
    assert [m.name for m in queue.members_named(" rosa ")] == ["Rosa Parks"]
    assert [m.name for m in queue.members_named("%")] == ["100% Ross"]
    assert queue.members_named("  ") == []


# Ouch and oops ------------------------------------------------------------------------------


def test_an_ouch_pins_the_moment_and_nobody(item, present, clock):
    member = present()
    ouch = queue.note_ouch(item, member)
    db.session.commit()
    assert (ouch.meeting_id, ouch.agenda_item_id, ouch.noted_at) == (
        item.meeting_id,
        item.id,
        clock.current,
    )
    assert ouch.noted_by_id is None and ouch.note == "" and ouch.oops_at is None


def test_two_ouches_in_the_same_moment_are_one(item, present, chair, clock):
    first = queue.note_ouch(item, present())
    clock.advance(seconds=5)
    assert queue.note_ouch(item, present()).id == first.id
    assert queue.note_ouch(item, chair, "Joke about rent").note == "Joke about rent"
    clock.advance(seconds=30)
    assert queue.note_ouch(item, present()).id != first.id
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OuchNote)) == 2


def test_only_the_facilitator_writes_a_note_and_says_oops(item, present, chair, clock):
    member = present()
    with pytest.raises(MeetingError, match="facilitator"):
        queue.note_ouch(item, member, "Someone said something")
    ouch = queue.note_ouch(item, member)
    with pytest.raises(MeetingError):
        queue.acknowledge_oops(ouch, member)
    clock.advance(seconds=20)
    queue.acknowledge_oops(ouch, chair)
    acknowledged = ouch.oops_at
    clock.advance(seconds=20)
    queue.acknowledge_oops(ouch, chair)
    db.session.commit()
    assert ouch.oops_at == acknowledged
    assert queue.ouches_of(item.meeting) == [ouch]


def test_ouches_of_lists_the_meetings_ouches_in_order(item, chair, clock, make_meeting):
    first = queue.note_ouch(item, chair, "First")
    clock.advance(minutes=5)
    second = queue.note_ouch(item, chair, "Second")
    elsewhere = services.add_agenda_item(make_meeting(title="Other"), "Other item")
    queue.note_ouch(elsewhere, chair)
    db.session.commit()
    assert queue.ouches_of(item.meeting) == [first, second]
