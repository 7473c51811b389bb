"""The outbox worker: delivers queued mail with retries, and never loses a message.

Each message is claimed in a committed transaction of its own (`sending`), sent,
then marked `sent`. A worker killed between the server's acceptance and that mark
leaves the message `sending`; once its lease (MAIL_SENDING_LEASE_SECONDS) runs out,
a later pass sends it again with the same Message-ID, so the receiving side can
recognise the repeat. A message marked `sent` is never sent again.
"""

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from govern import clock
from govern.database import is_postgresql
from govern.extensions import db
from govern.mail.models import DeliveryStatus, OutboxMessage
from govern.mail.transports import (
    ServerUnavailable,
    Transport,
    build_email,
    make_transport,
    sender_address,
)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def _is_due(now: datetime):
    # A claim this old belongs to a worker that died: the message is due again.
    stale = now - timedelta(seconds=current_app.config["MAIL_SENDING_LEASE_SECONDS"])
    return or_(
        (OutboxMessage.status == DeliveryStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == DeliveryStatus.SENDING) & (OutboxMessage.claimed_at <= stale),
    )


def _find_due_id(now: datetime) -> int | None:
    query = select(OutboxMessage.id).where(_is_due(now)).order_by(OutboxMessage.id).limit(1)
    if is_postgresql():
        # Workers running at once each take a different message instead of queueing up.
        query = query.with_for_update(skip_locked=True)
    return db.session.scalar(query)


def _claim(message_id: int, now: datetime) -> bool:
    """Mark the message `sending` if it is still due; of two racing workers, one wins."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _is_due(now))
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_next() -> OutboxMessage | None:
    """Claim the oldest due message, committed before anything is sent.

    The message comes back detached, so no transaction stays open while it is sent.
    """
    while True:
        now = clock.now()
        message_id = _find_due_id(now)
        if message_id is None:
            db.session.rollback()
            return None
        if _claim(message_id, now):
            message = db.session.get(OutboxMessage, message_id, populate_existing=True)
            db.session.expunge(message)
            db.session.commit()
            return message
        db.session.rollback()  # another worker was quicker; look for the next one


def _record_sent(message: OutboxMessage) -> None:
    # Unconditional: once a server accepted the message, no worker may send it again.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(status=DeliveryStatus.SENT, sent_at=clock.now(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    message.status = DeliveryStatus.SENT


def _record_failure(message: OutboxMessage, error: Exception, is_permanent: bool) -> None:
    if is_permanent or message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        values = {"status": DeliveryStatus.FAILED}
    else:
        next_attempt_at = clock.now() + retry_delay(message.attempts)
        values = {"status": DeliveryStatus.PENDING, "next_attempt_at": next_attempt_at}
    last_error = f"{type(error).__name__}: {error}"[:2000]
    # Only while our claim holds: a worker that took over after our lease ran out may
    # already have sent the message, and a late failure must not queue it again.
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == DeliveryStatus.SENDING,
            OutboxMessage.claimed_at == message.claimed_at,
        )
        .values(last_error=last_error, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    message.status = values["status"]
    current_app.logger.warning(
        "mail %s to %s not delivered (attempt %s, now %s): %s",
        message.id,
        message.recipient,
        message.attempts,
        message.status,
        last_error,
    )


def _is_permanent(error: Exception) -> bool:
    """A 5xx answer to the recipient will not change on a retry."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _reply in error.recipients.values())
    return False


def _deliver_one(message: OutboxMessage, transport: Transport, sender: str) -> None:
    try:
        email = build_email(message, sender)
    except Exception as error:  # e.g. a line break in a header: no retry will fix it
        _record_failure(message, error, is_permanent=True)
        return
    try:
        transport.send(email, message.id)
    except ServerUnavailable as error:
        _record_failure(message, error, is_permanent=False)
        raise
    except Exception as error:  # one message that will not go must not stop the others
        _record_failure(message, error, is_permanent=_is_permanent(error))
        return
    _record_sent(message)


def deliver_due(
    limit: int | None = None, should_stop: Callable[[], bool] = lambda: False
) -> DeliveryReport:
    """Attempt every message that is due (at most `limit`), oldest first."""
    report = DeliveryReport()
    transport = make_transport()
    sender = sender_address()
    try:
        while (limit is None or report.attempted < limit) and not should_stop():
            message = claim_next()
            if message is None:
                break
            try:
                _deliver_one(message, transport, sender)
            except ServerUnavailable:
                break  # the rest stays due for the next pass
            finally:
                _count(report, message.status)
    finally:
        transport.close()
    return report


def _count(report: DeliveryReport, status: str) -> None:
    if status == DeliveryStatus.SENT:
        report.sent += 1
    elif status == DeliveryStatus.FAILED:
        report.failed += 1
    else:
        report.retrying += 1
