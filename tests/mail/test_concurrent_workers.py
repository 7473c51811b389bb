"""Workers running at once deliver each message exactly once."""

from collections import Counter

from govern.extensions import db
from govern.mail.delivery import DeliveryReport, _claim, _find_due_id, claim_next, deliver_due
from govern.mail.models import DeliveryStatus
from tests.conftest import SlowRecorder, concurrently
from tests.mail.conftest import outbox


def test_two_workers_deliver_each_message_exactly_once(app, start_smtp, use_smtp, queue_messages):
    message_ids = queue_messages(40)
    server = start_smtp(SlowRecorder(delay=0.01))
    use_smtp(server.port)
    reports: list[DeliveryReport] = concurrently(app, deliver_due)

    assert Counter(email["Message-ID"] for email in server.messages) == Counter(message_ids)
    assert sorted(report.sent for report in reports) != [0, 40], "the workers did not overlap"
    assert sum(report.sent for report in reports) == 40
    assert {row.status for row in outbox()} == {DeliveryStatus.SENT}
    assert {row.attempts for row in outbox()} == {1}


def test_a_claimed_message_cannot_be_claimed_again(app, queue_messages, clock):
    """Two workers may both see a message due; the claim itself lets only one have it."""
    queue_messages(1)
    now = clock()
    first_look = _find_due_id(now)
    second_look = _find_due_id(now)
    assert first_look == second_look is not None
    assert _claim(first_look, now) is True
    assert _claim(second_look, now) is False
    db.session.commit()
    [row] = outbox()
    assert row.status == DeliveryStatus.SENDING and row.attempts == 1


def test_a_message_left_sending_is_claimed_again_only_after_its_lease(app, queue_messages, clock):
    queue_messages(1)
    assert claim_next() is not None  # and the worker dies here
    lease = app.config["MAIL_SENDING_LEASE_SECONDS"]
    clock.advance(seconds=lease - 1)
    assert claim_next() is None
    clock.advance(seconds=1)
    message = claim_next()
    assert message is not None and message.attempts == 2
