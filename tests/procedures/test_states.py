"""The amendment state machine, walked through every template by table."""

import pytest

from govern.procedures.catalog import TEMPLATES, customize
from govern.procedures.stages import Event, Procedure, StageKind
from govern.procedures.states import (
    IllegalTransition,
    Outcome,
    State,
    allowed_events,
    can_be_revised,
    describe_stage,
    has_voting_started,
    is_final,
    next_state,
    states,
    transitions,
    what_happens_next,
)

WITHDRAWN_EARLY = [
    "withdraw -> withdrawn",
    "submit, withdraw -> withdrawn",
    "submit, acknowledge, withdraw -> withdrawn",
]
# Every legal path from a draft to a final state, written out by hand: "event" or
# "event:outcome", then the state the path ends in.
# The discussion may move to another meeting once (a loop the walk takes at most once).
MOVED = "submit, acknowledge, schedule_discussion, schedule_discussion, "
PATHS = {
    "two-stage": [
        "submit, acknowledge, schedule_discussion, open_meeting_vote, "
        "record_meeting_result:passed, open_ballot, close_ballot:passed, send_notice -> in_effect",
        "submit, acknowledge, schedule_discussion, open_meeting_vote, "
        "record_meeting_result:passed, open_ballot, close_ballot:failed -> failed",
        "submit, acknowledge, schedule_discussion, open_meeting_vote, "
        "record_meeting_result:failed -> failed",
        *WITHDRAWN_EARLY,
        "submit, acknowledge, schedule_discussion, withdraw -> withdrawn",
        MOVED + "open_meeting_vote, record_meeting_result:passed, open_ballot, "
        "close_ballot:passed, send_notice -> in_effect",
        MOVED + "open_meeting_vote, record_meeting_result:passed, open_ballot, "
        "close_ballot:failed -> failed",
        MOVED + "open_meeting_vote, record_meeting_result:failed -> failed",
        MOVED + "withdraw -> withdrawn",
    ],
    "membership-vote": [
        "submit, acknowledge, open_ballot, close_ballot:passed, send_notice -> in_effect",
        "submit, acknowledge, open_ballot, close_ballot:failed -> failed",
        *WITHDRAWN_EARLY,
    ],
    "convention": [
        "submit, acknowledge, schedule_discussion, open_meeting_vote, "
        "record_meeting_result:passed, send_notice -> in_effect",
        "submit, acknowledge, schedule_discussion, open_meeting_vote, "
        "record_meeting_result:failed -> failed",
        *WITHDRAWN_EARLY,
        "submit, acknowledge, schedule_discussion, withdraw -> withdrawn",
        MOVED + "open_meeting_vote, record_meeting_result:passed, send_notice -> in_effect",
        MOVED + "open_meeting_vote, record_meeting_result:failed -> failed",
        MOVED + "withdraw -> withdrawn",
    ],
}


def _steps(path: str) -> tuple[list[tuple[str, str | None]], str]:
    moves, end = path.split(" -> ")
    steps = []
    for move in moves.split(", "):
        event, _, outcome = move.partition(":")
        steps.append((event, outcome or None))
    return steps, end


def _walk(key: str, path: str) -> list[tuple[State, str, str | None]]:
    """Walk `path`, asserting it ends where it says; return the (state, event, outcome) taken."""
    procedure = TEMPLATES[key]
    steps, end = _steps(path)
    state, taken = State.DRAFT, []
    for event, outcome in steps:
        taken.append((state, event, outcome))
        state = next_state(procedure, state, event, outcome=outcome)
    assert state == end
    assert is_final(state)
    return taken


def _legal_pairs(key: str) -> set[tuple[State, str]]:
    return {(state, event) for path in PATHS[key] for state, event, _ in _walk(key, path)}


