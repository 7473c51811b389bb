"""Closing a ballot: counted once, by the worker at its time or by the first page opened
after it; then the traces of the order of voting are cleared from the database.

In PostgreSQL each vote holds a share lock on the ballot row (see `services.cast`), so the
conditional UPDATE that closes the ballot waits for votes in flight, and a vote after it
finds the ballot closed; SQLite runs one writer at a time. Nothing answered "recorded" is
left out of the tally.
"""

import time

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select, text, update

from govern import clock
from govern.amendments import services as amendments
from govern.ballots.models import (
    Ballot,
    BallotCount,
    BallotMailing,
    Choice,
    MailingKind,
    Receipt,
    RollEntry,
)
from govern.ballots.services import BallotError
from govern.database import is_postgresql
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.stages import StageKind

# Readers (a page being read) can keep SQLite's log busy for a moment.
CHECKPOINT_ATTEMPTS = 5


def close_ballot(ballot: Ballot) -> bool:
    """Count the ballot once it is due, exactly once: False when it was closed already
    (by the worker, or by a page opened after the closing time) or is not due yet."""
    now = clock.now()
    closed = db.session.execute(
        update(Ballot)
        .where(Ballot.id == ballot.id, Ballot.closed_at.is_(None), Ballot.closes_at <= now)
        .values(closed_at=now, passed=False, yes=0, no=0, abstain=0, voters=0)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:
        return False
    counts = dict(
        db.session.execute(
            select(BallotCount.choice, BallotCount.count).where(BallotCount.ballot_id == ballot.id)
        ).all()
    )
    voters = db.session.scalar(
        select(func.count())
        .select_from(RollEntry)
        .where(RollEntry.ballot_id == ballot.id, RollEntry.voted)
    )
    yes, no, abstain = (counts.get(choice.value, 0) for choice in Choice)
    if yes + no + abstain != voters:
        # Cannot happen while votes and counts change in one transaction; if it ever did,
        # no result is better than a wrong one.
        raise RuntimeError(
            f"ballot {ballot.id}: {yes + no + abstain} choices counted for {voters} voters"
        )
    amendment = ballot.amendment
    decision = amendment.procedure.decide(
        StageKind.BALLOT, yes=yes, no=no, abstain=abstain, members=ballot.roll_size
    )
    db.session.execute(
        update(Ballot)
        .where(Ballot.id == ballot.id)
        .values(
            yes=yes,
            no=no,
            abstain=abstain,
            voters=voters,
            passed=decision.passed,
            rule=decision.rule,
            arithmetic=decision.arithmetic,
        )
        .execution_options(synchronize_session=False)
    )
    # Rewritten in this transaction, the counters no longer carry the transaction of the
    # last vote for each choice (PostgreSQL's xmin), which a roll row also carries.
    db.session.execute(
        update(BallotCount)
        .where(BallotCount.ballot_id == ballot.id)
        .values(count=BallotCount.count)
        .execution_options(synchronize_session=False)
    )
    note = gettext(
        "%(voters)s of %(roll)s members voted. %(arithmetic)s",
        voters=voters,
        roll=ballot.roll_size,
        arithmetic=decision.arithmetic,
    )
    amendments.record_ballot_result(amendment, decision.passed, note)
    db.session.add(BallotMailing(ballot_id=ballot.id, kind=MailingKind.RESULT, requested_at=now))
    db.session.flush()
    db.session.refresh(ballot)
    return True


def close_if_due(ballot: Ballot) -> bool:
    """Close a ballot whose time is up, for a page opened before the worker came by."""
    if ballot.closed_at is not None or clock.now() < ballot.closes_at:
        return False
    if close_ballot(ballot):
        db.session.commit()
        forget_vote_order()
        return True
    db.session.rollback()
    db.session.refresh(ballot)
    return False


def close_due_ballots() -> int:
    """Close every ballot whose time is up, each in a transaction of its own (the worker)."""
    closed = 0
    while True:
        now = clock.now()
        # No row lock: votes in flight hold a share lock on the ballot until they commit,
        # and the conditional UPDATE in close_ballot waits for them. Of two workers, the
        # second finds the ballot closed.
        query = (
            select(Ballot)
            .where(Ballot.closed_at.is_(None), Ballot.closes_at <= now)
            .order_by(Ballot.closes_at, Ballot.id)
            .limit(1)
        )
        ballot = db.session.scalar(query)
        if ballot is None:
            db.session.rollback()
            return closed
        if close_ballot(ballot):
            closed += 1
        db.session.commit()
        forget_vote_order()


def forget_vote_order() -> None:
    """Clear what the database itself keeps of the order of votes, once the counting is
    committed.

    PostgreSQL keeps each vote's old version of its counter row, stamped with the vote's
    transaction, which the voter's roll row also carries, until the table is rewritten:
    VACUUM FULL rewrites the small counters table (holding it for milliseconds). SQLite
    keeps recent writes in order in its write-ahead log until a checkpoint empties it.
    """
    if is_postgresql():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"VACUUM FULL {BallotCount.__tablename__}"))
        return
    for _attempt in range(CHECKPOINT_ATTEMPTS):
        busy, _log, _moved = db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        db.session.commit()
        if not busy:
            return
        time.sleep(0.1)
    current_app.logger.warning(
        "the write-ahead log could not be emptied after closing a ballot: readers kept it "
        "busy; the next closing, or SQLite's own checkpoint, empties it"
    )


# Results ---------------------------------------------------------------------------------


def receipt_codes(ballot: Ballot) -> list[str]:
    """Every receipt counted, in alphabetical order: an order that says nothing."""
    statement = select(Receipt.code).where(Receipt.ballot_id == ballot.id).order_by(Receipt.code)
    return list(db.session.scalars(statement))


def roll_call(ballot: Ballot) -> list[tuple[Member, str | None]]:
    """How each member voted, on a roll-call ballot only."""
    if not ballot.roll_call:
        raise BallotError(gettext("This ballot is secret."))
    statement = (
        select(Member, RollEntry.choice)
        .join(RollEntry, RollEntry.member_id == Member.id)
        .where(RollEntry.ballot_id == ballot.id)
        .order_by(Member.name, Member.id)
    )
    return [(member, choice) for member, choice in db.session.execute(statement).all()]
