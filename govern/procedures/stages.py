"""A procedure as data: its stages, their thresholds and durations, who moves each one."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import TypeVar

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from govern.procedures.thresholds import THRESHOLDS, Decision, Tally

BALLOT_DAYS = range(1, 61)
E = TypeVar("E", bound=StrEnum)


class ProcedureError(ValueError):
    """A procedure or a change to one that the rules refuse.

    `field` names the setting (as `customize` spells it) the message is about.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StageKind(StrEnum):
    # Declared in the only order stages may follow one another.
    PROPOSAL = "proposal"
    DISCUSSION = "discussion"
    MEETING_VOTE = "meeting_vote"
    BALLOT = "ballot"
    NOTICE = "notice"


STAGE_LABELS = {
    StageKind.PROPOSAL: _l("proposal"),
    StageKind.DISCUSSION: _l("discussion"),
    StageKind.MEETING_VOTE: _l("meeting vote"),
    StageKind.BALLOT: _l("electronic ballot"),
    StageKind.NOTICE: _l("ratification notice"),
}
VOTE_KINDS = frozenset({StageKind.MEETING_VOTE, StageKind.BALLOT})


class Event(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    ACKNOWLEDGE = "acknowledge"
    SCHEDULE_DISCUSSION = "schedule_discussion"
    OPEN_MEETING_VOTE = "open_meeting_vote"
    RECORD_MEETING_RESULT = "record_meeting_result"
    OPEN_BALLOT = "open_ballot"
    CLOSE_BALLOT = "close_ballot"
    SEND_NOTICE = "send_notice"


STAGE_EVENTS: Mapping[StageKind, tuple[Event, ...]] = MappingProxyType(
    {
        StageKind.PROPOSAL: (Event.SUBMIT, Event.WITHDRAW, Event.ACKNOWLEDGE),
        StageKind.DISCUSSION: (Event.SCHEDULE_DISCUSSION,),
        StageKind.MEETING_VOTE: (Event.OPEN_MEETING_VOTE, Event.RECORD_MEETING_RESULT),
        StageKind.BALLOT: (Event.OPEN_BALLOT, Event.CLOSE_BALLOT),
        StageKind.NOTICE: (Event.SEND_NOTICE,),
    }
)


class Actor(StrEnum):
    """Who may fire an event; receiver and chair are the member roles of the same name."""

    PROPOSER = "proposer"
    RECEIVER = "receiver"
    CHAIR = "chair"
    # The worker, by the clock: a ballot closes exactly at its closes_at, not by hand.
    SYSTEM = "system"


@dataclass(frozen=True)
class Stage:
    kind: StageKind
    actors: Mapping[Event, frozenset[Actor]]
    threshold: str | None = None
    duration: timedelta | None = None
    amendments_from_floor: bool = False
    # A roll-call ballot records and publishes how each member voted; a ballot is secret
    # unless the procedure says so.
    roll_call: bool = False

    def __post_init__(self) -> None:
        kind = _enum(StageKind, self.kind, gettext("stage kind"))
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "actors", _checked_actors(kind, self.actors))
        if kind in VOTE_KINDS:
            _check_threshold(kind, self.threshold)
        elif self.threshold is not None:
            raise ProcedureError(gettext("Only a vote has a threshold."), "threshold")
        if kind == StageKind.BALLOT:
            _check_ballot_duration(self.duration)
        elif self.duration is not None:
            raise ProcedureError(gettext("Only a ballot has a duration."), "ballot_days")
        _check_bool(self.amendments_from_floor, "amendments_from_floor")
        if self.amendments_from_floor and kind != StageKind.MEETING_VOTE:
            raise ProcedureError(
                gettext("Only a meeting vote can take amendments from the floor."),
                "amendments_from_floor",
            )
        _check_bool(self.roll_call, "ballot_roll_call")
        if self.roll_call and kind != StageKind.BALLOT:
            raise ProcedureError(
                gettext("Only an electronic ballot can be a roll call."), "ballot_roll_call"
            )

    def __hash__(self) -> int:
        actors = tuple(sorted((event, tuple(sorted(who))) for event, who in self.actors.items()))
        return hash(
            (
                self.kind,
                actors,
                self.threshold,
                self.duration,
                self.amendments_from_floor,
                self.roll_call,
            )
        )

    def actors_for(self, event: Event) -> frozenset[Actor]:
        return self.actors.get(event, frozenset())