def _all_paths(key: str) -> set[str]:
    """Every path the machine allows, enumerated from its own table."""
    procedure, found = TEMPLATES[key], set()

    def explore(state: State, moves: list[str]) -> None:
        if is_final(state):
            found.add(f"{', '.join(moves)} -> {state}")
        for event in allowed_events(procedure, state):
            is_vote_result = event in (Event.RECORD_MEETING_RESULT, Event.CLOSE_BALLOT)
            for outcome in list(Outcome) if is_vote_result else [None]:
                move = f"{event}:{outcome}" if outcome else event
                after = next_state(procedure, state, event, outcome=outcome)
                if after == state and moves.count(move) > 1:
                    continue  # a loop, such as moving the discussion, taken once
                explore(after, [*moves, move])

    explore(State.DRAFT, [])
    return found


ALL_WALKS = [(key, path) for key, paths in PATHS.items() for path in paths]
LEGAL_PAIRS = {key: _legal_pairs(key) for key in PATHS}
ILLEGAL_MOVES = [
    (key, state, event)
    for key in PATHS
    for state in states(TEMPLATES[key])
    for event in Event
    if (state, event) not in LEGAL_PAIRS[key]
]


@pytest.mark.parametrize(("key", "path"), ALL_WALKS)
def test_every_legal_path_reaches_its_end(key, path):
    _walk(key, path)


@pytest.mark.parametrize("key", PATHS)
def test_the_table_lists_every_path_the_procedure_allows(key):
    assert _all_paths(key) == set(PATHS[key])
    assert set(transitions(TEMPLATES[key])) == LEGAL_PAIRS[key]


@pytest.mark.parametrize(("key", "state", "event"), ILLEGAL_MOVES)
def test_every_other_move_is_illegal(key, state, event):
    procedure = TEMPLATES[key]
    with pytest.raises(IllegalTransition) as refused:
        next_state(procedure, state, event, outcome=Outcome.PASSED)
    assert refused.value.state == state
    assert refused.value.event == event
    assert refused.value.allowed == allowed_events(procedure, state)


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("two-stage", ["draft", "submitted", "acknowledged", "discussion_scheduled",
                       "meeting_vote_open", "meeting_vote_passed", "ballot_open", "ratified",
                       "in_effect"]),
        ("membership-vote", ["draft", "submitted", "acknowledged", "ballot_open", "ratified",
                             "in_effect"]),
        ("convention", ["draft", "submitted", "acknowledged", "discussion_scheduled",
                        "meeting_vote_open", "ratified", "in_effect"]),
    ],
)  # fmt: skip
def test_the_stages_of_the_procedure_decide_the_path(key, path):
    taken = _walk(key, PATHS[key][0])
    assert [state for state, _, _ in taken] + ["in_effect"] == path


def test_the_illegal_move_message_says_what_is_allowed_now():
    with pytest.raises(IllegalTransition) as refused:
        next_state(TEMPLATES["membership-vote"], State.ACKNOWLEDGED, Event.OPEN_MEETING_VOTE)
    assert str(refused.value) == (
        'Cannot "Open the meeting vote": the amendment is acknowledged. '
        'Possible now: "Withdraw", "Open the ballot".'
    )


def test_a_final_state_says_nothing_more_can_happen():
    with pytest.raises(IllegalTransition, match="Nothing more can happen to it"):
        next_state(TEMPLATES["two-stage"], State.IN_EFFECT, Event.SEND_NOTICE)


@pytest.mark.parametrize("key", PATHS)
def test_withdraw_is_refused_once_the_first_vote_has_started(key):
    procedure = TEMPLATES[key]
    for state in states(procedure):
        may_withdraw = Event.WITHDRAW in allowed_events(procedure, state)
        assert may_withdraw is (not has_voting_started(state) and not is_final(state))


@pytest.mark.parametrize(
    ("key", "state", "event"),
    [
        ("two-stage", State.MEETING_VOTE_OPEN, Event.RECORD_MEETING_RESULT),
        ("membership-vote", State.BALLOT_OPEN, Event.CLOSE_BALLOT),
    ],
)
def test_a_vote_result_needs_an_outcome(key, state, event):
    with pytest.raises(ValueError, match="needs an outcome: passed or failed"):
        next_state(TEMPLATES[key], state, event)
    with pytest.raises(ValueError, match='no outcome "maybe"'):
        next_state(TEMPLATES[key], state, event, outcome="maybe")


