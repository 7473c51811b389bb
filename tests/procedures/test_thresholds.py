"""Threshold rules decide votes with exact arithmetic and say how they decided."""

from fractions import Fraction

import pytest
from flask_babel.speaklater import LazyString

from govern import create_app
from govern.procedures.thresholds import (
    THRESHOLDS,
    Tally,
    TallyError,
    decide,
    format_number,
    get_threshold,
)


@pytest.mark.parametrize(
    ("present", "yes", "no", "abstain", "passes"),
    [
        (25, 13, 12, 0, True),
        (25, 12, 13, 0, False),
        (24, 13, 11, 0, True),
        (24, 12, 12, 0, False),  # exactly half is not more than half
        (24, 12, 0, 0, False),  # the 12 silent members count against
        (25, 12, 5, 8, False),  # more yes than no, but abstentions count against
        (25, 12, 0, 0, False),
        (25, 25, 0, 0, True),
        (1, 1, 0, 0, True),
        (1, 0, 0, 1, False),
    ],
)
def test_meeting_vote_needs_majority_of_eligible_members_present(present, yes, no, abstain, passes):
    tally = Tally(yes, no, abstain, eligible_present=present)
    assert decide("majority_of_present", tally).passed is passes


@pytest.mark.parametrize(
    ("yes", "no", "abstain", "abstentions_count", "passes"),
    [
        (31, 20, 4, False, True),
        (31, 20, 4, True, True),
        (10, 10, 0, False, False),  # a tie fails
        (11, 10, 0, False, True),
        (10, 9, 2, False, True),  # not counted: 10 > 9.5
        (10, 9, 2, True, False),  # counted: 10 is not more than 10.5
        (1, 0, 100, False, True),  # not counted: yes > no is enough
        (1, 0, 100, True, False),
        (0, 0, 4, False, False),  # nobody cast a vote
        (0, 0, 0, False, False),
    ],
)
def test_ballot_needs_majority_of_votes_cast(yes, no, abstain, abstentions_count, passes):
    tally = Tally(yes, no, abstain, abstentions_count_as_cast=abstentions_count)
    assert decide("majority_of_cast", tally).passed is passes


@pytest.mark.parametrize(
    ("yes", "no", "abstain", "abstentions_count", "passes"),
    [
        (20, 10, 0, False, True),  # exactly two-thirds passes (Robert's Rules: at least)
        (19, 11, 0, False, False),
        (19, 10, 1, False, False),  # 2/3 of 29 = 19 1/3
        (19, 10, 1, True, False),  # 2/3 of 30 = 20
        (20, 10, 5, False, True),
        (20, 10, 5, True, False),  # 2/3 of 35 = 23 1/3
        (2, 1, 0, False, True),
        (1, 0, 0, False, True),
        (0, 0, 3, False, False),
        (0, 0, 0, False, False),  # 0 >= 0 must not pass
    ],
)
def test_two_thirds_needs_at_least_two_thirds_of_votes_cast(
    yes, no, abstain, abstentions_count, passes
):
    tally = Tally(yes, no, abstain, abstentions_count_as_cast=abstentions_count)
    assert decide("two_thirds_of_cast", tally).passed is passes


@pytest.mark.parametrize(
    ("members", "yes", "no", "passes"),
    [
        (25, 13, 0, True),  # those who did not vote count against, but 13 is enough
        (25, 12, 0, False),
        (24, 12, 0, False),
        (24, 13, 11, True),
        (0, 0, 0, False),
    ],
)
def test_majority_of_members_counts_every_voting_eligible_member(members, yes, no, passes):
    assert decide("majority_of_members", Tally(yes, no, 0, members=members)).passed is passes


