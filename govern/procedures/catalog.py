"""The procedures that ship, the settings an admin may adjust, and snapshots as JSON.

A running amendment keeps the procedure it started under: store `to_dict(procedure)`
with it and read it back with `from_dict`, which refuses anything it does not know.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from govern.procedures.stages import (
    STAGE_LABELS,
    VOTE_KINDS,
    Actor,
    Event,
    Procedure,
    ProcedureError,
    Stage,
    StageKind,
)

SCHEMA = 1
SETTINGS = (
    "meeting_vote_threshold",
    "ballot_threshold",
    "ballot_days",
    "amendments_from_floor",
    "abstentions_count_as_cast",
    "reminder_hours",
    "ballot_roll_call",
)

PROPOSAL = Stage(
    StageKind.PROPOSAL,
    {
        Event.SUBMIT: {Actor.PROPOSER},
        Event.WITHDRAW: {Actor.PROPOSER},
        Event.ACKNOWLEDGE: {Actor.RECEIVER},
    },
)
DISCUSSION = Stage(StageKind.DISCUSSION, {Event.SCHEDULE_DISCUSSION: {Actor.RECEIVER}})
NOTICE = Stage(StageKind.NOTICE, {Event.SEND_NOTICE: {Actor.RECEIVER}})
MEETING_VOTE_ACTORS = {
    Event.OPEN_MEETING_VOTE: {Actor.CHAIR},
    Event.RECORD_MEETING_RESULT: {Actor.CHAIR},
}
BALLOT = Stage(
    StageKind.BALLOT,
    {Event.OPEN_BALLOT: {Actor.RECEIVER}, Event.CLOSE_BALLOT: {Actor.SYSTEM}},
    threshold="majority_of_cast",
    duration=timedelta(days=7),
)

TEMPLATES: Mapping[str, Procedure] = MappingProxyType(
    {
        procedure.key: procedure
        for procedure in (
            Procedure(
                "two-stage",
                _l("Meeting vote, then electronic ballot"),
                _l(
                    "Discussed and voted on at a meeting by the members present, "
                    "then decided by an electronic ballot of all members."
                ),
                (
                    PROPOSAL,
                    DISCUSSION,
                    Stage(StageKind.MEETING_VOTE, MEETING_VOTE_ACTORS, "majority_of_present"),
                    BALLOT,
                    NOTICE,
                ),
            ),
            Procedure(
                "membership-vote",
                _l("Electronic ballot of the membership"),
                _l("A proposal goes straight to an electronic ballot of all members."),
                (PROPOSAL, BALLOT, NOTICE),
            ),
            Procedure(
                "convention",
                _l("Vote at a convention"),
                _l(
                    "Discussed and voted on at a convention or general meeting, "
                    "where it may be adopted as amended from the floor."
                ),
                (
                    PROPOSAL,
                    DISCUSSION,
                    # A convention adopts motions by a majority of the delegates voting;
                    # an organization that wants more chooses two_thirds_of_cast.
                    Stage(
                        StageKind.MEETING_VOTE,
                        MEETING_VOTE_ACTORS,
                        "majority_of_cast",
                        amendments_from_floor=True,
                    ),
                    NOTICE,
                ),
            ),
        )
    }
)
DEFAULT_PROCEDURE_KEY = "two-stage"


def get_template(key: str) -> Procedure:
    try:
        return TEMPLATES[key]
    except (KeyError, TypeError):
        raise ProcedureError(
            gettext(
                'There is no procedure "%(key)s"; choose one of: %(keys)s.',
                key=key,
                keys=", ".join(TEMPLATES),
            ),
            "key",
        ) from None


def is_customized(procedure: Procedure) -> bool:
    return procedure != get_template(procedure.key)


def customize(procedure: Procedure, **changes: Any) -> Procedure:
    """A copy of `procedure` with the SETTINGS in `changes`, each checked."""
    for name in changes:
        if name not in SETTINGS:
            raise ProcedureError(
                gettext(
                    '"%(name)s" cannot be changed; these can: %(settings)s.',
                    name=name,
                    settings=", ".join(SETTINGS),
                ),
                name,
            )
    stages = {stage.kind: stage for stage in procedure.stages}

    def change(kind: StageKind, setting: str, **fields: Any) -> None:
        if kind not in stages:
            raise ProcedureError(
                gettext("This procedure has no %(stage)s.", stage=STAGE_LABELS[kind]), setting
            )
        stages[kind] = replace(stages[kind], **fields)

    if "meeting_vote_threshold" in changes:
        threshold = changes["meeting_vote_threshold"]
        change(StageKind.MEETING_VOTE, "meeting_vote_threshold", threshold=threshold)
    if "ballot_threshold" in changes:
        change(StageKind.BALLOT, "ballot_threshold", threshold=changes["ballot_threshold"])
    if "ballot_days" in changes:
        days = _whole_number(changes["ballot_days"], "ballot_days")
        change(StageKind.BALLOT, "ballot_days", duration=timedelta(days=days))
    if "ballot_roll_call" in changes:
        roll_call = changes["ballot_roll_call"]
        change(StageKind.BALLOT, "ballot_roll_call", roll_call=roll_call)
    if "amendments_from_floor" in changes:
        floor = changes["amendments_from_floor"]
        change(StageKind.MEETING_VOTE, "amendments_from_floor", amendments_from_floor=floor)
    fields: dict[str, Any] = {"stages": tuple(stages.values())}
    if "abstentions_count_as_cast" in changes:
        fields["abstentions_count_as_cast"] = changes["abstentions_count_as_cast"]
    if "reminder_hours" in changes:
        hours = _whole_number(changes["reminder_hours"], "reminder_hours")
        fields["reminder_before_close"] = timedelta(hours=hours)
    return replace(procedure, **fields)


def to_dict(procedure: Procedure) -> dict[str, Any]:
    """A JSON-ready snapshot; `from_dict` gives back an equal procedure."""
    return {
        "schema": SCHEMA,
        "key": procedure.key,
        "abstentions_count_as_cast": procedure.abstentions_count_as_cast,
        "reminder_hours": procedure.reminder_before_close // timedelta(hours=1),
        "stages": [_stage_to_dict(stage) for stage in procedure.stages],
    }


def _stage_to_dict(stage: Stage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": stage.kind.value,
        "actors": {
            event.value: sorted(actor.value for actor in who) for event, who in stage.actors.items()
        },
    }
    if stage.kind in VOTE_KINDS:
        data["threshold"] = stage.threshold
    if stage.kind == StageKind.MEETING_VOTE:
        data["amendments_from_floor"] = stage.amendments_from_floor
    if stage.kind == StageKind.BALLOT and stage.duration is not None:
        data["duration_days"] = stage.duration.days
    if stage.roll_call:
        data["roll_call"] = True
    return data


def from_dict(data: object) -> Procedure:
    data = _with_keys(
        data, {"schema", "key", "abstentions_count_as_cast", "reminder_hours", "stages"}
    )
    if data["schema"] != SCHEMA:
        raise ProcedureError(
            gettext(
                "The procedure is stored in an unknown format: %(schema)s.", schema=data["schema"]
            )
        )
    template = get_template(data["key"])
    if not isinstance(data["stages"], list):
        raise ProcedureError(gettext("The stages of a procedure must be a list."), "stages")
    hours = _whole_number(data["reminder_hours"], "reminder_hours")
    return Procedure(
        template.key,
        template.name,
        template.description,
        tuple(_stage_from_dict(stage) for stage in data["stages"]),
        abstentions_count_as_cast=data["abstentions_count_as_cast"],
        reminder_before_close=timedelta(hours=hours),
    )


def _stage_from_dict(data: object) -> Stage:
    kind = data.get("kind") if isinstance(data, Mapping) else None
    kind = kind if isinstance(kind, str) else None
    expected = {"kind", "actors"}
    if kind in VOTE_KINDS:
        expected.add("threshold")
    if kind == StageKind.MEETING_VOTE:
        expected.add("amendments_from_floor")
    if kind == StageKind.BALLOT:
        expected.add("duration_days")
    # Snapshots from before roll-call ballots existed have no "roll_call": a secret ballot.
    optional = {"roll_call"} if kind == StageKind.BALLOT else set()
    data = _with_keys(data, expected | (optional & set(data)))
    actors = data["actors"]
    if not isinstance(actors, Mapping) or not all(isinstance(v, list) for v in actors.values()):
        raise ProcedureError(gettext("Who may act must be a list of actors per event."), "actors")
    duration = None
    if "duration_days" in data:
        duration = timedelta(days=_whole_number(data["duration_days"], "ballot_days"))
    return Stage(
        kind,
        actors,
        threshold=data.get("threshold"),
        duration=duration,
        amendments_from_floor=data.get("amendments_from_floor", False),
        roll_call=data.get("roll_call", False),
    )


def _with_keys(data: object, expected: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ProcedureError(gettext("A stored procedure must be a JSON object."))
    unknown = sorted(set(data) - expected)
    missing = sorted(expected - set(data))
    if unknown or missing:
        raise ProcedureError(
            gettext(
                "The stored procedure does not match: unknown %(unknown)s; missing %(missing)s.",
                unknown=", ".join(unknown) or "-",
                missing=", ".join(missing) or "-",
            )
        )
    return data


def _whole_number(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProcedureError(gettext("%(field)s must be a whole number.", field=field), field)
    return value
