"""The real worker process, killed mid-batch: no message is lost, none sent twice.

The only message that may arrive twice is the one in flight when the worker died:
the server accepted it, but the worker did not live to record that. It arrives again
with the same Message-ID, so a receiving server can drop the repeat.
"""

import signal
from collections import Counter

import pytest

from govern.mail.models import DeliveryStatus
from tests.conftest import SlowRecorder, wait_until
from tests.mail.conftest import outbox


def test_worker_killed_before_hearing_the_server_accept_repeats_only_that_message(
    app, start_smtp, start_worker, queue_messages
):
    message_ids = queue_messages(40)
    server = start_smtp(SlowRecorder(delay=0.02))

    def kill_at_the_eighth(count: int) -> None:
        if count == 8:  # kept by the server, and the worker has not heard "250" yet
            worker.send_signal(signal.SIGKILL)

    server.on_accept = kill_at_the_eighth
    worker = start_worker(server.port, "--interval", "0.1")
    worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    statuses = [row.status for row in outbox()]
    assert statuses == ["sent"] * 7 + ["sending"] + ["pending"] * 32
    sent_before_kill = message_ids[:7]

    server.on_accept = lambda count: None
    restarted = start_worker(server.port, "--interval", "0.1")
    wait_until(lambda: {row.status for row in outbox()} == {DeliveryStatus.SENT})
    restarted.send_signal(signal.SIGTERM)
    output, _ = restarted.communicate(timeout=10)
    assert restarted.returncode == 0, output

    arrivals = Counter(email["Message-ID"] for email in server.messages)
    assert set(arrivals) == set(message_ids), "a message was lost or changed its Message-ID"
    assert all(arrivals[message_id] == 1 for message_id in sent_before_kill)
    repeated = [message_id for message_id, times in arrivals.items() if times > 1]
    assert repeated == [message_ids[7]] and arrivals[message_ids[7]] == 2
    assert len(server.messages) == 41


# Signal handling does not depend on the database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigterm_stops_the_worker_after_the_message_in_hand(
    app, start_smtp, start_worker, queue_messages
):
    message_ids = queue_messages(10)
    server = start_smtp(SlowRecorder(delay=0.02))

    def stop_at_the_fifth(count: int) -> None:
        if count == 5:  # the worker is waiting for the server's "250"
            worker.send_signal(signal.SIGTERM)

    server.on_accept = stop_at_the_fifth
    worker = start_worker(server.port, "--interval", "0.1")
    output, _ = worker.communicate(timeout=60)

    assert worker.returncode == 0, output
    rows = outbox()
    assert [row.status for row in rows] == ["sent"] * 5 + ["pending"] * 5
    assert [row.attempts for row in rows] == [1] * 5 + [0] * 5
    assert [email["Message-ID"] for email in server.messages] == message_ids[:5]
