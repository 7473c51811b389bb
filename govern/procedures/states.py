"""The amendment state machine: the stages of its procedure decide which moves are legal."""

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from govern.procedures.stages import (
    STAGE_EVENTS,
    VOTE_KINDS,
    Event,
    Procedure,
    Stage,
    StageKind,
)
from govern.procedures.thresholds import get_threshold

E = TypeVar("E", bound=StrEnum)


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    DISCUSSION_SCHEDULED = "discussion_scheduled"
    MEETING_VOTE_OPEN = "meeting_vote_open"
    MEETING_VOTE_PASSED = "meeting_vote_passed"
    BALLOT_OPEN = "ballot_open"
    # Passed its last vote; in effect only once the notice is sent.
    RATIFIED = "ratified"
    IN_EFFECT = "in_effect"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"

    @classmethod
    def of(cls, passed: bool) -> "Outcome":
        return cls.PASSED if passed else cls.FAILED


STATE_LABELS = {
    State.DRAFT: _l("draft"),
    State.SUBMITTED: _l("submitted"),
    State.ACKNOWLEDGED: _l("acknowledged"),
    State.DISCUSSION_SCHEDULED: _l("discussion scheduled"),
    State.MEETING_VOTE_OPEN: _l("meeting vote open"),
    State.MEETING_VOTE_PASSED: _l("passed the meeting vote"),
    State.BALLOT_OPEN: _l("ballot open"),
    State.RATIFIED: _l("ratified internally, not yet in effect"),
    State.IN_EFFECT: _l("in effect"),
    State.FAILED: _l("failed"),
    State.WITHDRAWN: _l("withdrawn"),
}
EVENT_LABELS = {
    Event.SUBMIT: _l("Submit"),
    Event.WITHDRAW: _l("Withdraw"),
    Event.ACKNOWLEDGE: _l("Acknowledge"),
    Event.SCHEDULE_DISCUSSION: _l("Schedule the discussion"),
    Event.OPEN_MEETING_VOTE: _l("Open the meeting vote"),
    Event.RECORD_MEETING_RESULT: _l("Record the meeting vote's result"),
    Event.OPEN_BALLOT: _l("Open the ballot"),
    Event.CLOSE_BALLOT: _l("Close the ballot"),
    Event.SEND_NOTICE: _l("Send the ratification notice"),
}


class IllegalTransition(ValueError):
    """A move the amendment's state or procedure does not allow; the message says what does."""

    def __init__(self, state: State, event: Event, allowed: tuple[Event, ...]) -> None:
        self.state = state
        self.event = event
        self.allowed = allowed
        if allowed:
            events = ", ".join(f'"{EVENT_LABELS[event]}"' for event in allowed)
            now = gettext("Possible now: %(events)s.", events=events)
        else:
            now = gettext("Nothing more can happen to it.")
        super().__init__(
            gettext(
                'Cannot "%(event)s": the amendment is %(state)s. %(now)s',
                event=EVENT_LABELS[event],
                state=STATE_LABELS[state],
                now=now,
            )
        )


Target = State | Mapping[Outcome, State]
OUTCOME_EVENTS = frozenset({Event.RECORD_MEETING_RESULT, Event.CLOSE_BALLOT})
OPEN_STATES = {StageKind.MEETING_VOTE: State.MEETING_VOTE_OPEN, StageKind.BALLOT: State.BALLOT_OPEN}
PASSED_STATES = {StageKind.MEETING_VOTE: State.MEETING_VOTE_PASSED}
FINAL_STATES = frozenset({State.IN_EFFECT, State.FAILED, State.WITHDRAWN})
# From the first vote on, the text voted on is frozen and withdrawing is too late.
VOTING_STARTED_STATES = frozenset(State) - {
    State.DRAFT,
    State.SUBMITTED,
    State.ACKNOWLEDGED,
    State.DISCUSSION_SCHEDULED,
    State.WITHDRAWN,
}


