"""Procedures ship as templates; admins adjust them within limits; snapshots round-trip."""

import json
from datetime import timedelta

import pytest

from govern.procedures.catalog import (
    DEFAULT_PROCEDURE_KEY,
    TEMPLATES,
    customize,
    from_dict,
    get_template,
    is_customized,
    to_dict,
)
from govern.procedures.stages import Actor, Event, Procedure, ProcedureError, StageKind

TWO_STAGE = TEMPLATES["two-stage"]
MEMBERSHIP_VOTE = TEMPLATES["membership-vote"]
CONVENTION = TEMPLATES["convention"]


@pytest.mark.parametrize(
    ("key", "kinds", "thresholds"),
    [
        (
            "two-stage",
            ["proposal", "discussion", "meeting_vote", "ballot", "notice"],
            ["majority_of_present", "majority_of_cast"],
        ),
        ("membership-vote", ["proposal", "ballot", "notice"], ["majority_of_cast"]),
        ("convention", ["proposal", "discussion", "meeting_vote", "notice"], ["majority_of_cast"]),
    ],
)
def test_templates_have_their_stages_and_thresholds(key, kinds, thresholds):
    procedure = get_template(key)
    assert [stage.kind for stage in procedure.stages] == kinds
    assert [stage.threshold for stage in procedure.vote_stages] == thresholds
    assert procedure.abstentions_count_as_cast is False
    assert procedure.reminder_before_close == timedelta(hours=48)


def test_the_default_procedure_is_scores_two_stage_process():
    assert DEFAULT_PROCEDURE_KEY == "two-stage"
    assert TWO_STAGE.stage(StageKind.BALLOT).duration == timedelta(days=7)


def test_only_the_convention_takes_amendments_from_the_floor():
    assert CONVENTION.stage(StageKind.MEETING_VOTE).amendments_from_floor is True
    assert TWO_STAGE.stage(StageKind.MEETING_VOTE).amendments_from_floor is False


@pytest.mark.parametrize(
    ("event", "actors"),
    [
        (Event.SUBMIT, {Actor.PROPOSER}),
        (Event.WITHDRAW, {Actor.PROPOSER}),
        (Event.ACKNOWLEDGE, {Actor.RECEIVER}),
        (Event.SCHEDULE_DISCUSSION, {Actor.RECEIVER}),
        (Event.OPEN_MEETING_VOTE, {Actor.CHAIR}),
        (Event.RECORD_MEETING_RESULT, {Actor.CHAIR}),
        (Event.OPEN_BALLOT, {Actor.RECEIVER}),
        (Event.CLOSE_BALLOT, {Actor.SYSTEM}),
        (Event.SEND_NOTICE, {Actor.RECEIVER}),
    ],
)
def test_who_may_act_is_part_of_the_procedure(event, actors):
    assert TWO_STAGE.actors_for(event) == actors


def test_nobody_may_open_a_stage_the_procedure_does_not_have():
    assert MEMBERSHIP_VOTE.actors_for(Event.OPEN_MEETING_VOTE) == frozenset()


def test_procedure_decides_a_vote_by_its_stage_rule_and_abstention_setting():
    counted = customize(MEMBERSHIP_VOTE, abstentions_count_as_cast=True)
    assert MEMBERSHIP_VOTE.decide(StageKind.BALLOT, yes=10, no=9, abstain=2).passed
    assert not counted.decide(StageKind.BALLOT, yes=10, no=9, abstain=2).passed
    meeting = TWO_STAGE.decide(StageKind.MEETING_VOTE, yes=12, no=5, abstain=3, eligible_present=25)
    assert meeting.rule == "majority_of_present"
    assert not meeting.passed


