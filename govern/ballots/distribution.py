"""Each member's own ballot mail, sent by the worker at most once.

A ballot mail carries the member's voting token, which is never stored, so it cannot go
through the outbox: it is rendered and sent here. Each roll row is claimed (`sending`,
with the hash of a new token) in a committed transaction before its mail leaves, and
marked `sent` in the same commit that claims the next row. A worker killed in between
leaves one row `sending`; when its lease has run out the row becomes `uncertain` and is
not sent again by itself (see MailStatus). Several workers share the rows: on PostgreSQL
a row another worker is claiming is skipped (SKIP LOCKED), and every claim is a
conditional UPDATE that only one of them can win.
"""

import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from functools import cache
from pathlib import Path

from flask import current_app
from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from govern import clock
from govern.ballots.mail import ballot_mail
from govern.ballots.models import Ballot, MailStatus, RollEntry
from govern.ballots.services import new_token
from govern.database import is_postgresql
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.mail.transports import (
    FileTransport,
    ServerUnavailable,
    SMTPTransport,
    Transport,
    build_email,
    sender_address,
)
from govern.members.models import Member, hash_token
from govern.types import UTCDateTime


@dataclass
class DistributionReport:
    sent: int = 0
    retrying: int = 0  # refused for now (4xx) or server not reached: pending again
    failed: int = 0  # refused for good (5xx), or the mail could not be built
    uncertain: int = 0  # may have arrived: left by a dead worker, or dropped mid-message
    claimed: int = 0

    @property
    def changed(self) -> int:
        return self.sent + self.retrying + self.failed + self.uncertain


@dataclass(frozen=True)
class Claim:
    """A roll row this worker holds `sending`, with what its mail needs."""

    entry_id: int
    token: str
    ballot: Ballot
    member: Member

    @property
    def token_hash(self) -> str:
        return hash_token(self.token)

    def __repr__(self) -> str:  # never show the token, not even in a traceback
        return f"<Claim of roll entry {self.entry_id}>"


@dataclass(frozen=True)
class Failure:
    """A ballot mail that did not go: what its row becomes, and why."""

    status: MailStatus
    error: str
    stops_pass: bool = False


# Pending rows are read this many at a time; each is then claimed on its own.
CANDIDATES_PER_QUERY = 100


def distribute_ballots(
    limit: int | None = None, should_stop: Callable[[], bool] = lambda: False
) -> DistributionReport:
    """Send the ballot mail of every pending member of an open ballot (at most `limit`),
    in roll order, over one connection."""
    report = DistributionReport(uncertain=give_up_stale_claims())
    transport = _make_transport()
    sender = sender_address()
    domain = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2]
    sent = None
    try:
        with _loaded_objects_kept():
            for entry_id in _pending_entry_ids():
                if (limit is not None and report.claimed >= limit) or should_stop():
                    break
                previous, sent = sent, None
                claim = _record_sent_and_claim(previous, entry_id)
                if claim is None:
                    continue  # another worker has it, or it is no longer pending
                report.claimed += 1
                failure = _send(claim, transport, sender, domain or "localhost")
                if failure is None:
                    sent = claim
                    report.sent += 1
                    continue
                _record_failure(claim, failure)
                _count(report, failure.status)
                if failure.stops_pass:
                    break
    finally:
        try:
            if sent is not None:
                _record_sent_and_claim(sent, None)
        finally:
            transport.close()
    return report


