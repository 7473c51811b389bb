"""Reminders and results: queued through the outbox in batches, each member once."""

from collections import Counter

import pytest
import sqlalchemy as sa

from govern.ballots import closing, mailings, running
from govern.ballots import services as ballots
from govern.ballots.distribution import distribute_ballots
from govern.ballots.mailings import queue_mailings
from govern.ballots.models import Ballot, BallotMailing, MailingKind, RollEntry
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import Member
from tests.ballots.conftest import entry_of, token_in

REMINDER = "Reminder: please vote on Patience"


def queued_to() -> Counter:
    """How many reminders and results each address has in the outbox."""
    db.session.rollback()
    return Counter(
        db.session.scalars(
            sa.select(OutboxMessage.recipient).where(
                OutboxMessage.subject.startswith("Reminder")
                | OutboxMessage.subject.startswith("Ballot result")
            )
        )
    )


def reminder_to(recipient: str) -> str:
    [body] = db.session.scalars(
        sa.select(OutboxMessage.body_text).filter_by(recipient=recipient, subject=REMINDER)
    )
    return body


def the_mailing(kind: MailingKind) -> BallotMailing:
    db.session.rollback()
    return db.session.scalar(sa.select(BallotMailing).filter_by(kind=kind))


def everyone() -> dict[str, Member]:
    return {member.email: member for member in db.session.scalars(sa.select(Member))}


def test_a_reminder_goes_only_to_members_who_have_not_voted_and_carries_no_voting_link(
    ballot, voters, receiver, smtp_config, clock
):
    distribute_ballots()  # on 1 March
    tokens = [token_in(email) for email in smtp_config.messages]
    for member in voters[:2]:
        ballots.cast(entry_of(ballot, member), "yes")
        db.session.commit()
    clock.advance(days=2)
    running.remind(ballot, receiver)
    db.session.commit()

    assert queue_mailings().queued == ballot.roll_size - 2
    assert queued_to() == Counter(set(everyone()) - {voters[0].email, voters[1].email})
    body = reminder_to(voters[2].email)
    assert "Sunday, March 8, 2026" in body and "2026-03-08 12:00 UTC" in body
    assert "your ballot mail of March 1, 2026" in body
    assert f"http://govern.test/ballots/{ballot.id}\n" in body and "new link" in body
    assert "/ballots/vote" not in body
    outbox = "\n".join(db.session.scalars(sa.select(OutboxMessage.body_text)))
    assert not any(token in outbox for token in tokens)
    mailing = the_mailing(MailingKind.REMINDER)
    assert mailing.done_at is not None and mailing.queued == ballot.roll_size - 2


def test_who_has_voted_is_read_batch_by_batch(ballot, voters, receiver):
    running.remind(ballot, receiver)
    db.session.commit()
    mailings._queue_batch(the_mailing(MailingKind.REMINDER), batch_size=2)
    member_ids = sorted(db.session.scalars(sa.select(RollEntry.member_id).filter_by(ballot=ballot)))
    late_voter = db.session.get(Member, member_ids[-1])
    ballots.cast(entry_of(ballot, late_voter), "no")
    db.session.commit()
    queue_mailings(batch_size=2)
    assert late_voter.email not in queued_to()
    assert sum(queued_to().values()) == ballot.roll_size - 1


def test_a_reminder_still_waiting_when_the_ballot_closes_is_not_sent(ballot, receiver, clock):
    running.remind(ballot, receiver)
    db.session.commit()
    clock.advance(days=7)
    assert queue_mailings().queued == 0
    assert the_mailing(MailingKind.REMINDER).done_at is not None
    assert queued_to() == Counter()


def test_the_result_reaches_the_roll_and_every_member_in_good_standing_once_even_if_run_twice(
    app, ballot, voters, make_member, smtp_config, clock
):
    make_member(name="New Member", email="new@example.org")
    make_member(name="Lapsed Member", email="lapsed@example.org", standing="lapsed")
    voters[4].standing = "suspended"  # after opening: still on the roll
    db.session.commit()
    for member, choice in zip(voters[:3], ["yes", "yes", "no"], strict=True):
        ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
    clock.advance(days=7)
    # The worker ends its session: what the test needs afterwards is read now.
    ballot_id, first_voter, suspended = ballot.id, voters[0].email, voters[4].email

    for _ in range(2):
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
        assert result.exit_code == 0, result.output
    results = [
        email for email in smtp_config.messages if email["Subject"].startswith("Ballot result")
    ]
    expected = set(everyone()) - {"lapsed@example.org"}
    assert Counter(email["To"] for email in results) == Counter(expected)
    assert "new@example.org" in expected and suspended in expected

    body = next(email.get_content() for email in results if email["To"] == first_voter)
    assert results[0]["Subject"] == "Ballot result: Patience passed"
    assert "Result: the amendment passed." in body
    assert "Yes: 2. No: 1. Abstain: 0." in body
    assert "3 of the 8 members on the roll voted (turnout 38%)" in body
    ballot = db.session.get(Ballot, ballot_id)
    assert f"The count: {ballot.arithmetic}" in body
    assert "The rule: The vote passes if more than half of the votes cast are yes" in body
    assert f"http://govern.test/ballots/{ballot_id}" in body.splitlines()
    assert "receipt code" in body


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_mailing_interrupted_between_batches_resumes_after_the_last_member_queued(
    ballot, clock, monkeypatch
):
    clock.advance(days=7)
    closing.close_due_ballots()
    queue_mail = mailings.queue_mail
    calls = Counter()

    def fail_on_the_fifth(*args, **kwargs):
        calls["queued"] += 1
        if calls["queued"] == 5:
            raise RuntimeError("the worker dies in the second batch")
        return queue_mail(*args, **kwargs)

    monkeypatch.setattr(mailings, "queue_mail", fail_on_the_fifth)
    with pytest.raises(RuntimeError):
        queue_mailings(batch_size=3)
    db.session.rollback()
    mailing = the_mailing(MailingKind.RESULT)
    first_three = sorted(everyone().values(), key=lambda member: member.id)[:3]
    assert (mailing.queued, mailing.after_member_id) == (3, first_three[-1].id)
    assert queued_to() == Counter(member.email for member in first_three)

    assert queue_mailings(batch_size=3).queued == ballot.roll_size - 3
    assert queued_to() == Counter(set(everyone()))
    assert the_mailing(MailingKind.RESULT).done_at is not None


def test_the_worker_sends_the_automatic_reminder_once_when_the_procedure_says(
    app, ballot, smtp_config, clock
):
    roll_size = ballot.roll_size
    clock.advance(days=4)
    app.test_cli_runner().invoke(args=["worker", "--once"])  # the ballot mails
    ballot_mails = [
        email for email in smtp_config.messages if email["Subject"].startswith("Ballot:")
    ]
    assert len(ballot_mails) == roll_size
    clock.advance(days=1)  # 48 hours before the close
    outputs = [app.test_cli_runner().invoke(args=["worker", "--once"]).output for _ in range(2)]
    assert "reminders started: 1" in outputs[0] and "reminders started" not in outputs[1]
    reminders = [email for email in smtp_config.messages if email["Subject"].startswith("Reminder")]
    assert len(reminders) == len({email["To"] for email in reminders}) == roll_size