def test_admin_may_adjust_every_setting():
    adjusted = customize(
        TWO_STAGE,
        meeting_vote_threshold="two_thirds_of_cast",
        ballot_threshold="majority_of_members",
        ballot_days=14,
        amendments_from_floor=True,
        abstentions_count_as_cast=True,
        reminder_hours=24,
    )
    assert adjusted.stage(StageKind.MEETING_VOTE).threshold == "two_thirds_of_cast"
    assert adjusted.stage(StageKind.MEETING_VOTE).amendments_from_floor is True
    assert adjusted.stage(StageKind.BALLOT).threshold == "majority_of_members"
    assert adjusted.stage(StageKind.BALLOT).duration == timedelta(days=14)
    assert adjusted.abstentions_count_as_cast is True
    assert adjusted.reminder_before_close == timedelta(hours=24)
    assert is_customized(adjusted)
    assert not is_customized(TWO_STAGE)
    assert TWO_STAGE.stage(StageKind.BALLOT).duration == timedelta(days=7)


@pytest.mark.parametrize(
    ("procedure", "changes", "field", "message"),
    [
        (TWO_STAGE, {"quorum": 10}, "quorum", '"quorum" cannot be changed'),
        (TWO_STAGE, {"ballot_threshold": "unanimity"}, "ballot_threshold", "no threshold rule"),
        (TWO_STAGE, {"ballot_threshold": "majority_of_present"}, "ballot_threshold", "a ballot"),
        (TWO_STAGE, {"meeting_vote_threshold": None}, "meeting_vote_threshold", "no threshold"),
        (TWO_STAGE, {"ballot_days": 0}, "ballot_days", "from 1 to 60"),
        (TWO_STAGE, {"ballot_days": 61}, "ballot_days", "from 1 to 60"),
        (TWO_STAGE, {"ballot_days": "7"}, "ballot_days", "whole number"),
        (TWO_STAGE, {"ballot_days": 7.5}, "ballot_days", "whole number"),
        (TWO_STAGE, {"ballot_days": True}, "ballot_days", "whole number"),
        (CONVENTION, {"ballot_days": 3}, "ballot_days", "has no electronic ballot"),
        (
            MEMBERSHIP_VOTE,
            {"meeting_vote_threshold": "majority_of_cast"},
            "meeting_vote_threshold",
            "no meeting vote",
        ),
        (
            MEMBERSHIP_VOTE,
            {"amendments_from_floor": True},
            "amendments_from_floor",
            "no meeting vote",
        ),
        (
            TWO_STAGE,
            {"abstentions_count_as_cast": "yes"},
            "abstentions_count_as_cast",
            "true or false",
        ),
        (TWO_STAGE, {"amendments_from_floor": 1}, "amendments_from_floor", "true or false"),
        (TWO_STAGE, {"reminder_hours": -1}, "reminder_hours", "from 0"),
        (TWO_STAGE, {"reminder_hours": 168}, "reminder_hours", "less than the 168 hours"),
        (TWO_STAGE, {"ballot_days": 1}, "reminder_hours", "less than the 24 hours"),
    ],
)
def test_customizing_refuses_bad_settings_with_a_clear_message(procedure, changes, field, message):
    with pytest.raises(ProcedureError, match=message) as refused:
        customize(procedure, **changes)
    assert refused.value.field == field


def test_a_ballot_of_one_day_works_with_a_shorter_reminder():
    adjusted = customize(TWO_STAGE, ballot_days=1, reminder_hours=0)
    assert adjusted.stage(StageKind.BALLOT).duration == timedelta(days=1)


@pytest.mark.parametrize(
    "procedure",
    [
        *TEMPLATES.values(),
        customize(TWO_STAGE, ballot_days=10, reminder_hours=6, abstentions_count_as_cast=True),
        customize(CONVENTION, meeting_vote_threshold="two_thirds_of_cast"),
    ],
    ids=lambda procedure: procedure.key,
)
def test_a_snapshot_round_trips_exactly_through_json(procedure):
    stored = json.loads(json.dumps(to_dict(procedure)))
    restored = from_dict(stored)
    assert restored == procedure
    assert to_dict(restored) == stored
    assert str(restored.name) == str(procedure.name)


def test_a_running_amendment_keeps_its_procedure_whatever_the_template_becomes():
    snapshot = to_dict(customize(TWO_STAGE, ballot_days=3))
    assert from_dict(snapshot).stage(StageKind.BALLOT).duration == timedelta(days=3)


