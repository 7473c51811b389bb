"""Under two-stage, the ballot follows the meeting vote: only a passed vote opens it, and
members vote on the text the meeting voted on."""

from datetime import timedelta

import pytest

from govern.amendments.errors import AmendmentError
from govern.ballots import services as ballots
from govern.extensions import db
from govern.meetings import votes
from govern.meetings.models import VoteMode
from govern.procedures.states import IllegalTransition, State


def test_a_passed_meeting_vote_lets_a_receiver_open_the_ballot_on_the_frozen_text(
    item, chair, receiver, check_in, clock
):
    amendment = item.amendment
    check_in(item, 3)
    vote = votes.open_vote(item, chair, VoteMode.HAND_COUNT)
    votes.record_hand_count(vote, chair, 2, 1, 0)
    db.session.commit()
    frozen = amendment.frozen_text
    assert ballots.is_waiting_for_ballot(amendment)
    clock.advance(days=1)
    ballot = ballots.open_ballot(amendment, receiver)
    db.session.commit()
    assert amendment.state == State.BALLOT_OPEN
    assert amendment.frozen_text == frozen
    assert ballot.closes_at == clock.current + timedelta(days=7)
    assert not ballots.is_waiting_for_ballot(amendment)


def test_no_ballot_before_the_meeting_vote_passed(item, chair, receiver, check_in):
    amendment = item.amendment
    assert not ballots.is_waiting_for_ballot(amendment)
    with pytest.raises(IllegalTransition, match="Open the ballot"):
        ballots.open_ballot(amendment, receiver)
    db.session.rollback()
    check_in(item, 3)
    vote = votes.open_vote(item, chair, VoteMode.HAND_COUNT)
    votes.record_hand_count(vote, chair, 1, 2, 0)
    db.session.commit()
    assert amendment.state == State.FAILED
    with pytest.raises(IllegalTransition):
        ballots.open_ballot(amendment, receiver)


def test_a_chair_who_is_not_a_receiver_cannot_open_the_ballot(item, chair, check_in):
    check_in(item, 3)
    vote = votes.open_vote(item, chair, VoteMode.HAND_COUNT)
    votes.record_hand_count(vote, chair, 3, 0, 0)
    db.session.commit()
    with pytest.raises(AmendmentError, match="receiver"):
        ballots.open_ballot(item.amendment, chair)
