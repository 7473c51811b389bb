"""Mail fixtures: queued mail, and the outbox as the database has it.

The SMTP servers (`start_smtp`, `use_smtp`, the recorders) are in tests/conftest.py."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.mail.services import queue_mail


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
