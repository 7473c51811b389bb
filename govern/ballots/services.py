"""Opening a ballot, casting a vote, closing and counting, reminders and new links.

Like the other services these check the actor and the state, change the models and flush;
none commits, except `close_due_ballots`, which the worker runs on its own. A refused
action raises BallotError (or IllegalTransition, AmendmentError) before changing anything.

One member, one vote is the database's to enforce: casting is a conditional UPDATE of the
member's roll row that must change exactly one row, in the transaction that counts the
choice. Closing is a conditional UPDATE of the ballot: in PostgreSQL each vote holds a
share lock on the ballot row, so closing waits for votes in flight, and a vote after it
finds the ballot closed; SQLite runs one writer at a time. Nothing answered "recorded" is
ever left out of the tally.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import exists, false, func, insert, literal, select, update

from govern import clock
from govern.amendments import services as amendments
from govern.amendments.models import Amendment, TimelineEntry
from govern.ballots.models import (
    Ballot,
    BallotCount,
    BallotMailing,
    Choice,
    MailingKind,
    MailStatus,
    Receipt,
    RollEntry,
)
from govern.database import is_postgresql
from govern.extensions import db
from govern.mail.services import queue_mail
from govern.members.models import Member, Standing, hash_token
from govern.procedures.stages import Event, StageKind
from govern.procedures.states import State, allowed_events

# A receipt is read off a screen and compared by eye: no 0/O or 1/I/L.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 12  # about 59 bits: no two alike among even a million ballots
# A receiver's reminder after another one this recent would only annoy.
REMINDER_PAUSE = timedelta(hours=24)


class BallotError(ValueError):
    """A ballot action refused; the message says why and what is possible."""


@dataclass(frozen=True)
class Opening:
    """What opening the ballot now would do: shown to the receiver before they confirm."""

    roll_size: int
    opened_at: datetime
    closes_at: datetime
    remind_at: datetime | None
    roll_call: bool


# Opening ---------------------------------------------------------------------------------


def eligible_member_ids() -> list[int]:
    statement = select(Member.id).where(Member.standing == Standing.ACTIVE).order_by(Member.id)
    return list(db.session.scalars(statement))


def roll_fingerprint(member_ids: list[int]) -> str:
    """sha256 of the sorted member ids joined by commas: anyone holding the roll can check it."""
    joined = ",".join(str(member_id) for member_id in sorted(member_ids))
    return hashlib.sha256(joined.encode()).hexdigest()


def preview_opening(amendment: Amendment) -> Opening:
    stage = amendment.procedure.stage(StageKind.BALLOT)
    if stage is None or stage.duration is None:
        raise BallotError(gettext("This amendment's procedure has no electronic ballot."))
    now = clock.now()
    closes_at = now + stage.duration
    reminder = amendment.procedure.reminder_before_close
    return Opening(
        roll_size=len(eligible_member_ids()),
        opened_at=now,
        closes_at=closes_at,
        remind_at=closes_at - reminder if reminder else None,
        roll_call=stage.roll_call,
    )


def open_ballot(amendment: Amendment, actor: Member) -> Ballot:
    """Freeze the roll (every voting-eligible member now) and open the ballot for exactly
    the procedure's duration. The worker then mails each member their own link."""
    opening = preview_opening(amendment)
    if opening.roll_size == 0:
        raise BallotError(gettext("No member is in good standing, so no one could vote."))
    # The amendment moves first, conditionally: of two openings at once the second stops
    # here; the unique amendment on ballots stands behind it.
    entry = amendments.open_ballot(amendment, actor)
    ballot = Ballot(
        amendment=amendment,
        opened_by_id=actor.id,
        opened_at=opening.opened_at,
        closes_at=opening.closes_at,
        remind_at=opening.remind_at,
        roll_call=opening.roll_call,
        roll_size=0,
        roll_fingerprint="",
    )
    db.session.add(ballot)
    db.session.flush()
    # The roll is copied inside the database, so it is exactly the members eligible in
    # this transaction, however many there are.
    eligible = select(
        literal(ballot.id), Member.id, literal(MailStatus.PENDING.value), false()
    ).where(Member.standing == Standing.ACTIVE)
    columns = ["ballot_id", "member_id", "mail_status", "voted"]
    db.session.execute(insert(RollEntry).from_select(columns, eligible))
    db.session.execute(
        insert(BallotCount), [{"ballot_id": ballot.id, "choice": c.value} for c in Choice]
    )
    member_ids = list(db.session.scalars(select(RollEntry.member_id).filter_by(ballot=ballot)))
    ballot.roll_size = len(member_ids)
    ballot.roll_fingerprint = roll_fingerprint(member_ids)
    entry.note = gettext(
        "Roll frozen: %(size)s members, fingerprint %(fingerprint)s. Closes %(closes)s UTC.",
        size=ballot.roll_size,
        fingerprint=ballot.roll_fingerprint,
        closes=ballot.closes_at.strftime("%Y-%m-%d %H:%M"),
    )
    db.session.flush()
    return ballot