def give_up_stale_claims() -> int:
    """Rows left `sending` past the lease belong to a worker that died, perhaps after the
    server took the mail: they become `uncertain` instead of being sent a second time."""
    lease = timedelta(seconds=current_app.config["MAIL_SENDING_LEASE_SECONDS"])
    given_up = db.session.execute(
        update(RollEntry)
        .where(
            RollEntry.mail_status == MailStatus.SENDING,
            RollEntry.mail_claimed_at <= clock.now() - lease,
        )
        .values(
            mail_status=MailStatus.UNCERTAIN,
            mail_error="The worker stopped while sending; the mail may or may not have arrived.",
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if given_up.rowcount:
        current_app.logger.warning("%s ballot mails left sending are uncertain", given_up.rowcount)
    return given_up.rowcount


def _make_transport() -> Transport:
    config = current_app.config
    if config["MAIL_SERVER"]:
        return SMTPTransport(config)
    # Files named after roll rows, apart from the outbox's files named after its rows.
    return FileTransport(str(Path(config["MAIL_DIRECTORY"]) / "ballots"))


@contextmanager
def _loaded_objects_kept() -> Iterator[None]:
    """Keep ballots, amendments and members loaded across the pass's many commits, so each
    mail does not load them again; they are expired once the pass is over."""
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = expire_on_commit
        session.expire_all()


def _pending_entry_ids() -> Iterator[int]:
    """The pending rows of open ballots in roll order, read a batch at a time: one sort
    per batch, not per mail, however the database plans it."""
    after_id = 0
    while True:
        batch = db.session.scalars(
            select(RollEntry.id)
            .join(Ballot, Ballot.id == RollEntry.ballot_id)
            .where(
                RollEntry.mail_status == MailStatus.PENDING,
                RollEntry.id > after_id,
                Ballot.closed_at.is_(None),
                Ballot.closes_at > clock.now(),
            )
            .order_by(RollEntry.id)
            .limit(CANDIDATES_PER_QUERY)
        ).all()
        if not batch:
            return
        yield from batch
        after_id = batch[-1]


def _record_sent_and_claim(sent: Claim | None, entry_id: int | None) -> Claim | None:
    """One commit marks the last mail `sent` and claims the row `entry_id` if it is still
    pending (none when it is None): one transaction per mail."""
    try:
        if sent is not None:
            _mark_sent(sent)
        claim = None if entry_id is None else _claim(entry_id)
        db.session.commit()
        return claim
    except SQLAlchemyError:
        db.session.rollback()
        if sent is not None:  # the server took it: try to record that on its own
            _mark_sent(sent)
            db.session.commit()
        raise


def _claim(entry_id: int) -> Claim | None:
    token = new_token()
    parameters = {"entry_id": entry_id, "now": clock.now(), "new_hash": hash_token(token)}
    row = db.session.execute(_claim_statement(is_postgresql()), parameters).first()
    if row is None:
        return None
    # Read in this transaction, so that none stays open while the mail is sent.
    ballot = db.session.get(Ballot, row.ballot_id)
    amendment = ballot.amendment
    amendment.document, amendment.proposer  # noqa: B018  (what the mail shows)
    # Only what the mail needs of the member, returned by the claim itself.
    member = Member(id=row.member_id, name=row.name, email=row.email)
    return Claim(row.id, token, ballot, member)


@cache
def _claim_statement(for_postgresql: bool) -> Update:
    """Claim the row `entry_id` if it is pending and its ballot open; built once, as each
    mail runs it."""
    pending = aliased(RollEntry)
    now = bindparam("now", type_=UTCDateTime)
    candidate = (
        select(pending.id)
        .join(Ballot, Ballot.id == pending.ballot_id)
        .where(
            pending.id == bindparam("entry_id"),
            pending.mail_status == MailStatus.PENDING,
            Ballot.closed_at.is_(None),
            Ballot.closes_at > now,
        )
    )
    if for_postgresql:
        # A row another worker is claiming right now is skipped, not waited for.
        candidate = candidate.with_for_update(skip_locked=True, of=pending)
    member = select(Member).where(Member.id == RollEntry.member_id)
    return (
        update(RollEntry)
        .where(
            RollEntry.id == candidate.scalar_subquery(),
            RollEntry.mail_status == MailStatus.PENDING,
        )
        .values(
            mail_status=MailStatus.SENDING,
            mail_claimed_at=now,
            token_hash=bindparam("new_hash"),
            mail_error=None,
        )
        .returning(
            RollEntry.id,
            RollEntry.ballot_id,
            RollEntry.member_id,
            member.with_only_columns(Member.name).scalar_subquery().label("name"),
            member.with_only_columns(Member.email).scalar_subquery().label("email"),
        )
        .execution_options(synchronize_session=False)
    )


def _mark_sent(claim: Claim) -> None:
    parameters = {"sent_id": claim.entry_id, "own_hash": claim.token_hash, "now": clock.now()}
    db.session.execute(_MARK_SENT, parameters)


# Only while the token is ours: after a new link was asked for, the row is not ours.
_MARK_SENT = (
    update(RollEntry)
    .where(
        RollEntry.id == bindparam("sent_id"),
        RollEntry.token_hash == bindparam("own_hash"),
        RollEntry.mail_status.in_([MailStatus.SENDING, MailStatus.UNCERTAIN]),
    )
    .values(
        mail_status=MailStatus.SENT,
        mail_sent_at=bindparam("now", type_=UTCDateTime),
        mail_error=None,
    )
    .execution_options(synchronize_session=False)
)


def _send(claim: Claim, transport: Transport, sender: str, domain: str) -> Failure | None:
    try:
        email = _ballot_email(claim, sender, domain)
    except Exception as error:  # e.g. a line break in an address: no retry will fix it
        return Failure(MailStatus.FAILED, _describe(error))
    try:
        transport.send(email, claim.entry_id)
    except (ServerUnavailable, smtplib.SMTPSenderRefused) as error:
        # Nothing was sent, and no other member's mail would go now either.
        return Failure(MailStatus.PENDING, _describe(error), stops_pass=True)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _reply in error.recipients.values()]
        is_permanent = all(code >= 500 for code in codes)
        return Failure(MailStatus.FAILED if is_permanent else MailStatus.PENDING, _describe(error))
    except smtplib.SMTPResponseException as error:  # the server answered: it did not take it
        is_permanent = error.smtp_code >= 500
        return Failure(MailStatus.FAILED if is_permanent else MailStatus.PENDING, _describe(error))
    except Exception as error:  # dropped mid-message: it may have arrived
        # Not one more mail in doubt: the server may be going away.
        return Failure(MailStatus.UNCERTAIN, _describe(error), stops_pass=True)
    return None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _ballot_email(claim: Claim, sender: str, domain: str) -> EmailMessage:
    subject, body = ballot_mail(claim.ballot, claim.member, claim.token)
    # An outbox message that is built, never stored: it must not keep the token.
    message = OutboxMessage(
        message_id=make_msgid(domain=domain),
        recipient=claim.member.email,
        subject=subject,
        body_text=body,
        created_at=clock.now(),
    )
    return build_email(message, sender)


def _record_failure(claim: Claim, failure: Failure) -> None:
    values = {"mail_status": failure.status, "mail_error": failure.error}
    if failure.status != MailStatus.UNCERTAIN:
        values["token_hash"] = None  # the mail did not leave: its token opens nothing
    db.session.execute(
        update(RollEntry)
        .where(
            RollEntry.id == claim.entry_id,
            RollEntry.token_hash == claim.token_hash,
            RollEntry.mail_status == MailStatus.SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    current_app.logger.warning(
        "ballot mail of roll entry %s not sent, now %s: %s",
        claim.entry_id,
        failure.status,
        failure.error,
    )


def _count(report: DistributionReport, status: MailStatus) -> None:
    if status == MailStatus.PENDING:
        report.retrying += 1
    elif status == MailStatus.FAILED:
        report.failed += 1
    else:
        report.uncertain += 1
