"""The vote of a meeting on an amendment's agenda item: a hand count, or a live electronic vote
among the voting-eligible members checked in.

Like the other services these check the actor and the state, change the models and flush;
none commits. A refused action raises MeetingVoteError, AmendmentError or IllegalTransition
before anything changes. Closing a vote is a conditional UPDATE, so a double click or two
chairs at once record it once, and the amendment moves in the same transaction.
"""

from datetime import timedelta
from enum import StrEnum

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from govern import clock
from govern.amendments import services as amendments
from govern.amendments.models import Amendment
from govern.extensions import db
from govern.meetings.attendance import eligible_present_count, is_present
from govern.meetings.models import AgendaItem, Attendance, MeetingVote, MeetingVoter, VoteMode
from govern.meetings.services import RUNS_LATE
from govern.members.models import Member, Standing
from govern.procedures.stages import Event, StageKind
from govern.procedures.thresholds import Decision, Tally, TallyError, get_threshold


class MeetingVoteError(ValueError):
    """A vote the actor may not open, record, cast or close, or counts that cannot be."""


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


MODE_LABELS = {
    VoteMode.HAND_COUNT: _l("Hand count"),
    VoteMode.ELECTRONIC: _l("Electronic vote from members' own devices"),
}
CHOICE_LABELS = {Choice.YES: _l("Yes"), Choice.NO: _l("No"), Choice.ABSTAIN: _l("Abstain")}


def may_run_vote(item: AgendaItem, actor: Member) -> bool:
    """Whether the amendment's procedure lets `actor` open and close votes on this item."""
    amendment = item.amendment
    return amendment is not None and amendments.may_act(amendment, actor, Event.OPEN_MEETING_VOTE)


def latest_vote(item: AgendaItem) -> MeetingVote | None:
    statement = (
        select(MeetingVote)
        .where(MeetingVote.agenda_item_id == item.id)
        .order_by(MeetingVote.opened_at.desc(), MeetingVote.id.desc())
        .limit(1)
    )
    return db.session.scalar(statement)


def voter_count(vote: MeetingVote) -> int:
    """How many have voted so far; never how."""
    statement = select(func.count()).where(MeetingVoter.vote_id == vote.id)
    return db.session.scalar(statement.select_from(MeetingVoter))


def has_voted(vote: MeetingVote, member: Member) -> bool:
    statement = select(
        exists().where(MeetingVoter.vote_id == vote.id, MeetingVoter.member_id == member.id)
    )
    return bool(db.session.scalar(statement))


# A meeting votes while it meets: from a little before its planned start (the chair sets
# things up) until some hours after its planned end (meetings run late).
VOTING_WINDOW = (timedelta(minutes=15), RUNS_LATE)


def open_vote(item: AgendaItem, actor: Member, mode: VoteMode | str) -> MeetingVote:
    """Start the meeting's vote on the item's amendment; its text is frozen from now on."""
    amendment = item.amendment
    if amendment is None:
        raise MeetingVoteError(gettext("Only an amendment's agenda item is voted on."))
    meeting = item.meeting
    if meeting.cancelled_at is not None:
        raise MeetingVoteError(gettext("This meeting was cancelled; nothing is voted on there."))
    early, late = VOTING_WINDOW
    now = clock.now()
    if now < meeting.starts_at - early:
        raise MeetingVoteError(gettext("The meeting votes once it has begun."))
    if now > meeting.ends_at + late:
        raise MeetingVoteError(
            gettext("This meeting is over; the amendment's discussion needs another meeting.")
        )
    try:
        mode = VoteMode(mode)
    except ValueError:
        raise MeetingVoteError(gettext("Choose a hand count or an electronic vote.")) from None
    # The amendment moves first, conditionally: of two openings at once, the second stops
    # here; the unique index on open votes stands behind it.
    amendments.open_meeting_vote(amendment, actor)
    vote = MeetingVote(agenda_item=item, amendment=amendment, mode=mode, opened_by_id=actor.id)
    db.session.add(vote)
    db.session.flush()
    return vote


def record_hand_count(vote: MeetingVote, actor: Member, yes: int, no: int, abstain: int) -> None:
    """The chair's count of raised hands, against the eligible members present right now."""
    _check_may_close(vote, actor, VoteMode.HAND_COUNT)
    present = eligible_present_count(vote.agenda_item.meeting)
    decision = decide(vote.amendment, yes, no, abstain, present)
    now = clock.now()
    recorded = db.session.execute(
        update(MeetingVote)
        .where(MeetingVote.id == vote.id, MeetingVote.closed_at.is_(None))
        .values(
            yes=yes,
            no=no,
            abstain=abstain,
            eligible_present=present,
            passed=decision.passed,
            rule=decision.rule,
            arithmetic=decision.arithmetic,
            closed_at=now,
            closed_by_id=actor.id,
        )
        .execution_options(synchronize_session=False)
    )
    if recorded.rowcount != 1:
        raise _already_closed()
    amendments.record_meeting_result(vote.amendment, actor, decision.passed)
    db.session.refresh(vote)


