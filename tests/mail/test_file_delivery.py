"""Without MAIL_SERVER, mail is written as .eml files under instance/mail/."""

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import update

from govern.extensions import db
from govern.mail.delivery import deliver_due
from govern.mail.models import DeliveryStatus, OutboxMessage
from tests.mail.conftest import outbox


@pytest.fixture
def app_config() -> dict:
    return {}  # the defaults: no MAIL_SERVER, no MAIL_DIRECTORY


@pytest.fixture
def mail_directory(app, tmp_path) -> Path:
    assert Path(app.instance_path) == tmp_path / "instance"
    return tmp_path / "instance" / "mail"


def written(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def test_development_default_writes_each_message_to_a_file_in_instance_mail(
    app, mail_directory, queue_messages
):
    assert app.config["MAIL_SERVER"] == ""
    assert app.config["MAIL_DIRECTORY"] == str(mail_directory)
    message_ids = queue_messages(2)

    assert deliver_due().sent == 2

    files = written(mail_directory)
    assert [path.suffix for path in files] == [".eml", ".eml"]
    emails = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
    assert [email["Message-ID"] for email in emails] == message_ids
    assert emails[0]["To"] == "member0@example.org"
    assert "http://govern.test/auth/set-password/token0" in emails[0].get_content()
    assert {row.status for row in outbox()} == {DeliveryStatus.SENT}


def test_retrying_a_written_message_replaces_its_file(app, mail_directory, queue_messages, clock):
    queue_messages(1)
    deliver_due()
    [first] = written(mail_directory)
    content = first.read_bytes()
    # As if the worker had died after writing, before recording it: the message is
    # left `sending` and is due again once its lease runs out.
    db.session.execute(
        update(OutboxMessage).values(status=DeliveryStatus.SENDING, claimed_at=clock())
    )
    db.session.commit()
    clock.advance(seconds=app.config["MAIL_SENDING_LEASE_SECONDS"])

    assert deliver_due().sent == 1

    assert written(mail_directory) == [first]
    assert first.read_bytes() == content
    [row] = outbox()
    assert row.status == DeliveryStatus.SENT and row.attempts == 2
