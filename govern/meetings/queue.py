"""The speakers queue of an agenda item (SCORE's Modified Progressive Stack), and ouches.

The order is a pure function of the item's requests: people who have not yet spoken on
the item first, then the facilitator's priority marks, then the order of request. The
services below check the actor and the state, change the models and flush; none commits.
Refused input raises MeetingError before anything changes.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from govern import clock
from govern.extensions import db
from govern.meetings.attendance import is_present
from govern.meetings.models import (
    NOTE_MAX,
    AgendaItem,
    Meeting,
    OuchNote,
    SpeakerRequest,
    SpeakerStatus,
)
from govern.meetings.services import MeetingError, can_run_meetings, refuse_if_over
from govern.members.models import Member, Standing

# Two ouches on one item this close together are the same moment (or a double click).
SAME_MOMENT = timedelta(seconds=10)
SEARCH_LIMIT = 20


class Turn(Protocol):
    id: int | None
    member_id: int
    status: str
    priority: int
    requested_at: datetime
    started_at: datetime | None


T = TypeVar("T", bound=Turn)


# The order ---------------------------------------------------------------------------------


def members_who_spoke(requests: Iterable[Turn]) -> set[int]:
    """Who has had the floor on the item: a turn that started, whether or not it ended."""
    return {turn.member_id for turn in requests if turn.started_at is not None}


def speaking_order(requests: Iterable[T], spoken: Collection[int]) -> list[T]:
    """The waiting requests in the order they get the floor.

    First-timers before those in `spoken` (member ids who already spoke on the item), then
    higher facilitator priority, then earlier request. Speaking, done and withdrawn
    requests are not in the queue.
    """
    waiting = [turn for turn in requests if turn.status == SpeakerStatus.WAITING]
    return sorted(
        waiting,
        key=lambda turn: (
            turn.member_id in spoken,
            -turn.priority,
            turn.requested_at,
            turn.id or 0,
        ),
    )


@dataclass(frozen=True)
class SpeakingTime:
    member_id: int
    name: str
    turns: int
    total: timedelta


class SpokenTurn(Protocol):
    member_id: int
    name: str
    started_at: datetime | None
    ended_at: datetime | None


def speaking_statistics(turns: Iterable[SpokenTurn], now: datetime) -> list[SpeakingTime]:
    """How often and how long each person spoke, longest first; a turn still going counts
    up to `now`. Each turn carries the speaker's name (see `_spoken_turns`)."""
    counts: dict[int, int] = {}
    totals: dict[int, timedelta] = {}
    names: dict[int, str] = {}
    for turn in turns:
        if turn.started_at is None:
            continue
        length = max((turn.ended_at or now) - turn.started_at, timedelta())
        counts[turn.member_id] = counts.get(turn.member_id, 0) + 1
        totals[turn.member_id] = totals.get(turn.member_id, timedelta()) + length
        names[turn.member_id] = turn.name
    rows = [
        SpeakingTime(member_id, names[member_id], counts[member_id], totals[member_id])
        for member_id in counts
    ]
    return sorted(rows, key=lambda row: (-row.total, -row.turns, row.name))


# Reading the queue -------------------------------------------------------------------------


def requests_of(item: AgendaItem) -> list[SpeakerRequest]:
    statement = (
        select(SpeakerRequest)
        .where(SpeakerRequest.agenda_item_id == item.id)
        .order_by(SpeakerRequest.id)
    )
    return list(db.session.scalars(statement))


def open_requests(item: AgendaItem) -> list[SpeakerRequest]:
    """The item's waiting and speaking requests with their members, in one query: the
    queue page names every one of them. Done and withdrawn turns stay in the database."""
    statement = (
        select(SpeakerRequest)
        .where(
            SpeakerRequest.agenda_item_id == item.id,
            SpeakerRequest.status.in_([SpeakerStatus.WAITING, SpeakerStatus.SPEAKING]),
        )
        # The name is all the page needs: the roles stay unloaded until asked for.
        .options(joinedload(SpeakerRequest.member).lazyload(Member.role_rows))
        .order_by(SpeakerRequest.id)
    )
    return list(db.session.scalars(statement))


def spoken_on(item: AgendaItem) -> set[int]:
    """Who has had the floor on the item (see `members_who_spoke`), asked of the database."""
    statement = (
        select(SpeakerRequest.member_id)
        .where(SpeakerRequest.agenda_item_id == item.id, SpeakerRequest.started_at.is_not(None))
        .distinct()
    )
    return set(db.session.scalars(statement))


def queue_of(item: AgendaItem) -> list[SpeakerRequest]:
    return speaking_order(open_requests(item), spoken_on(item))