@lru_cache(maxsize=64)
def transitions(procedure: Procedure) -> Mapping[tuple[State, Event], Target]:
    """Every legal (state, event) of `procedure` and where it leads; vote results fork."""
    table: dict[tuple[State, Event], Target] = {
        (State.DRAFT, Event.SUBMIT): State.SUBMITTED,
        (State.DRAFT, Event.WITHDRAW): State.WITHDRAWN,
        (State.SUBMITTED, Event.WITHDRAW): State.WITHDRAWN,
        (State.SUBMITTED, Event.ACKNOWLEDGE): State.ACKNOWLEDGED,
    }
    waiting = State.ACKNOWLEDGED
    votes_left = len(procedure.vote_stages)
    for stage in procedure.stages[1:]:
        if not has_voting_started(waiting):
            table[waiting, Event.WITHDRAW] = State.WITHDRAWN
        if stage.kind == StageKind.DISCUSSION:
            table[waiting, Event.SCHEDULE_DISCUSSION] = State.DISCUSSION_SCHEDULED
            # Moving the discussion to another meeting (one cancelled, or over without a vote).
            table[State.DISCUSSION_SCHEDULED, Event.SCHEDULE_DISCUSSION] = (
                State.DISCUSSION_SCHEDULED
            )
            waiting = State.DISCUSSION_SCHEDULED
        elif stage.kind in VOTE_KINDS:
            votes_left -= 1
            open_event, result_event = STAGE_EVENTS[stage.kind]
            open_state = OPEN_STATES[stage.kind]
            passed = PASSED_STATES[stage.kind] if votes_left else State.RATIFIED
            table[waiting, open_event] = open_state
            table[open_state, result_event] = MappingProxyType(
                {Outcome.PASSED: passed, Outcome.FAILED: State.FAILED}
            )
            waiting = passed
        elif stage.kind == StageKind.NOTICE:
            table[State.RATIFIED, Event.SEND_NOTICE] = State.IN_EFFECT
    return MappingProxyType(table)


def states(procedure: Procedure) -> tuple[State, ...]:
    """The states an amendment under `procedure` can be in, in the order of the path."""
    found: set[State] = set()
    for (state, _), target in transitions(procedure).items():
        found.add(state)
        found.update(target.values() if isinstance(target, Mapping) else (target,))
    return tuple(state for state in State if state in found)


def allowed_events(procedure: Procedure, state: State | str) -> tuple[Event, ...]:
    state = _state_of(procedure, state)
    table = transitions(procedure)
    return tuple(event for event in Event if (state, event) in table)


def next_state(
    procedure: Procedure,
    state: State | str,
    event: Event | str,
    *,
    outcome: Outcome | str | None = None,
) -> State:
    """The state after `event`; `outcome` (passed or failed) only with a vote's result."""
    state = _state_of(procedure, state)
    event = _known(Event, event, "event")
    target = transitions(procedure).get((state, event))
    if target is None:
        raise IllegalTransition(state, event, allowed_events(procedure, state))
    if not isinstance(target, Mapping):
        if outcome is not None:
            raise ValueError(f'"{event}" takes no outcome.')
        return target
    if outcome is None:
        raise ValueError(f'"{event}" needs an outcome: passed or failed.')
    return target[_known(Outcome, outcome, "outcome")]


def is_final(state: State | str) -> bool:
    return state in FINAL_STATES


def has_voting_started(state: State | str) -> bool:
    return state in VOTING_STARTED_STATES


def can_be_revised(state: State | str) -> bool:
    """Revising starts a new draft that links to this one; this one stays as it is."""
    return state in (State.FAILED, State.WITHDRAWN)


def _known(enum: type[E], value: object, what: str) -> E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise ValueError(f'There is no {what} "{value}"; the {what}s are: {known}.') from None


def _state_of(procedure: Procedure, state: State | str) -> State:
    state = _known(State, state, "state")
    if state not in states(procedure):
        raise ValueError(f'"{state}" is not a state of the {procedure.key} procedure.')
    return state


