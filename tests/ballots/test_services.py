"""Opening, casting, closing: the ballot's rules at the level of its services."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from govern.ballots import services as ballots
from govern.ballots.models import BallotCount, Receipt, RollEntry
from govern.extensions import db
from govern.procedures.states import State
from tests.ballots.conftest import entry_of


def test_opening_freezes_the_roll_of_eligible_members_and_closes_exactly_a_week_later(
    ballot, ready, voters, clock, make_member
):
    make_member(name="Late Joiner")  # after opening: not on the roll
    member_ids = sorted(db.session.scalars(select(RollEntry.member_id).filter_by(ballot=ballot)))
    assert ballot.roll_size == len(member_ids) == len(voters) + 3  # + proposer, receiver, admin
    assert ballot.roll_fingerprint == ballots.roll_fingerprint(member_ids)
    assert ballot.closes_at - ballot.opened_at == timedelta(days=7)
    assert ballot.opened_at == clock.current
    assert ready.state == State.BALLOT_OPEN
    assert ready.is_frozen
    assert "fingerprint " + ballot.roll_fingerprint in ready.events[-1].note


def test_a_vote_is_counted_once_and_the_tally_decides_by_votes_cast(ballot, voters, clock):
    for member, choice in zip(voters, ["yes", "yes", "no", "abstain", "yes"], strict=True):
        code = ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
        assert len(code) == 14
    with pytest.raises(ballots.BallotError, match="already voted"):
        ballots.cast(entry_of(ballot, voters[0]), "no")
    db.session.rollback()
    clock.advance(days=7)
    assert ballots.close_due_ballots() == 1
    db.session.refresh(ballot)
    assert (ballot.yes, ballot.no, ballot.abstain, ballot.voters) == (3, 1, 1, 5)
    assert ballot.passed is True
    assert "3 > " in ballot.arithmetic or "3 yes" in ballot.arithmetic
    assert ballot.amendment.state == State.RATIFIED
    assert len(ballots.receipt_codes(ballot)) == 5
    assert ballots.close_due_ballots() == 0


def test_after_the_closing_time_no_vote_is_taken(ballot, voters, clock):
    clock.advance(days=7)
    with pytest.raises(ballots.BallotError, match="closed"):
        ballots.cast(entry_of(ballot, voters[0]), "yes")
    db.session.rollback()
    counts = db.session.scalars(select(BallotCount.count).filter_by(ballot_id=ballot.id)).all()
    assert counts == [0, 0, 0]
    assert db.session.scalars(select(Receipt)).all() == []


def test_the_ballot_mail_carries_the_link_rule_closing_time_and_redline(ballot, voters):
    from govern.ballots.mail import ballot_mail

    subject, body = ballot_mail(ballot, voters[0], "T0KEN")
    assert subject == "Ballot: Patience"
    assert "http://govern.test/ballots/vote#T0KEN" in body
    assert "Be kind[+ and patient+]." in body or "[+and patient+]" in body
    assert "UTC" in body and "more than half of the votes cast" in body
    _, preview = ballot_mail(ballot, None, None)
    assert "[your personal voting link]" in preview and "T0KEN" not in preview
