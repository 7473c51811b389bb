"""How a message leaves: by SMTP, or as an .eml file in development."""

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Protocol

from flask import current_app

from govern.mail.models import OutboxMessage


class ServerUnavailable(Exception):
    """The mail server cannot be reached or refuses us: no use trying other messages now."""


class Transport(Protocol):
    def send(self, email: EmailMessage, outbox_id: int) -> None: ...

    def close(self) -> None: ...


def sender_address() -> str:
    """MAIL_DEFAULT_SENDER, shown with the organization's name when it has none of its own."""
    config = current_app.config
    name, address = parseaddr(config["MAIL_DEFAULT_SENDER"])
    return formataddr((name or config["ORGANIZATION_NAME"], address))


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    # The same Message-ID and Date on every attempt, so a receiver can drop a repeat.
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    # RFC 3834: tells vacation responders not to answer.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    if message.attachment_filename:
        # A text attachment typed like "text/calendar; method=PUBLISH". Sent as bytes, so
        # its line ends stay as written: an .ics needs CRLF (RFC 5545).
        subtype, *params = (part.strip() for part in message.attachment_type.split(";"))
        email.add_attachment(
            message.attachment_text.encode(),
            maintype="text",
            subtype=subtype.removeprefix("text/"),
            filename=message.attachment_filename,
            params={"charset": "utf-8", **dict(param.split("=", 1) for param in params)},
        )
    return email


class FileTransport:
    """Development delivery: one .eml file per message, named after its outbox row."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def send(self, email: EmailMessage, outbox_id: int) -> None:
        path = self.directory / f"{outbox_id:08d}.eml"
        # Written aside, then renamed: a retry replaces the file, never adds a second one.
        with tempfile.NamedTemporaryFile(
            "wb", dir=self.directory, prefix=".", suffix=".part", delete=False
        ) as handle:
            handle.write(bytes(email))
        os.replace(handle.name, path)

    def close(self) -> None:
        pass


def _tls() -> ssl.SSLContext:
    # smtplib's own default does not check the server's certificate.
    return ssl.create_default_context()


class SMTPTransport:
    """One connection for a whole pass, opened on the first message."""

    def __init__(self, config) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        try:
            if config["MAIL_USE_SSL"]:
                connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls())
            else:
                connection = smtplib.SMTP(host, port, timeout=timeout)
            if config["MAIL_USE_STARTTLS"]:
                connection.starttls(context=_tls())
            if config["MAIL_USERNAME"]:
                connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as error:
            raise ServerUnavailable(f"{host}:{port}: {type(error).__name__}: {error}") from error
        return connection

    def send(self, email: EmailMessage, outbox_id: int) -> None:
        if self.connection is None:
            self.connection = self._connect()
        try:
            # With one recipient, a refusal raises SMTPRecipientsRefused.
            self.connection.send_message(email)
        except smtplib.SMTPRecipientsRefused:
            raise  # smtplib has reset the session; the connection stays usable
        except (OSError, smtplib.SMTPException):
            self.close()  # the session state is unknown: start afresh for the next message
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (OSError, smtplib.SMTPException):
                self.connection.close()
            self.connection = None


def make_transport() -> Transport:
    config = current_app.config
    if config["MAIL_SERVER"]:
        return SMTPTransport(config)
    return FileTransport(config["MAIL_DIRECTORY"])


def describe_transport() -> str:
    config = current_app.config
    if config["MAIL_SERVER"]:
        return f"SMTP server {config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    return f"files in {config['MAIL_DIRECTORY']}"