def ballot_of(amendment: Amendment) -> Ballot | None:
    return db.session.scalar(select(Ballot).filter_by(amendment_id=amendment.id))


# Voting ----------------------------------------------------------------------------------


def new_token() -> str:
    """A voting token: 256 bits of randomness, of which only the hash is stored."""
    return secrets.token_urlsafe(32)


def entry_for_token(token: str | None) -> RollEntry | None:
    """The roll entry whose link carries `token`, by the hash alone; None for any other."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(RollEntry).filter_by(token_hash=hash_token(token)))


def entry_for_member(ballot: Ballot, member: Member) -> RollEntry | None:
    return db.session.scalar(select(RollEntry).filter_by(ballot_id=ballot.id, member_id=member.id))


def checked_choice(value: object) -> Choice:
    try:
        return Choice(value)
    except ValueError:
        raise BallotError(gettext("Choose yes, no or abstain.")) from None


def check_may_vote(entry: RollEntry) -> None:
    """Why this member cannot vote now, as a BallotError; nothing when they can."""
    ballot = entry.ballot
    if ballot.closed_at is not None or clock.now() >= ballot.closes_at:
        raise BallotError(closed_message(ballot))
    if entry.voted:
        raise BallotError(gettext("You have already voted on this ballot; each member votes once."))


def cast(entry: RollEntry, choice: Choice | str) -> str:
    """Record one member's vote and count it, in one transaction; gives the receipt code.

    The roll row changes only if the member has not voted and the ballot is still open,
    judged by the database at the moment of writing: 500 requests at once count once, and
    a vote after the closing time is refused whatever page the voter had open.
    """
    choice = checked_choice(choice)
    check_may_vote(entry)  # as read: most refusals need no write at all
    ballot = entry.ballot
    now = clock.now()
    code = new_receipt_code()
    # The receipt mail is rendered first, so the write transaction (one writer at a time
    # on SQLite) holds only the writes.
    member, amendment = entry.member, ballot.amendment
    queue_mail(
        member.email,
        gettext("Your vote was recorded: %(title)s", title=amendment.title),
        "ballot_receipt",
        member=member,
        ballot=ballot,
        amendment=amendment,
        receipt=code,
    )
    still_open = (Ballot.id == ballot.id) & Ballot.closed_at.is_(None) & (Ballot.closes_at > now)
    if is_postgresql():
        # Closing the ballot waits for this vote to commit, and a vote that comes after
        # the closing waits for it, then finds the ballot closed.
        db.session.execute(select(Ballot.id).where(still_open).with_for_update(read=True))
    marked = db.session.execute(
        update(RollEntry)
        .where(
            RollEntry.id == entry.id,
            RollEntry.voted == false(),
            exists().where(still_open),
        )
        .values(voted=True, voted_at=now, choice=choice.value if ballot.roll_call else None)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:
        db.session.rollback()
        db.session.refresh(entry)
        db.session.refresh(ballot)
        check_may_vote(entry)
        raise BallotError(closed_message(ballot))
    db.session.execute(
        update(BallotCount)
        .where(BallotCount.ballot_id == ballot.id, BallotCount.choice == choice.value)
        .values(count=BallotCount.count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(insert(Receipt).values(ballot_id=ballot.id, code=code))
    db.session.flush()
    return code


def new_receipt_code() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def closed_message(ballot: Ballot) -> str:
    if ballot.closed_at is None and clock.now() < ballot.closes_at:
        return gettext("This ballot is open.")
    return gettext("This ballot has closed; no more votes are taken.")


# Closing ---------------------------------------------------------------------------------


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
        forget_write_order()
        return True
    db.session.rollback()
    db.session.refresh(ballot)
    return False


def close_due_ballots() -> int:
    """Close every ballot whose time is up, each in a transaction of its own (the worker)."""
    closed = 0
    while True:
        now = clock.now()
        query = (
            select(Ballot)
            .where(Ballot.closed_at.is_(None), Ballot.closes_at <= now)
            .order_by(Ballot.closes_at, Ballot.id)
            .limit(1)
        )
        if is_postgresql():
            query = query.with_for_update(skip_locked=True)
        ballot = db.session.scalar(query)
        if ballot is None:
            db.session.rollback()
            return closed
        if close_ballot(ballot):
            closed += 1
        db.session.commit()
        forget_write_order()


def forget_write_order() -> None:
    """SQLite keeps recent writes in order in its write-ahead log until a checkpoint: move
    them into the database file and empty the log, so the order of votes is gone from it."""
    if not is_postgresql():
        db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()


# During the ballot -----------------------------------------------------------------------


@dataclass(frozen=True)
class Turnout:
    voted: int
    roll_size: int

    @property
    def fraction(self) -> float:
        return self.voted / self.roll_size if self.roll_size else 0.0


def turnout(ballot: Ballot) -> Turnout:
    voted = db.session.scalar(
        select(func.count())
        .select_from(RollEntry)
        .where(RollEntry.ballot_id == ballot.id, RollEntry.voted)
    )
    return Turnout(voted, ballot.roll_size)


def turnout_over_time(ballot: Ballot, points: int = 24) -> list[tuple[datetime, int]]:
    """How many had voted at evenly spaced moments from opening to now (or to closing)."""
    end = min(clock.now(), ballot.closed_at or ballot.closes_at)
    if end <= ballot.opened_at:
        return [(ballot.opened_at, 0)]
    times = sorted(
        db.session.scalars(
            select(RollEntry.voted_at).where(RollEntry.ballot_id == ballot.id, RollEntry.voted)
        )
    )
    step = (end - ballot.opened_at) / points
    series, index = [], 0
    for n in range(points + 1):
        moment = ballot.opened_at + step * n
        while index < len(times) and times[index] <= moment:
            index += 1
        series.append((moment, index))
    return series


def mail_status_counts(ballot: Ballot) -> dict[str, int]:
    rows = db.session.execute(
        select(RollEntry.mail_status, func.count())
        .where(RollEntry.ballot_id == ballot.id)
        .group_by(RollEntry.mail_status)
    ).all()
    counts = {status.value: 0 for status in MailStatus}
    counts.update(dict(rows))
    return counts


def may_run_ballot(ballot: Ballot, actor: Member) -> bool:
    """Receivers (whoever the procedure lets open the ballot) remind and resend links."""
    return amendments.is_named(ballot.amendment, actor, Event.OPEN_BALLOT)


def not_voted_count(ballot: Ballot) -> int:
    return ballot.roll_size - turnout(ballot).voted


def remind(ballot: Ballot, actor: Member) -> BallotMailing:
    """Mail every member on the roll who has not voted yet (and only them)."""
    _check_running(ballot, actor)
    now = clock.now()
    if ballot.reminded_at is not None and now - ballot.reminded_at < REMINDER_PAUSE:
        raise BallotError(
            gettext(
                "A reminder went out less than %(hours)s hours ago; members would get two.",
                hours=int(REMINDER_PAUSE / timedelta(hours=1)),
            )
        )
    return _start_reminder(ballot, actor, now)


def start_due_reminders() -> int:
    """The automatic reminder, once, when the procedure says (the worker)."""
    started = 0
    now = clock.now()
    due = select(Ballot).where(
        Ballot.closed_at.is_(None),
        Ballot.remind_at.is_not(None),
        Ballot.remind_at <= now,
        Ballot.closes_at > now,
    )
    for ballot in db.session.scalars(due).all():
        taken = db.session.execute(
            update(Ballot)
            .where(Ballot.id == ballot.id, Ballot.remind_at.is_not(None))
            .values(remind_at=None)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            _start_reminder(ballot, None, now)
            started += 1
        db.session.commit()
    return started


def _start_reminder(ballot: Ballot, actor: Member | None, now: datetime) -> BallotMailing:
    previous = ballot.reminded_at
    taken = db.session.execute(
        update(Ballot)
        .where(
            Ballot.id == ballot.id,
            Ballot.reminded_at.is_(None) if previous is None else Ballot.reminded_at == previous,
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise BallotError(gettext("A reminder was just sent; members get it once."))
    mailing = BallotMailing(
        ballot_id=ballot.id,
        kind=MailingKind.REMINDER,
        requested_by_id=actor.id if actor else None,
        requested_at=now,
    )
    db.session.add(mailing)
    amendment = ballot.amendment
    amendments.record_note(
        amendment,
        actor,
        TimelineEntry.BALLOT_REMINDER,
        gettext(
            "Reminder to the %(count)s members who have not voted yet.",
            count=not_voted_count(ballot),
        ),
    )
    db.session.flush()
    db.session.refresh(ballot)
    return mailing


def request_new_link(entry: RollEntry) -> None:
    """Mail the member a new link; the old one stops working at once."""
    check_may_vote(entry)
    renewed = db.session.execute(
        update(RollEntry)
        .where(
            RollEntry.id == entry.id,
            RollEntry.voted == false(),
            RollEntry.mail_status.in_([MailStatus.SENT, MailStatus.UNCERTAIN, MailStatus.FAILED]),
        )
        .values(token_hash=None, mail_status=MailStatus.PENDING, mail_error=None)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount != 1:
        raise BallotError(
            gettext("Your link is on its way already; it should arrive in a few minutes.")
        )
    db.session.flush()


def resend_undelivered(ballot: Ballot, actor: Member) -> int:
    """New links for the members whose ballot mail failed or may not have arrived."""
    _check_running(ballot, actor)
    renewed = db.session.execute(
        update(RollEntry)
        .where(
            RollEntry.ballot_id == ballot.id,
            RollEntry.voted == false(),
            RollEntry.mail_status.in_([MailStatus.UNCERTAIN, MailStatus.FAILED]),
        )
        .values(token_hash=None, mail_status=MailStatus.PENDING, mail_error=None)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount:
        amendments.record_note(
            ballot.amendment,
            actor,
            TimelineEntry.BALLOT_LINKS,
            gettext(
                "New links for %(count)s members whose ballot mail did not arrive.",
                count=renewed.rowcount,
            ),
        )
    db.session.flush()
    return renewed.rowcount


def _check_running(ballot: Ballot, actor: Member) -> None:
    if not may_run_ballot(ballot, actor):
        raise BallotError(gettext("Only a receiver in good standing can do this."))
    if not ballot.is_open_at(clock.now()):
        raise BallotError(closed_message(ballot))


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


def is_waiting_for_ballot(amendment: Amendment) -> bool:
    """Whether the amendment's next step is opening its electronic ballot."""
    if amendment.state in (State.DRAFT, State.WITHDRAWN):
        return False
    return Event.OPEN_BALLOT in allowed_events(amendment.procedure, amendment.state)