def what_happens_next(procedure: Procedure, state: State | str) -> str:
    """One or two plain sentences for the amendment page."""
    state = _state_of(procedure, state)
    if state == State.DRAFT:
        return gettext(
            "Only its proposer sees this draft and can still edit it, then submit it to a receiver."
        )
    if state == State.SUBMITTED:
        sentence = gettext("A receiver acknowledges the proposal.")
    elif state == State.MEETING_VOTE_OPEN:
        sentence = gettext("The meeting is voting on it; the chair records the result.")
        sentence += " " + _rule(procedure, procedure.stage(StageKind.MEETING_VOTE))
    elif state == State.BALLOT_OPEN:
        sentence = gettext(
            "The electronic ballot is open to all voting-eligible members until it closes."
        )
        sentence += " " + _rule(procedure, procedure.stage(StageKind.BALLOT))
    elif state == State.RATIFIED:
        sentence = gettext("It passed and is internally ratified.")
        sentence += " " + describe_stage(procedure, procedure.stages[-1])
    elif state == State.IN_EFFECT:
        sentence = gettext("It is in effect: the document has its new version.")
    elif state == State.FAILED:
        sentence = gettext("It did not pass. Its proposer may revise it and submit it again.")
    elif state == State.WITHDRAWN:
        sentence = gettext("It was withdrawn. Its proposer may revise it and submit it again.")
    else:
        table = transitions(procedure)
        opening = next(
            event
            for event in allowed_events(procedure, state)
            if event != Event.WITHDRAW and table[state, event] != state
        )
        stage = next(stage for stage in procedure.stages if opening in stage.actors)
        sentence = describe_stage(procedure, stage)
    if Event.WITHDRAW in allowed_events(procedure, state):
        sentence += " " + gettext("Its proposer may withdraw it until the first vote starts.")
    return sentence


def describe_stage(procedure: Procedure, stage: Stage) -> str:
    """What happens in `stage`, with the rule that decides a vote; for procedure pages too."""
    if stage.kind == StageKind.PROPOSAL:
        return gettext(
            "A member in good standing submits a proposal in writing to a receiver, "
            "who acknowledges it."
        )
    if stage.kind == StageKind.DISCUSSION:
        return gettext(
            "A receiver schedules its discussion at a meeting already planned "
            "or at a meeting of its own, and members are notified."
        )
    if stage.kind == StageKind.MEETING_VOTE:
        sentence = gettext(
            "It is discussed at the meeting, where the voting-eligible members present vote on it."
        )
        if stage.amendments_from_floor:
            sentence += " " + gettext("It may be adopted as amended from the floor.")
        return sentence + " " + _rule(procedure, stage)
    if stage.kind == StageKind.BALLOT:
        days = stage.duration.days if stage.duration else 0
        sentence = ngettext(
            "A receiver emails the ballot to all voting-eligible members; "
            "voting stays open for %(num)s day.",
            "A receiver emails the ballot to all voting-eligible members; "
            "voting stays open for %(num)s days.",
            days,
        )
        if stage.roll_call:
            sentence += " " + gettext(
                "It is a roll call: how each member votes is recorded and published."
            )
        else:
            sentence += " " + gettext("The ballot is secret.")
        return sentence + " " + _rule(procedure, stage)
    return gettext(
        "It goes into effect when a receiver sends the ratification notice to the membership."
    )


def _rule(procedure: Procedure, stage: Stage | None) -> str:
    assert stage is not None and stage.threshold is not None
    threshold = get_threshold(stage.threshold)
    sentence = str(threshold.description)
    if threshold.counts_votes_cast:
        if procedure.abstentions_count_as_cast:
            sentence += " " + gettext("Abstentions count as votes cast.")
        else:
            sentence += " " + gettext("Abstentions do not count as votes cast.")
    return sentence
