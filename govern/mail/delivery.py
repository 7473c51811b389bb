"""The outbox worker: delivers queued mail with retries, at most once per acceptance.

Each message is claimed in its own committed transaction (`sending`), delivered,
then marked `sent` with the server's reply. A worker killed after the claim leaves
the message `sending`; once its lease runs out another pass delivers it again with
the same Message-ID, so a receiving server can recognise the repeat. A message the
worker saw accepted is never sent again.
"""

import os
import smtplib
import tempfile
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from govern import clock
from govern.database import is_postgresql
from govern.extensions import db
from govern.mail.models import DeliveryStatus, OutboxMessage


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


class FileTransport:
    """Development delivery: one .eml file per message under instance/mail/."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, email: EmailMessage, outbox_id: int) -> str:
        path = self.directory / f"{outbox_id:08d}.eml"
        # Same name on a retry, written atomically: a repeat replaces, never duplicates.
        with tempfile.NamedTemporaryFile("wb", dir=self.directory, delete=False) as handle:
            handle.write(bytes(email))
        os.replace(handle.name, path)
        return f"written to {path}"

    def close(self) -> None:
        pass


class SMTPTransport:
    def __init__(self, config) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        factory = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        connection = factory(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        )
        if config["MAIL_USE_STARTTLS"]:
            connection.starttls()
        if config["MAIL_USERNAME"]:
            connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        return connection

    def send(self, email: EmailMessage, outbox_id: int) -> str:
        if self.connection is None:
            self.connection = self._connect()
        try:
            refused = self.connection.send_message(email)
        except smtplib.SMTPServerDisconnected:
            self.connection = None
            raise
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
        return "accepted"

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except smtplib.SMTPException:
                pass
            self.connection = None


def make_transport():
    config = current_app.config
    if config["MAIL_SERVER"]:
        return SMTPTransport(config)
    return FileTransport(config["MAIL_DIRECTORY"])


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def _claim_next() -> OutboxMessage | None:
    now = clock.now()
    lease = timedelta(seconds=current_app.config["MAIL_SENDING_LEASE_SECONDS"])
    query = (
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == DeliveryStatus.PENDING)
                & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == DeliveryStatus.SENDING)
                & (OutboxMessage.claimed_at <= now - lease),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if is_postgresql():
        query = query.with_for_update(skip_locked=True)
    message = db.session.scalar(query)
    if message is None:
        db.session.rollback()
        return None
    message.status = DeliveryStatus.SENDING
    message.claimed_at = now
    message.attempts += 1
    db.session.commit()
    return message


def deliver_due(limit: int | None = None) -> int:
    """Deliver what is due; returns how many messages were accepted."""
    transport = make_transport()
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    delivered = 0
    try:
        while limit is None or delivered < limit:
            message = _claim_next()
            if message is None:
                break
            try:
                reply = transport.send(build_email(message, sender), message.id)
            except (OSError, smtplib.SMTPException) as error:
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                if message.attempts >= max_attempts:
                    message.status = DeliveryStatus.FAILED
                else:
                    message.status = DeliveryStatus.PENDING
                    message.next_attempt_at = clock.now() + retry_delay(message.attempts)
                db.session.commit()
                current_app.logger.warning(
                    "mail %s not delivered (attempt %s): %s",
                    message.id,
                    message.attempts,
                    message.last_error,
                )
                if isinstance(transport, SMTPTransport):
                    transport.close()
                continue
            message.status = DeliveryStatus.SENT
            message.sent_at = clock.now()
            message.last_error = None if reply == "accepted" else reply
            db.session.commit()
            delivered += 1
    finally:
        transport.close()
    return delivered
