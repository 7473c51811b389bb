"""Closing a ballot: counted once, by the worker at its time or by the first page opened
after it; then the traces of the order of voting are cleared from the database.

In PostgreSQL each vote holds a share lock on the ballot row (see `services.cast`), so the
conditional UPDATE that closes the ballot waits for votes in flight, and a vote after it
finds the ballot closed; SQLite runs one writer at a time. Nothing answered "recorded" is
left out of the tally.
"""

import time
from datetime import datetime

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import OperationalError

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
COUNTERS_LOCK_TIMEOUT = "500ms"


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
        forget_vote_order()  # the worker tries again if it cannot now
        return True
    db.session.rollback()
    db.session.refresh(ballot)
    return False


def close_due_ballots() -> int:
    """Close every ballot whose time is up, each in a transaction of its own (the worker)."""
    closed = 0
    failed: list[int] = []
    while True:
        now = clock.now()
        # No row lock: votes in flight hold a share lock on the ballot until they commit,
        # and the conditional UPDATE in close_ballot waits for them. Of two workers, the
        # second finds the ballot closed.
        query = (
            select(Ballot)
            .where(Ballot.closed_at.is_(None), Ballot.closes_at <= now, Ballot.id.not_in(failed))
            .order_by(Ballot.closes_at, Ballot.id)
            .limit(1)
        )
        ballot = db.session.scalar(query)
        if ballot is None:
            db.session.rollback()
            if failed:
                raise BallotError(f"ballots {failed} could not be closed; see the log")
            return closed
        try:
            if close_ballot(ballot):
                closed += 1
            db.session.commit()
        except (BallotError, RuntimeError, ValueError):
            # One ballot that cannot be counted must not keep the others open.
            db.session.rollback()
            current_app.logger.exception("ballot %s could not be closed", ballot.id)
            failed.append(ballot.id)


def forget_vote_order() -> int:
    """Clear what the database itself keeps of the order of votes on every closed ballot
    not cleared yet; gives how many were. Run after the closing commits, and by the worker
    each pass until it succeeds.

    PostgreSQL keeps each vote's old versions of the counter rows, stamped with the vote's
    transaction, which the voter's roll row also carries, until the table is rewritten:
    the small counters table is written afresh (holding it for milliseconds). SQLite keeps
    recent writes in order in its write-ahead log until a checkpoint empties it.
    """
    waiting = select(Ballot.id).where(
        Ballot.closed_at.is_not(None), Ballot.vote_order_cleared_at.is_(None)
    )
    ballot_ids = list(db.session.scalars(waiting))
    db.session.commit()
    if not ballot_ids:
        return 0
    started = clock.now()
    if is_postgresql():
        if not _rewrite_counters():
            return 0
        _mark_cleared(ballot_ids, started)
        return len(ballot_ids)
    # On SQLite the mark goes into the log too: written first, then the log is emptied.
    _mark_cleared(ballot_ids, started)
    if _empty_write_ahead_log():
        return len(ballot_ids)
    _mark_cleared(ballot_ids, None)
    return 0


def _mark_cleared(ballot_ids: list[int], at: datetime | None) -> None:
    db.session.execute(
        update(Ballot)
        .where(Ballot.id.in_(ballot_ids))
        .values(vote_order_cleared_at=at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _rewrite_counters() -> bool:
    """Replace the counters table's file with a fresh one holding only the current counts:
    TRUNCATE drops the old file, old row versions and all, whatever snapshots are open
    elsewhere (a VACUUM would have to keep what they may still read)."""
    table = BallotCount.__tablename__
    counts = select(BallotCount.ballot_id, BallotCount.choice, BallotCount.count).order_by(
        BallotCount.ballot_id, BallotCount.choice
    )
    try:
        with db.engine.begin() as connection:
            # Votes would queue behind the lock: if a long report reads the counters, give
            # up for now rather than hold up the voting.
            connection.execute(text(f"SET LOCAL lock_timeout = '{COUNTERS_LOCK_TIMEOUT}'"))
            connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            rows = [row._asdict() for row in connection.execute(counts)]
            connection.execute(text(f"TRUNCATE {table}"))
            if rows:
                connection.execute(insert(BallotCount), rows)
    except OperationalError as error:
        current_app.logger.warning("the counters could not be rewritten yet: %s", error.orig)
        return False
    return True


def _empty_write_ahead_log() -> bool:
    for _attempt in range(CHECKPOINT_ATTEMPTS):
        busy, _log, _moved = db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        db.session.commit()
        if not busy:
            return True
        time.sleep(0.1)
    current_app.logger.warning(
        "the write-ahead log could not be emptied after closing a ballot: readers kept it "
        "busy; the worker tries again"
    )
    return False


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
