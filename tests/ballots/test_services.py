"""Opening, casting, closing: the ballot's rules at the level of its services."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from govern.ballots import closing, running
from govern.ballots import services as ballots
from govern.ballots.models import BallotCount, Receipt, RollEntry
from govern.extensions import db
from govern.procedures.stages import StageKind
from govern.procedures.states import State
from tests.ballots.conftest import entry_of
from tests.governance import PROPOSED


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
        code = ballots.cast(entry_of(ballot, member), choice).receipt
        db.session.commit()
        assert len(code) == 14
    with pytest.raises(ballots.BallotError, match="already voted"):
        ballots.cast(entry_of(ballot, voters[0]), "no")
    db.session.rollback()
    clock.advance(days=7)
    assert closing.close_due_ballots() == 1
    db.session.refresh(ballot)
    assert (ballot.yes, ballot.no, ballot.abstain, ballot.voters) == (3, 1, 1, 5)
    assert ballot.passed is True
    assert "3 > " in ballot.arithmetic or "3 yes" in ballot.arithmetic
    assert ballot.amendment.state == State.RATIFIED
    assert len(closing.receipt_codes(ballot)) == 5
    assert closing.close_due_ballots() == 0


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


def close_now(ballot, clock):
    clock.current = ballot.closes_at
    assert closing.close_due_ballots() == 1
    db.session.refresh(ballot)


@pytest.mark.parametrize(
    ("choices", "passed", "state"),
    [
        (["yes", "no"], False, State.FAILED),  # a tie fails
        (["yes", "abstain", "abstain"], True, State.RATIFIED),  # 1 > 0: abstentions not cast
        ([], False, State.FAILED),  # nobody voted
    ],
)
def test_the_result_follows_the_rule_of_votes_cast(ballot, voters, clock, choices, passed, state):
    for member, choice in zip(voters, choices, strict=False):
        ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
    close_now(ballot, clock)
    assert ballot.passed is passed
    assert ballot.amendment.state == state
    assert ballot.voters == len(choices)


def test_abstentions_count_as_cast_when_the_procedure_says_so(ready, receiver, voters, clock):
    ready.procedure_snapshot = ready.procedure_snapshot.replace(
        '"abstentions_count_as_cast": false', '"abstentions_count_as_cast": true'
    )
    db.session.commit()
    ballot = ballots.open_ballot(ready, receiver)
    db.session.commit()
    for member, choice in zip(voters, ["yes", "abstain", "abstain"], strict=False):
        ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
    close_now(ballot, clock)
    assert ballot.passed is False  # 1 yes is not more than half of 3 votes cast
    assert "abstentions counted as votes cast" in ballot.arithmetic


def test_a_member_suspended_after_the_roll_froze_still_votes_and_a_late_joiner_does_not(
    ballot, voters, make_member
):
    voters[0].standing = "suspended"
    db.session.commit()
    ballots.cast(entry_of(ballot, voters[0]), "yes")
    db.session.commit()
    late = make_member(name="Late Joiner")
    assert ballots.entry_for_member(ballot, late) is None


def test_only_another_receiver_opens_the_ballot_and_only_once(
    membership_vote, proposer, receiver, make_member, voters
):
    from govern.amendments import services as amendments
    from govern.amendments.errors import AmendmentError
    from govern.procedures.states import IllegalTransition
    from tests.governance import PROPOSED

    other = make_member(name="Oda Other Receiver", roles=["receiver"])
    own = amendments.start_draft(receiver, membership_vote, "Mine", "Because.", PROPOSED)
    amendments.submit(own, receiver)
    amendments.acknowledge(own, other)
    db.session.commit()
    with pytest.raises(AmendmentError, match="Another receiver opens the ballot"):
        ballots.open_ballot(own, receiver)
    db.session.rollback()
    with pytest.raises(AmendmentError, match="receiver"):
        ballots.open_ballot(own, voters[0])
    db.session.rollback()
    ballots.open_ballot(own, other)
    db.session.commit()
    with pytest.raises(IllegalTransition):
        ballots.open_ballot(own, other)


def test_the_timeline_records_opening_reminders_and_result_and_never_a_choice(
    ballot, voters, receiver, clock
):
    for member, choice in zip(voters, ["yes", "no", "yes"], strict=False):
        ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
    clock.advance(days=2)
    running.remind(ballot, receiver)
    db.session.commit()
    close_now(ballot, clock)
    events = ballot.amendment.events
    notes = {event.event: event.note for event in events}
    assert f"{ballot.roll_size} members" in notes["open_ballot"]
    assert ballot.roll_fingerprint in notes["open_ballot"]
    assert notes["ballot_reminder"] == "Reminder to the members who have not voted yet."
    assert "3 of 8 members voted" in notes["close_ballot"]
    assert ballot.arithmetic in notes["close_ballot"]
    voter_ids = {member.id for member in voters}
    assert not [event for event in events if event.actor_id in voter_ids]


def test_a_reminder_waits_a_day_after_the_last_and_the_automatic_one_goes_once(
    ballot, receiver, clock
):
    from govern.ballots.models import BallotMailing

    running.remind(ballot, receiver)
    db.session.commit()
    clock.advance(hours=23)
    with pytest.raises(ballots.BallotError, match="less than 24 hours"):
        running.remind(ballot, receiver)
    db.session.rollback()
    clock.current = ballot.closes_at - timedelta(hours=48)
    assert running.start_due_reminders() == 1
    assert running.start_due_reminders() == 0
    kinds = db.session.scalars(select(BallotMailing.kind).order_by(BallotMailing.id)).all()
    assert kinds == ["reminder", "reminder"]
    clock.current = ballot.closes_at
    with pytest.raises(ballots.BallotError, match="closed"):
        running.remind(ballot, receiver)


def test_a_new_link_replaces_the_old_one_at_once(ballot, voters):
    from tests.ballots.conftest import give_token

    entry = entry_of(ballot, voters[0])
    token = give_token(entry)
    entry.mail_status = "sent"
    db.session.commit()
    assert ballots.entry_for_token(token).id == entry.id
    running.request_new_link(entry)
    db.session.commit()
    assert ballots.entry_for_token(token) is None
    db.session.refresh(entry)
    assert entry.mail_status == "pending"
    with pytest.raises(ballots.BallotError, match="on its way"):
        running.request_new_link(entry)


def test_a_page_opened_after_the_closing_time_counts_the_ballot_once(ballot, voters, clock):
    ballots.cast(entry_of(ballot, voters[0]), "yes")
    db.session.commit()
    assert not closing.close_if_due(ballot)
    clock.current = ballot.closes_at
    assert closing.close_if_due(ballot)
    assert not closing.close_if_due(ballot)
    assert closing.close_due_ballots() == 0
    assert ballot.passed is True and ballot.voters == 1


def test_a_roll_call_ballot_records_and_shows_each_members_choice(
    membership_vote, submitted, receiver, voters, make_member, clock
):
    from govern.amendments import services as amendments

    admin = make_member(name="Ida Admin", roles=["admin"])
    amendments.set_procedure(membership_vote, "membership-vote", admin, ballot_roll_call=True)
    db.session.commit()
    # The procedure is copied at submission: this proposal keeps the secret ballot.
    assert not submitted.procedure.stage(StageKind.BALLOT).roll_call
    draft = amendments.start_draft(voters[0], membership_vote, "Roll call", "Why.", PROPOSED)
    amendments.submit(draft, voters[0])
    amendments.acknowledge(draft, receiver)
    db.session.commit()
    ballot = ballots.open_ballot(draft, receiver)
    db.session.commit()
    assert ballot.roll_call
    ballots.cast(entry_of(ballot, voters[1]), "no")
    db.session.commit()
    choices = {member.id: choice for member, choice in closing.roll_call(ballot)}
    assert choices[voters[1].id] == "no"
    assert choices[voters[2].id] is None


def test_a_ballot_that_cannot_be_counted_does_not_keep_the_others_open(
    ballot, ready, receiver, voters, clock, membership_vote
):
    from govern.amendments import services as amendments
    from govern.ballots.models import Ballot

    other = amendments.start_draft(voters[0], membership_vote, "Other", "Why.", PROPOSED)
    amendments.submit(other, voters[0])
    amendments.acknowledge(other, receiver)
    db.session.commit()
    second = ballots.open_ballot(other, receiver)
    ready.state = State.FAILED  # broken by hand: its result has nowhere to go
    db.session.commit()
    clock.advance(days=8)
    with pytest.raises(ballots.BallotError, match=rf"ballots \[{ballot.id}\]"):
        closing.close_due_ballots()
    db.session.expire_all()
    assert db.session.get(Ballot, second.id).closed_at is not None
    assert db.session.get(Ballot, ballot.id).closed_at is None


def test_the_automatic_reminder_is_skipped_a_day_after_a_receivers_own(ballot, receiver, clock):
    from govern.ballots.models import BallotMailing

    clock.current = ballot.closes_at - timedelta(hours=49)
    running.remind(ballot, receiver)
    db.session.commit()
    clock.advance(hours=1)
    assert running.start_due_reminders() == 0
    assert len(db.session.scalars(select(BallotMailing)).all()) == 1
    assert running.start_due_reminders() == 0  # and it does not come back later