def test_other_moves_take_no_outcome():
    with pytest.raises(ValueError, match='"submit" takes no outcome'):
        next_state(TEMPLATES["two-stage"], State.DRAFT, Event.SUBMIT, outcome=Outcome.PASSED)


def test_outcome_follows_a_decision():
    assert Outcome.of(True) == Outcome.PASSED
    assert Outcome.of(False) == Outcome.FAILED


def test_a_state_the_procedure_does_not_have_is_an_error_not_a_move():
    with pytest.raises(ValueError, match="not a state of the membership-vote procedure"):
        next_state(TEMPLATES["membership-vote"], State.MEETING_VOTE_OPEN, Event.WITHDRAW)
    with pytest.raises(ValueError, match='no state "archived"'):
        allowed_events(TEMPLATES["two-stage"], "archived")
    with pytest.raises(ValueError, match='no event "approve"'):
        next_state(TEMPLATES["two-stage"], State.DRAFT, "approve")


@pytest.mark.parametrize(
    ("state", "is_revisable"),
    [(state, state in (State.FAILED, State.WITHDRAWN)) for state in State],
)
def test_only_failed_or_withdrawn_amendments_can_be_revised(state, is_revisable):
    assert can_be_revised(state) is is_revisable


@pytest.mark.parametrize(("key", "state"), [(k, s) for k in PATHS for s in states(TEMPLATES[k])])
def test_every_state_says_what_happens_next(key, state):
    assert what_happens_next(TEMPLATES[key], state).endswith(".")


@pytest.mark.parametrize(
    ("key", "state", "expected"),
    [
        ("two-stage", "acknowledged", "A receiver schedules its discussion"),
        ("two-stage", "discussion_scheduled", "members present vote yes. Members present who"),
        ("two-stage", "meeting_vote_passed", "voting stays open for 7 days"),
        ("two-stage", "ballot_open", "Abstentions do not count as votes cast."),
        ("membership-vote", "acknowledged", "A receiver emails the ballot"),
        ("convention", "discussion_scheduled", "adopted as amended from the floor"),
        ("convention", "ratified", "when a receiver sends the ratification notice"),
        ("convention", "failed", "may revise it and submit it again"),
        ("two-stage", "submitted", "may withdraw it until the first vote starts"),
    ],
)
def test_what_happens_next_follows_the_procedure(key, state, expected):
    assert expected in what_happens_next(TEMPLATES[key], state)


def test_what_happens_next_reflects_adjusted_settings():
    adjusted = customize(TEMPLATES["membership-vote"], ballot_days=1, reminder_hours=0)
    adjusted = customize(adjusted, abstentions_count_as_cast=True)
    sentence = what_happens_next(adjusted, State.ACKNOWLEDGED)
    assert "voting stays open for 1 day." in sentence
    assert "Abstentions count as votes cast." in sentence


def test_every_stage_can_be_described_for_the_procedure_page():
    procedure = TEMPLATES["two-stage"]
    sentences = [describe_stage(procedure, stage) for stage in procedure.stages]
    assert len(set(sentences)) == len(procedure.stages)
    assert "more than half of the votes cast" in describe_stage(
        procedure, procedure.stage(StageKind.BALLOT)
    )


def test_a_procedure_with_discussion_then_ballot_opens_the_ballot_after_the_meeting():
    two_stage = TEMPLATES["two-stage"]
    stages = tuple(stage for stage in two_stage.stages if stage.kind != StageKind.MEETING_VOTE)
    procedure = Procedure("two-stage", two_stage.name, two_stage.description, stages)
    assert next_state(procedure, State.DISCUSSION_SCHEDULED, Event.OPEN_BALLOT) == State.BALLOT_OPEN
    assert Event.WITHDRAW in allowed_events(procedure, State.DISCUSSION_SCHEDULED)
    assert next_state(procedure, State.BALLOT_OPEN, "close_ballot", outcome="passed") == "ratified"
    assert State.MEETING_VOTE_PASSED not in states(procedure)