def cast_vote(vote: MeetingVote, member: Member, choice: Choice | str) -> None:
    """One vote of a checked-in, voting-eligible member. Who voted is kept apart from the
    counts, so nothing records how a member voted; each member counts once, even when the
    same vote arrives from two devices at the same moment."""
    try:
        choice = Choice(choice)
    except ValueError:
        raise MeetingVoteError(gettext("Choose yes, no or abstain.")) from None
    if vote.mode != VoteMode.ELECTRONIC:
        raise MeetingVoteError(gettext("This vote is a hand count: raise your hand in the room."))
    if vote.closed_at is not None:
        raise _already_closed()
    check_may_vote(vote, member)
    db.session.add(MeetingVoter(vote_id=vote.id, member_id=member.id, voted_at=clock.now()))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise MeetingVoteError(gettext("You have already voted; each member votes once.")) from None
    counter = getattr(MeetingVote, choice.value)
    counted = db.session.execute(
        update(MeetingVote)
        .where(MeetingVote.id == vote.id, MeetingVote.closed_at.is_(None))
        .values({counter: counter + 1})
        .execution_options(synchronize_session=False)
    )
    if counted.rowcount != 1:
        raise _already_closed()


def check_may_vote(vote: MeetingVote, member: Member) -> None:
    if not member.is_eligible:
        raise MeetingVoteError(gettext("Only members in good standing vote."))
    if not is_present(vote.agenda_item.meeting, member):
        raise MeetingVoteError(
            gettext("Only members checked in at the meeting vote: check in first.")
        )


def close_vote(vote: MeetingVote, actor: Member) -> None:
    """End an electronic vote and record its result; members can vote no more."""
    _check_may_close(vote, actor, VoteMode.ELECTRONIC)
    # Closing first stops the counting: a vote arriving after this is refused, and the
    # counts returned are final.
    closed = db.session.execute(
        update(MeetingVote)
        .where(MeetingVote.id == vote.id, MeetingVote.closed_at.is_(None))
        .values(closed_at=clock.now(), closed_by_id=actor.id, passed=False)
        .returning(MeetingVote.yes, MeetingVote.no, MeetingVote.abstain)
        .execution_options(synchronize_session=False)
    ).first()
    if closed is None:
        raise _already_closed()
    yes, no, abstain = closed
    present = _eligible_present_at_close(vote)
    decision = decide(vote.amendment, yes, no, abstain, present)
    db.session.execute(
        update(MeetingVote)
        .where(MeetingVote.id == vote.id)
        .values(
            eligible_present=present,
            passed=decision.passed,
            rule=decision.rule,
            arithmetic=decision.arithmetic,
        )
        .execution_options(synchronize_session=False)
    )
    amendments.record_meeting_result(vote.amendment, actor, decision.passed)
    db.session.refresh(vote)


def decide(amendment: Amendment, yes: int, no: int, abstain: int, present: int) -> Decision:
    """The result by the threshold of the amendment's meeting vote stage."""
    procedure = amendment.procedure
    stage = procedure.stage(StageKind.MEETING_VOTE)
    if stage is None or stage.threshold is None:
        raise MeetingVoteError(gettext("This amendment's procedure has no meeting vote."))
    try:
        tally = Tally(
            yes,
            no,
            abstain,
            eligible_present=present,
            abstentions_count_as_cast=procedure.abstentions_count_as_cast,
        )
    except TallyError as error:
        raise MeetingVoteError(str(error)) from None
    return get_threshold(stage.threshold).decide(tally)


def _check_may_close(vote: MeetingVote, actor: Member, mode: VoteMode) -> None:
    if not amendments.may_act(vote.amendment, actor, Event.RECORD_MEETING_RESULT):
        raise MeetingVoteError(gettext("Only a meeting chair records the result of a vote."))
    if vote.closed_at is not None:
        raise _already_closed()
    if vote.mode != mode:
        raise MeetingVoteError(
            gettext("This vote is taken as: %(mode)s.", mode=MODE_LABELS[VoteMode(vote.mode)])
        )


def _eligible_present_at_close(vote: MeetingVote) -> int:
    """The eligible members present now, and those who voted but have left since (or lost
    their standing): they were present and eligible when they voted."""
    present_now = and_(
        Attendance.meeting_id == vote.agenda_item.meeting_id,
        Attendance.member_id == MeetingVoter.member_id,
        Attendance.checked_out_at.is_(None),
        Member.id == MeetingVoter.member_id,
        Member.standing == Standing.ACTIVE,
    )
    gone = db.session.scalar(
        select(func.count())
        .select_from(MeetingVoter)
        .where(MeetingVoter.vote_id == vote.id, ~exists().where(present_now))
    )
    return eligible_present_count(vote.agenda_item.meeting) + gone


def _already_closed() -> MeetingVoteError:
    return MeetingVoteError(gettext("This vote is closed already; its result is recorded."))
