"""The real worker process, killed mid-batch: no message is lost, none sent twice.

The only message that may arrive twice is the one in flight when the worker died:
the server accepted it, but the worker did not live to record that. It arrives again
with the same Message-ID, so a receiving server can drop the repeat.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from govern.mail.models import DeliveryStatus
from tests.mail.conftest import SlowRecorder, outbox

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 1


@pytest.fixture
def start_worker(app, tmp_path):
    """Run `flask --app govern worker` against the test database, as production would."""
    processes: list[subprocess.Popen] = []

    def start(smtp_port: int, *options: str) -> subprocess.Popen:
        environment = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "worker-test-secret",
            "GOVERN_ENV": "production",
            "PUBLIC_URL": "https://govern.test",
            "GOVERN_INSTANCE_PATH": str(tmp_path / "worker-instance"),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "MAIL_SENDING_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        command = [sys.executable, "-m", "flask", "--app", "govern", "worker", *options]
        process = subprocess.Popen(
            command,
            env=environment,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


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