def _snapshot(**changes):
    data = to_dict(TWO_STAGE)
    data.update(changes)
    return data


def _with_stage(index: int, **changes):
    data = to_dict(TWO_STAGE)
    data["stages"][index].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        (_snapshot(quorum=3), "unknown quorum"),
        ({k: v for k, v in to_dict(TWO_STAGE).items() if k != "stages"}, "missing stages"),
        (_snapshot(schema=2), "unknown format"),
        (_snapshot(key="bylaws-2019"), 'no procedure "bylaws-2019"'),
        (_snapshot(stages="proposal"), "must be a list"),
        (_snapshot(reminder_hours="48"), "whole number"),
        (_snapshot(abstentions_count_as_cast=None), "true or false"),
        (_with_stage(3, threshold="unanimity"), 'no threshold rule "unanimity"'),
        (_with_stage(3, threshold="majority_of_present"), "a ballot has none"),
        (_with_stage(3, duration_days=0), "from 1 to 60"),
        (_with_stage(3, color="red"), "unknown color"),
        (_with_stage(0, threshold="majority_of_cast"), "unknown threshold"),
        (_with_stage(0, kind="petition"), 'no stage kind "petition"'),
        (_with_stage(4, actors={"send_notice": ["everyone"]}), 'no actor "everyone"'),
        (_with_stage(4, actors={"send_notice": "receiver"}), "list of actors"),
        (_with_stage(4, actors={"send_notice": []}), "exactly these events: send_notice"),
        (_with_stage(4, actors={"open_ballot": ["receiver"]}), "exactly these events"),
        (_snapshot(stages=to_dict(TWO_STAGE)["stages"][::-1]), "runs proposal"),
        (_snapshot(stages=to_dict(TWO_STAGE)["stages"][:-1]), "runs proposal"),
    ],
)
def test_a_snapshot_with_anything_unknown_or_invalid_is_refused(data, message):
    with pytest.raises(ProcedureError, match=message):
        from_dict(data)


@pytest.mark.parametrize(
    ("kinds", "is_valid"),
    [
        (["proposal", "ballot", "notice"], True),
        (["proposal", "discussion", "ballot", "notice"], True),
        (["proposal", "discussion", "meeting_vote", "notice"], True),
        (["proposal", "meeting_vote", "notice"], False),  # a meeting vote needs its meeting
        (["proposal", "discussion", "notice"], False),  # no vote at all
        (["proposal", "ballot"], False),  # no notice
        (["ballot", "notice"], False),  # no proposal
        (["proposal", "ballot", "ballot", "notice"], False),
        (["proposal", "discussion", "ballot", "meeting_vote", "notice"], False),
    ],
)
def test_stages_follow_one_order_each_at_most_once(kinds, is_valid):
    stages_by_kind = {stage.kind: stage for stage in TWO_STAGE.stages}
    stages = tuple(stages_by_kind[kind] for kind in kinds)
    if is_valid:
        assert Procedure("custom", "Custom", "", stages).stages == stages
    else:
        with pytest.raises(ProcedureError, match="runs proposal"):
            Procedure("custom", "Custom", "", stages)


def test_a_ballot_is_secret_unless_the_procedure_makes_it_a_roll_call():
    secret = get_template("two-stage")
    assert not secret.stage(StageKind.BALLOT).roll_call
    roll_call = customize(secret, ballot_roll_call=True)
    assert roll_call.stage(StageKind.BALLOT).roll_call
    assert from_dict(json.loads(json.dumps(to_dict(roll_call)))) == roll_call
    assert roll_call != secret
    with pytest.raises(ProcedureError, match="no electronic ballot") as error:
        customize(get_template("convention"), ballot_roll_call=True)
    assert error.value.field == "ballot_roll_call"
    with pytest.raises(ProcedureError, match="true or false"):
        customize(secret, ballot_roll_call="sometimes")


def test_a_snapshot_from_before_roll_call_ballots_reads_as_a_secret_ballot():
    data = to_dict(get_template("membership-vote"))
    assert all("roll_call" not in stage for stage in data["stages"])
    assert not from_dict(data).stage(StageKind.BALLOT).roll_call