def current_speaker(item: AgendaItem) -> SpeakerRequest | None:
    statement = select(SpeakerRequest).where(
        SpeakerRequest.agenda_item_id == item.id,
        SpeakerRequest.status == SpeakerStatus.SPEAKING,
    )
    return db.session.scalars(statement).first()


def waiting_count(item: AgendaItem) -> int:
    statement = select(func.count()).where(
        SpeakerRequest.agenda_item_id == item.id,
        SpeakerRequest.status == SpeakerStatus.WAITING,
    )
    return db.session.scalar(statement.select_from(SpeakerRequest))


def _spoken_turns(*conditions) -> list[SpokenTurn]:
    """The turns that started, as (member_id, name, started_at, ended_at) rows: no ORM
    objects and no lazy load of each speaker."""
    statement = (
        select(
            SpeakerRequest.member_id,
            Member.name,
            SpeakerRequest.started_at,
            SpeakerRequest.ended_at,
        )
        .join(Member, Member.id == SpeakerRequest.member_id)
        .where(SpeakerRequest.started_at.is_not(None), *conditions)
    )
    return list(db.session.execute(statement))


def item_statistics(item: AgendaItem) -> list[SpeakingTime]:
    turns = _spoken_turns(SpeakerRequest.agenda_item_id == item.id)
    return speaking_statistics(turns, clock.now())


def meeting_statistics(meeting: Meeting) -> list[SpeakingTime]:
    items = select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id)
    turns = _spoken_turns(SpeakerRequest.agenda_item_id.in_(items))
    return speaking_statistics(turns, clock.now())


def members_named(text: str) -> list[Member]:
    """Members in good standing whose name contains `text`, for the facilitator to add."""
    text = " ".join(text.split())
    if not text:
        return []
    statement = (
        select(Member)
        .where(
            func.lower(Member.name).contains(text.lower(), autoescape=True),
            Member.standing == Standing.ACTIVE,
        )
        .order_by(Member.name, Member.id)
        .limit(SEARCH_LIMIT)
    )
    return list(db.session.scalars(statement))


# Changing the queue ------------------------------------------------------------------------


def ask_to_speak(item: AgendaItem, member: Member) -> SpeakerRequest:
    """The member asks for the floor; asking again while waiting changes nothing."""
    _check_running(item.meeting)
    if not member.is_eligible:
        raise MeetingError(gettext("Only members in good standing take the floor."))
    if not is_present(item.meeting, member):
        raise MeetingError(gettext("Check in to the meeting first, then ask to speak."))
    return _enqueue(item, member, added_by=None)


def add_speaker(item: AgendaItem, actor: Member, member: Member) -> SpeakerRequest:
    """The facilitator puts a member who raised a hand, spoke up or wrote in the chat on
    the queue: every way of asking counts the same."""
    _check_facilitator(actor)
    _check_running(item.meeting)
    if not member.is_eligible:
        raise MeetingError(
            gettext("%(name)s is not in good standing and cannot take the floor.", name=member.name)
        )
    return _enqueue(item, member, added_by=actor)


def move_up(turn: SpeakerRequest, actor: Member) -> None:
    """The facilitator raises a waiting request's priority by one; the tool never asks why."""
    _check_facilitator(actor)
    _check_running(turn.agenda_item.meeting)
    if turn.status != SpeakerStatus.WAITING:
        raise MeetingError(gettext("Only someone still waiting can be moved up."))
    # In SQL, so that two facilitators' clicks both count.
    db.session.execute(
        update(SpeakerRequest)
        .where(SpeakerRequest.id == turn.id)
        .values(priority=SpeakerRequest.priority + 1)
    )
    db.session.refresh(turn)


def start_speaking(turn: SpeakerRequest, actor: Member) -> None:
    """Give the floor to a waiting request; whoever had it is done. One speaker at a time."""
    _check_facilitator(actor)
    item = turn.agenda_item
    _check_running(item.meeting)
    # Locks the item on PostgreSQL, so two clicks at once give the floor once.
    db.session.execute(select(AgendaItem.id).where(AgendaItem.id == item.id).with_for_update())
    db.session.refresh(turn)
    if turn.status == SpeakerStatus.SPEAKING:
        return
    if turn.status != SpeakerStatus.WAITING:
        raise MeetingError(gettext("%(name)s is not waiting to speak.", name=turn.member.name))
    now = clock.now()
    previous = current_speaker(item)
    if previous is not None:
        previous.status = SpeakerStatus.DONE
        previous.ended_at = now
        # The partial unique index sees the previous speaker done before this one starts.
        db.session.flush()
    turn.status = SpeakerStatus.SPEAKING
    turn.started_at = now
    db.session.flush()


