"""Opening a ballot and casting a vote; closing is in `closing`, what happens while the
ballot is open (turnout, reminders, new links) in `running`.

Like the other services these check the actor and the state, change the models and flush;
none commits. A refused action raises BallotError (or IllegalTransition, AmendmentError)
before changing anything.

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
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import case, exists, false, insert, literal, select, update

from govern import clock
from govern.amendments import services as amendments
from govern.amendments.models import Amendment
from govern.ballots.models import (
    Ballot,
    BallotCount,
    Choice,
    MailStatus,
    Receipt,
    RollEntry,
)
from govern.database import is_postgresql
from govern.extensions import db
from govern.mail.services import queue_mail
from govern.meetings.services import organization_zone
from govern.members.models import Member, Standing, hash_token
from govern.procedures.stages import Event, StageKind
from govern.procedures.states import State, allowed_events

# A receipt is read off a screen and compared by eye: no 0/O or 1/I/L.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 12  # about 59 bits: no two alike among even a million ballots


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
    zone = organization_zone()
    entry.note = gettext(
        "Roll frozen: %(size)s members, fingerprint %(fingerprint)s. "
        "Closes %(local)s %(zone)s (%(utc)s UTC).",
        size=ballot.roll_size,
        fingerprint=ballot.roll_fingerprint,
        local=ballot.closes_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        zone=zone,
        utc=ballot.closes_at.strftime("%Y-%m-%d %H:%M"),
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


@dataclass(frozen=True)
class CastVote:
    """What the receipt page and the receipt mail say: never the choice."""

    receipt: str
    ballot_id: int
    closes_at: datetime
    amendment_id: int
    title: str


def cast(entry: RollEntry, choice: Choice | str) -> CastVote:
    """Record one member's vote and count it, in one transaction; gives the receipt.

    The roll row changes only if the member has not voted and the ballot is still open,
    judged by the database at the moment of writing: 500 requests at once count once, and
    a vote after the closing time is refused whatever page the voter had open.
    """
    choice = checked_choice(choice)
    check_may_vote(entry)  # as read: most refusals need no write at all
    ballot = entry.ballot
    # Only what the receipt needs, in one query: not the member's roles, not the texts.
    name, email, amendment_id, title = db.session.execute(
        select(Member.name, Member.email, Amendment.id, Amendment.title)
        .select_from(RollEntry)
        .join(Member, Member.id == RollEntry.member_id)
        .join(Ballot, Ballot.id == RollEntry.ballot_id)
        .join(Amendment, Amendment.id == Ballot.amendment_id)
        .where(RollEntry.id == entry.id)
    ).one()
    vote = CastVote(new_receipt_code(), ballot.id, ballot.closes_at, amendment_id, title)
    # The receipt mail is rendered first, so the write transaction (one writer at a time
    # on SQLite) holds only the writes.
    queue_mail(
        email,
        gettext("Your vote was recorded: %(title)s", title=title),
        "ballot_receipt",
        name=name,
        vote=vote,
    )
    now = clock.now()  # after the rendering: the moment of writing is what counts
    still_open = (Ballot.id == ballot.id) & Ballot.closed_at.is_(None) & (Ballot.closes_at > now)
    if is_postgresql():
        # Votes on a ballot take its counters in turn, always in one order, so they never
        # wait for each other in a circle. Then each holds a share lock on the ballot row:
        # closing waits for the vote holding it, and a vote after the closing waits for
        # the closing to commit, then finds the ballot closed.
        counters = select(BallotCount.choice).where(BallotCount.ballot_id == ballot.id)
        db.session.execute(counters.order_by(BallotCount.choice).with_for_update())
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
    # Holding the write now (SQLite's lock, PostgreSQL's row locks), the clock is read once
    # more: a vote that waited for the lock past the closing time is not taken.
    if marked.rowcount != 1 or clock.now() >= ballot.closes_at:
        db.session.rollback()
        db.session.refresh(entry)
        db.session.refresh(ballot)
        check_may_vote(entry)
        raise BallotError(closed_message(ballot))
    # All three counters are written by every vote, one of them with 1 more: so all three
    # carry the same last transaction (PostgreSQL's xmin), which says nothing of the choice.
    db.session.execute(
        update(BallotCount)
        .where(BallotCount.ballot_id == ballot.id)
        .values(count=BallotCount.count + case((BallotCount.choice == choice.value, 1), else_=0))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(insert(Receipt).values(ballot_id=ballot.id, code=vote.receipt))
    db.session.flush()
    return vote


def new_receipt_code() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def closed_message(ballot: Ballot) -> str:
    if ballot.closed_at is None and clock.now() < ballot.closes_at:
        return gettext("This ballot is open.")
    return gettext("This ballot has closed; no more votes are taken.")


def is_waiting_for_ballot(amendment: Amendment) -> bool:
    """Whether the amendment's next step is opening its electronic ballot."""
    if amendment.state in (State.DRAFT, State.WITHDRAWN):
        return False
    return Event.OPEN_BALLOT in allowed_events(amendment.procedure, amendment.state)
