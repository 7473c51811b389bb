"""While a ballot is open: turnout (never partial results), reminders, new links."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import false, func, select, update

from govern import clock
from govern.amendments import services as amendments
from govern.amendments.models import TimelineEntry
from govern.ballots.models import Ballot, BallotMailing, MailingKind, MailStatus, RollEntry
from govern.ballots.services import BallotError, check_may_vote, closed_message
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.stages import Event

# A receiver's reminder after another one this recent would only annoy.
REMINDER_PAUSE = timedelta(hours=24)


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
    """Receivers (whoever the procedure lets open the ballot) follow turnout, remind and
    resend links; not on their own proposal."""
    return amendments.may_act(ballot.amendment, actor, Event.OPEN_BALLOT)


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
        recent = ballot.reminded_at is not None and now - ballot.reminded_at < REMINDER_PAUSE
        if taken.rowcount == 1 and not recent:  # a receiver's reminder just went: not again
            try:
                _start_reminder(ballot, None, now)
            except BallotError:  # a receiver's, at this very moment
                db.session.rollback()
                continue
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
        # No number: how many have voted is for receivers to see while the ballot runs.
        gettext("Reminder to the members who have not voted yet."),
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


def undelivered_count(ballot: Ballot) -> int:
    """Members yet to vote whose ballot mail failed or may not have arrived: those that
    `resend_undelivered` sends a new link."""
    statement = select(func.count()).where(
        RollEntry.ballot_id == ballot.id,
        RollEntry.voted == false(),
        RollEntry.mail_status.in_([MailStatus.UNCERTAIN, MailStatus.FAILED]),
    )
    return db.session.scalar(statement)


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
