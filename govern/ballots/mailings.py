"""Mail about a ballot to many members, queued by the worker into the outbox in batches.

Reminders and results carry no voting token, so they go through the outbox like any other
mail. Each batch is queued in one transaction with how far the mailing got
(`after_member_id`), so a worker that dies between batches resumes after the last member
queued, and none is queued twice.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import false, or_, select, update

from govern import clock
from govern.ballots.models import Ballot, BallotMailing, MailingKind, RollEntry
from govern.database import is_postgresql
from govern.extensions import db
from govern.mail.services import queue_mail
from govern.members.models import Member, Standing
from govern.procedures.thresholds import get_threshold


@dataclass
class MailingReport:
    queued: int = 0
    finished: int = 0


def queue_mailings(batch_size: int = 500) -> MailingReport:
    """Queue the next batches of every unfinished reminder and result into the outbox."""
    report = MailingReport()
    while True:
        query = (
            select(BallotMailing)
            .where(BallotMailing.done_at.is_(None))
            .order_by(BallotMailing.id)
            .limit(1)
        )
        if is_postgresql():
            query = query.with_for_update(skip_locked=True)
        mailing = db.session.scalar(query)
        if mailing is None:
            db.session.rollback()
            return report
        queued, finished = _queue_batch(mailing, batch_size)
        report.queued += queued
        report.finished += finished


def _queue_batch(mailing: BallotMailing, batch_size: int) -> tuple[int, bool]:
    """Queue one batch in one transaction with the mailing's progress; what it queued and
    whether the mailing is finished."""
    ballot = mailing.ballot
    now = clock.now()
    if mailing.kind == MailingKind.REMINDER and not ballot.is_open_at(now):
        recipients = []  # a reminder to vote after the close would mislead
    else:
        recipients = _recipients(mailing, batch_size)
    finished = len(recipients) < batch_size
    values = {
        "queued": BallotMailing.queued + len(recipients),
        "done_at": now if finished else None,
    }
    if recipients:
        values["after_member_id"] = recipients[-1][0].id
    # Conditional on where this batch started: of two workers on one batch, one queues it.
    moved = db.session.execute(
        update(BallotMailing)
        .where(
            BallotMailing.id == mailing.id,
            BallotMailing.after_member_id == mailing.after_member_id,
            BallotMailing.done_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.rollback()
        return 0, False
    for member, mail_sent_at in recipients:
        _queue_one(mailing.kind, ballot, member, mail_sent_at)
    db.session.commit()
    return len(recipients), finished


def _recipients(mailing: BallotMailing, batch_size: int) -> list[tuple[Member, datetime | None]]:
    """The next members the mailing goes to, with when their ballot mail went (if it did)."""
    on_roll = (RollEntry.member_id == Member.id) & (RollEntry.ballot_id == mailing.ballot_id)
    query = select(Member, RollEntry.mail_sent_at).outerjoin(RollEntry, on_roll)
    if mailing.kind == MailingKind.REMINDER:
        # Who has not voted is read now, batch by batch: a vote meanwhile means no reminder.
        query = query.where(RollEntry.id.is_not(None), RollEntry.voted == false())
    else:
        query = query.where(or_(RollEntry.id.is_not(None), Member.standing == Standing.ACTIVE))
    query = query.where(Member.id > mailing.after_member_id).order_by(Member.id).limit(batch_size)
    return [(member, sent_at) for member, sent_at in db.session.execute(query).all()]


def _queue_one(kind: str, ballot: Ballot, member: Member, mail_sent_at: datetime | None) -> None:
    amendment = ballot.amendment
    with force_locale(current_app.config["ORGANIZATION_LOCALE"]):
        if kind == MailingKind.REMINDER:
            subject = gettext("Reminder: please vote on %(title)s", title=amendment.title)
            context = {"mail_sent_at": mail_sent_at}
        else:
            if ballot.passed:
                subject = gettext("Ballot result: %(title)s passed", title=amendment.title)
            else:
                subject = gettext("Ballot result: %(title)s did not pass", title=amendment.title)
            context = {
                "rule": str(get_threshold(ballot.rule).description),
                "turnout": ballot.voters / max(ballot.roll_size, 1),
            }
    queue_mail(
        member.email,
        subject,
        f"ballot_{kind}",
        member=member,
        ballot=ballot,
        amendment=amendment,
        **context,
    )
