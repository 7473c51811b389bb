"""A message that does not go is retried later, with backoff, then given up."""

from datetime import timedelta

import pytest

from govern.extensions import db
from govern.mail.delivery import deliver_due, retry_delay
from govern.mail.models import DeliveryStatus
from govern.mail.services import queue_mail
from tests.conftest import RefusingRecorder, free_port
from tests.mail.conftest import by_recipient, outbox


@pytest.fixture
def server_down(use_smtp) -> None:
    use_smtp(free_port())  # nothing listens there


@pytest.mark.parametrize(
    ("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (9, 256), (10, 360), (30, 360)]
)
def test_backoff_doubles_up_to_six_hours(attempts, minutes):
    assert retry_delay(attempts) == timedelta(minutes=minutes)


def test_unreachable_server_leaves_the_message_pending_with_backoff(
    app, server_down, queue_messages, clock
):
    queue_messages(1)
    report = deliver_due()
    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    [row] = outbox()
    assert row.status == DeliveryStatus.PENDING
    assert row.attempts == 1
    assert row.next_attempt_at == clock() + timedelta(minutes=1)
    assert "ConnectionRefusedError" in row.last_error
    assert row.sent_at is None


def test_unreachable_server_ends_the_pass_after_one_attempt(app, server_down, queue_messages):
    queue_messages(3)
    deliver_due()
    assert [row.attempts for row in outbox()] == [1, 0, 0]


def test_message_waits_for_its_next_attempt_then_goes_once_the_server_is_up(
    app, server_down, use_smtp, smtp_server, queue_messages, clock
):
    queue_messages(1)
    deliver_due()
    use_smtp(smtp_server.port)

    clock.advance(seconds=59)
    assert deliver_due().attempted == 0
    assert smtp_server.messages == []

    clock.advance(seconds=1)
    assert deliver_due().sent == 1
    [row] = outbox()
    assert row.status == DeliveryStatus.SENT and row.attempts == 2
    assert row.sent_at == clock() and row.last_error is None
    assert [email["Message-ID"] for email in smtp_server.messages] == [row.message_id]


def test_each_failure_waits_twice_as_long(app, server_down, queue_messages, clock):
    queue_messages(1)
    for attempt, minutes in enumerate([1, 2, 4, 8], start=1):
        deliver_due()
        [row] = outbox()
        assert row.attempts == attempt
        assert row.next_attempt_at == clock() + timedelta(minutes=minutes)
        clock.advance(minutes=minutes)


def test_message_fails_after_max_attempts_and_is_left_alone(
    app, server_down, use_smtp, smtp_server, queue_messages, clock
):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    queue_messages(1)
    for _ in range(3):
        deliver_due()
        clock.advance(hours=1)
    [row] = outbox()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error

    use_smtp(smtp_server.port)
    clock.advance(days=30)
    assert deliver_due().attempted == 0
    assert smtp_server.messages == []
    assert outbox()[0].attempts == 3


def test_refused_recipient_does_not_block_the_others(
    app, start_smtp, use_smtp, queue_messages, clock
):
    server = start_smtp(
        RefusingRecorder(
            {
                "gone@example.org": "550 5.1.1 No such user here",
                "full@example.org": "452 4.2.2 Mailbox full, try later",
            }
        )
    )
    use_smtp(server.port)
    queue_messages(
        recipients=["first@example.org", "gone@example.org", "full@example.org", "last@example.org"]
    )

    report = deliver_due()

    assert (report.sent, report.retrying, report.failed) == (2, 1, 1)
    assert sorted(email["To"] for email in server.messages) == [
        "first@example.org",
        "last@example.org",
    ]
    rows = by_recipient()
    gone, full = rows["gone@example.org"], rows["full@example.org"]
    # A permanent (5xx) refusal will not change on a retry.
    assert gone.status == DeliveryStatus.FAILED and gone.attempts == 1
    assert "550" in gone.last_error and "No such user" in gone.last_error
    # A temporary (4xx) one is tried again later.
    assert full.status == DeliveryStatus.PENDING and full.attempts == 1
    assert full.next_attempt_at == clock() + timedelta(minutes=1)
    assert "452" in full.last_error

    del server.replies["full@example.org"]
    clock.advance(minutes=1)
    assert deliver_due().sent == 1
    assert by_recipient()["full@example.org"].status == DeliveryStatus.SENT
    assert by_recipient()["gone@example.org"].attempts == 1


def test_message_that_cannot_be_built_fails_without_stopping_the_others(
    app, smtp_config, queue_messages
):
    queue_mail(
        "first@example.org",
        "A subject\nBcc: everyone@example.org",
        "invitation",
        member={"name": "First"},
        link="http://govern.test/",
        expires_hours=2,
    )
    db.session.commit()
    queue_messages(recipients=["second@example.org"])

    report = deliver_due()

    assert (report.sent, report.failed) == (1, 1)
    rows = by_recipient()
    assert rows["first@example.org"].status == DeliveryStatus.FAILED
    assert "ValueError" in rows["first@example.org"].last_error
    assert [email["To"] for email in smtp_config.messages] == ["second@example.org"]