@pytest.mark.parametrize(
    ("rule", "tally", "arithmetic"),
    [
        (
            "majority_of_present",
            Tally(14, 6, 3, eligible_present=25),
            "14 yes of 25 eligible members present: 14 > 12.5, passes",
        ),
        (
            "majority_of_present",
            Tally(12, 12, 0, eligible_present=24),
            "12 yes of 24 eligible members present: 12 is not more than 12, fails",
        ),
        (
            "majority_of_present",
            Tally(0, 0, 0, eligible_present=0),
            "No eligible members present: fails",
        ),
        (
            "majority_of_cast",
            Tally(31, 20, 4),
            "31 yes, 20 no, 4 abstain; abstentions not counted as votes cast; "
            "51 votes cast: 31 > 25.5, passes",
        ),
        (
            "majority_of_cast",
            Tally(31, 20, 4, abstentions_count_as_cast=True),
            "31 yes, 20 no, 4 abstain; abstentions counted as votes cast; "
            "55 votes cast: 31 > 27.5, passes",
        ),
        (
            "majority_of_cast",
            Tally(10, 10, 0),
            "10 yes, 10 no; 20 votes cast: 10 is not more than 10, fails",
        ),
        (
            "majority_of_cast",
            Tally(0, 0, 4),
            "0 yes, 0 no, 4 abstain; abstentions not counted as votes cast; no votes cast: fails",
        ),
        (
            "two_thirds_of_cast",
            Tally(20, 10, 0),
            "20 yes, 10 no; 30 votes cast; 2/3 of 30 = 20: 20 ≥ 20, passes",
        ),
        (
            "two_thirds_of_cast",
            Tally(19, 10, 1),
            "19 yes, 10 no, 1 abstain; abstentions not counted as votes cast; 29 votes cast; "
            "2/3 of 29 = 19 1/3: 19 is less than 19 1/3, fails",
        ),
        (
            "majority_of_members",
            Tally(13, 2, 1, members=25),
            "13 yes of 25 voting-eligible members: 13 > 12.5, passes",
        ),
        ("majority_of_cast", Tally(1, 0, 0), "1 yes, 0 no; 1 vote cast: 1 > 0.5, passes"),
    ],
)
def test_decision_states_its_rule_and_arithmetic(rule, tally, arithmetic):
    decision = decide(rule, tally)
    assert decision.rule == rule
    assert decision.arithmetic == arithmetic


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(12), "12"), (Fraction(25, 2), "12.5"), (Fraction(1, 2), "0.5"),
     (Fraction(62, 3), "20 2/3"), (Fraction(2, 3), "2/3"), (Fraction(0), "0")],
)  # fmt: skip
def test_numbers_show_halves_as_decimals_and_thirds_as_fractions(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("make_tally", "message"),
    [
        (lambda: Tally(-1, 0, 0), "yes cannot be negative"),
        (lambda: Tally(0, 0, -2), "abstain cannot be negative"),
        (lambda: Tally(1, 0, 0, members=-1), "members cannot be negative"),
        (lambda: Tally(True, 0, 0), "yes must be a whole number"),
        (lambda: Tally(1.0, 0, 0), "yes must be a whole number"),
        (
            lambda: Tally(14, 8, 5, eligible_present=25),
            "14 yes, 8 no and 5 abstain make 27 votes, more than the 25 eligible members present",
        ),
        (
            lambda: Tally(14, 8, 5, members=20),
            "make 27 votes, more than the 20 voting-eligible members",
        ),
        (lambda: Tally(1, 0, 0, eligible_present=30, members=20), "More eligible members present"),
    ],
)
def test_impossible_counts_are_refused_with_a_clear_message(make_tally, message):
    with pytest.raises(TallyError, match=message):
        make_tally()


def test_majority_of_present_needs_the_attendance():
    with pytest.raises(TallyError, match="number of eligible members present"):
        decide("majority_of_present", Tally(3, 1, 0))


def test_majority_of_members_needs_the_number_of_members():
    with pytest.raises(TallyError, match="number of voting-eligible members"):
        decide("majority_of_members", Tally(3, 1, 0))


def test_an_unknown_rule_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="majority_of_present, majority_of_cast"):
        get_threshold("unanimity")


def test_attendance_rule_applies_only_to_meeting_votes():
    assert THRESHOLDS["majority_of_present"].stage_kinds == {"meeting_vote"}
    assert THRESHOLDS["majority_of_cast"].stage_kinds == {"meeting_vote", "ballot"}


def test_rule_descriptions_are_translatable_and_read_in_a_request():
    assert all(isinstance(rule.description, LazyString) for rule in THRESHOLDS.values())
    app = create_app(
        {
            "TESTING": True,
            "GOVERN_ENV": "development",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    with app.test_request_context():
        description = str(THRESHOLDS["majority_of_present"].description)
        decision = decide("majority_of_cast", Tally(3, 1, 0))
    assert description.startswith("The vote passes if more than half of the voting-eligible")
    assert "count against" in description
    assert decision.arithmetic == "3 yes, 1 no; 4 votes cast: 3 > 2, passes"