@dataclass(frozen=True)
class Procedure:
    """Identified by `key`; name and description are labels and take no part in equality."""

    key: str
    name: LazyString | str = field(compare=False)
    description: LazyString | str = field(compare=False)
    stages: tuple[Stage, ...]
    abstentions_count_as_cast: bool = False
    reminder_before_close: timedelta = timedelta(hours=48)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        _check_order([stage.kind for stage in self.stages])
        _check_bool(self.abstentions_count_as_cast, "abstentions_count_as_cast")
        _check_reminder(self.reminder_before_close, self.stage(StageKind.BALLOT))

    def stage(self, kind: StageKind) -> Stage | None:
        return next((stage for stage in self.stages if stage.kind == kind), None)

    @property
    def vote_stages(self) -> tuple[Stage, ...]:
        return tuple(stage for stage in self.stages if stage.kind in VOTE_KINDS)

    def decide(
        self,
        kind: StageKind,
        *,
        yes: int,
        no: int,
        abstain: int,
        eligible_present: int | None = None,
        members: int | None = None,
    ) -> Decision:
        """The result of the `kind` vote by its threshold and this procedure's abstention rule."""
        stage = self.stage(kind)
        if stage is None or stage.threshold is None:
            raise ProcedureError(
                gettext("This procedure has no %(stage)s.", stage=STAGE_LABELS[kind])
            )
        tally = Tally(
            yes,
            no,
            abstain,
            eligible_present=eligible_present,
            members=members,
            abstentions_count_as_cast=self.abstentions_count_as_cast,
        )
        return THRESHOLDS[stage.threshold].decide(tally)

    def actors_for(self, event: Event) -> frozenset[Actor]:
        """Who may fire `event` under this procedure; empty when no stage of it has the event."""
        return frozenset().union(*(stage.actors_for(event) for stage in self.stages))


def _enum(enum: type[E], value: object, what: str) -> E:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise ProcedureError(
            gettext(
                'There is no %(what)s "%(value)s"; choose one of: %(known)s.',
                what=what,
                value=value,
                known=known,
            )
        ) from None


def _check_bool(value: object, field: str) -> None:
    if not isinstance(value, bool):
        raise ProcedureError(gettext("%(field)s must be true or false.", field=field), field)


def _checked_actors(kind: StageKind, actors: object) -> Mapping[Event, frozenset[Actor]]:
    if not isinstance(actors, Mapping):
        raise ProcedureError(gettext("Who may act must be given per event."), "actors")
    checked = {
        _enum(Event, event, gettext("event")): frozenset(
            _enum(Actor, actor, gettext("actor")) for actor in who
        )
        for event, who in actors.items()
    }
    expected = set(STAGE_EVENTS[kind])
    if set(checked) != expected or not all(checked.values()):
        raise ProcedureError(
            gettext(
                "A %(kind)s stage names who may act for exactly these events: %(events)s.",
                kind=kind.value,
                events=", ".join(STAGE_EVENTS[kind]),
            ),
            "actors",
        )
    return MappingProxyType(checked)


def _check_threshold(kind: StageKind, threshold: object) -> None:
    field = f"{kind.value}_threshold"
    rule = THRESHOLDS.get(threshold) if isinstance(threshold, str) else None
    if rule is None:
        raise ProcedureError(
            gettext(
                'There is no threshold rule "%(value)s"; choose one of: %(rules)s.',
                value=threshold,
                rules=", ".join(THRESHOLDS),
            ),
            field,
        )
    if kind not in rule.stage_kinds:
        raise ProcedureError(
            gettext(
                "%(rule)s needs the attendance of a meeting; a ballot has none.",
                rule=rule.name,
            ),
            field,
        )


def _check_ballot_duration(duration: object) -> None:
    if (
        not isinstance(duration, timedelta)
        or duration % timedelta(days=1)
        or duration.days not in BALLOT_DAYS
    ):
        raise ProcedureError(
            gettext(
                "A ballot stays open a whole number of days, from %(min)s to %(max)s.",
                min=BALLOT_DAYS.start,
                max=BALLOT_DAYS.stop - 1,
            ),
            "ballot_days",
        )


def _check_reminder(reminder: object, ballot: Stage | None) -> None:
    longest = ballot.duration if ballot and ballot.duration else timedelta(days=BALLOT_DAYS[-1])
    if (
        not isinstance(reminder, timedelta)
        or reminder % timedelta(hours=1)
        or not timedelta(0) <= reminder < longest
    ):
        raise ProcedureError(
            gettext(
                "The reminder goes out a whole number of hours before the ballot closes, "
                "from 0 (no reminder) to less than the %(hours)s hours the ballot is open.",
                hours=int(longest / timedelta(hours=1)),
            ),
            "reminder_hours",
        )


def _check_order(kinds: list[StageKind]) -> None:
    order = list(StageKind)
    is_ordered = all(order.index(a) < order.index(b) for a, b in pairwise(kinds))
    has_votes = any(kind in VOTE_KINDS for kind in kinds)
    meeting_is_scheduled = StageKind.MEETING_VOTE not in kinds or StageKind.DISCUSSION in kinds
    if not (
        kinds
        and kinds[0] == StageKind.PROPOSAL
        and kinds[-1] == StageKind.NOTICE
        and is_ordered
        and has_votes
        and meeting_is_scheduled
    ):
        raise ProcedureError(
            gettext(
                "A procedure runs proposal, then optionally discussion, then a meeting vote "
                "(which needs the discussion meeting), a ballot or both, then notice; "
                "each stage at most once."
            ),
            "stages",
        )
