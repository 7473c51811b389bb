"""Mail fixtures: SMTP servers that are slow or refuse some recipients, and queued mail."""

import asyncio
from collections.abc import Callable
from contextlib import ExitStack
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.mail.services import queue_mail
from tests.conftest import SMTPRecorder, free_port


class SlowRecorder(SMTPRecorder):
    """Takes `delay` seconds to accept each message, like a busy server.

    `on_accept(count)` runs once a message is kept, before the client hears "250".
    """

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.on_accept: Callable[[int], None] = lambda count: None

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        reply = await super().handle_DATA(server, session, envelope)
        self.on_accept(len(self.messages))
        return reply


class RefusingRecorder(SMTPRecorder):
    """Answers RCPT TO for the addresses in `replies` with the reply given, e.g. 550."""

    def __init__(self, replies: dict[str, str]) -> None:
        super().__init__()
        self.replies = replies

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def start_smtp():
    """Start a real SMTP server with the handler given; it stops after the test."""
    with ExitStack() as stack:

        def start(handler: SMTPRecorder) -> SMTPRecorder:
            controller = Controller(handler, hostname="127.0.0.1", port=free_port())
            controller.start()
            stack.callback(controller.stop)
            handler.port = controller.port
            return handler

        yield start


@pytest.fixture
def use_smtp(app):
    """Point the app's mail at a server (or, with a closed port, at nothing)."""

    def use(port: int) -> None:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)

    return use


@pytest.fixture
def queue_messages(app):
    """Queue `count` messages through the outbox, committed; gives their Message-IDs."""

    def queue(count: int = 1, recipients: list[str] | None = None) -> list[str]:
        recipients = recipients or [f"member{n}@example.org" for n in range(count)]
        messages = [
            queue_mail(
                recipient,
                f"Message {n}",
                "invitation",
                member=SimpleNamespace(name=f"Member {n}", email=recipient),
                link=f"http://govern.test/auth/set-password/token{n}",
                expires_hours=168,
            )
            for n, recipient in enumerate(recipients)
        ]
        db.session.commit()
        return [message.message_id for message in messages]

    return queue


def outbox() -> list[OutboxMessage]:
    """The outbox as the database has it now, oldest first."""
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def by_recipient() -> dict[str, OutboxMessage]:
    return {message.recipient: message for message in outbox()}