def finish_speaking(turn: SpeakerRequest, actor: Member) -> None:
    """The speaker is done; marking it twice changes nothing."""
    _check_facilitator(actor)
    _check_running(turn.agenda_item.meeting)
    if turn.status == SpeakerStatus.DONE:
        return
    if turn.status != SpeakerStatus.SPEAKING:
        raise MeetingError(gettext("%(name)s is not speaking.", name=turn.member.name))
    turn.status = SpeakerStatus.DONE
    turn.ended_at = clock.now()
    db.session.flush()


def withdraw(turn: SpeakerRequest, actor: Member) -> None:
    """A member takes back their own request (the facilitator may take anyone off)."""
    if turn.member_id != actor.id and not can_run_meetings(actor):
        raise MeetingError(gettext("Only the member who asked can withdraw the request."))
    _check_running(turn.agenda_item.meeting)
    if turn.status == SpeakerStatus.WITHDRAWN:
        return
    if turn.status != SpeakerStatus.WAITING:
        raise MeetingError(gettext("This turn has begun; it can no longer be withdrawn."))
    turn.status = SpeakerStatus.WITHDRAWN
    db.session.flush()


def _enqueue(item: AgendaItem, member: Member, added_by: Member | None) -> SpeakerRequest:
    existing = _open_request(item, member)
    if existing is not None:
        return existing
    turn = SpeakerRequest(agenda_item=item, member=member, added_by_id=added_by and added_by.id)
    try:
        with db.session.begin_nested():
            db.session.add(turn)
    except IntegrityError:
        # Asked from two devices at once: the partial unique index let one request in.
        existing = _open_request(item, member)
        if existing is None:
            raise
        return existing
    return turn


def _open_request(item: AgendaItem, member: Member) -> SpeakerRequest | None:
    statement = select(SpeakerRequest).where(
        SpeakerRequest.agenda_item_id == item.id,
        SpeakerRequest.member_id == member.id,
        SpeakerRequest.status.in_([SpeakerStatus.WAITING, SpeakerStatus.SPEAKING]),
    )
    return db.session.scalars(statement).first()


def _check_facilitator(actor: Member) -> None:
    if not can_run_meetings(actor):
        raise MeetingError(gettext("Only a chair or a receiver in good standing runs the queue."))


def _check_running(meeting: Meeting) -> None:
    if meeting.cancelled_at is not None:
        raise MeetingError(gettext("This meeting was cancelled."))
    refuse_if_over(meeting)


# Ouch and oops -----------------------------------------------------------------------------


def note_ouch(item: AgendaItem, actor: Member, note: str = "") -> OuchNote:
    """Pin the moment someone said "ouch": the meeting, the item and the time.

    Any signed-in member may; only the facilitator writes a note. Nobody is recorded,
    neither who was hurt, nor who said what, nor who pressed the button.
    """
    _check_running(item.meeting)
    if not (can_run_meetings(actor) or is_present(item.meeting, actor)):
        raise MeetingError(gettext("Only members at the meeting note an ouch."))
    note = " ".join((note or "").split())
    if note and not can_run_meetings(actor):
        raise MeetingError(gettext("Only the facilitator writes a note to an ouch."))
    if len(note) > NOTE_MAX:
        raise MeetingError(gettext("This is longer than %(max)s characters.", max=NOTE_MAX))
    now = clock.now()
    recent = db.session.scalars(
        select(OuchNote)
        .where(
            OuchNote.agenda_item_id == item.id,
            OuchNote.oops_at.is_(None),
            OuchNote.noted_at > now - SAME_MOMENT,
        )
        .order_by(OuchNote.noted_at.desc())
    ).first()
    if recent is not None:
        if note and not recent.note:
            recent.note = note
            db.session.flush()
        return recent
    ouch = OuchNote(meeting_id=item.meeting_id, agenda_item=item, noted_at=now, note=note)
    db.session.add(ouch)
    db.session.flush()
    return ouch


def acknowledge_oops(ouch: OuchNote, actor: Member) -> None:
    """The facilitator records that the "oops" was said; twice changes nothing."""
    _check_facilitator(actor)
    if ouch.oops_at is None:
        ouch.oops_at = clock.now()
        db.session.flush()


def ouches_of(meeting: Meeting) -> list[OuchNote]:
    """The meeting's ouches in the order they were noted, for the page and the minutes."""
    statement = (
        select(OuchNote)
        .where(OuchNote.meeting_id == meeting.id)
        .options(selectinload(OuchNote.agenda_item))
        .order_by(OuchNote.noted_at, OuchNote.id)
    )
    return list(db.session.scalars(statement))
