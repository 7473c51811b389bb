"""Nothing lost: gunicorn, master and workers, killed in the middle of a burst of votes.

Every vote answered "recorded" before the kill is counted; no vote is half recorded (the
roll, the counts, the receipts and the receipt mails always agree); a vote whose answer
never came either counted whole or not at all, and its member can vote again after the
restart only in the second case. The voting tokens appear in no log of the server.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from govern.ballots import closing
from govern.ballots import services as ballots
from govern.ballots.models import Ballot, BallotCount, Receipt, RollEntry
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import Member
from tests.ballots.test_concurrency import Crowd, add_members, give_tokens
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
CROWD = 600
KILL_AFTER = 150  # votes answered "recorded"


class Gunicorn:
    """The app served as production serves it: gunicorn, two workers of four threads, over
    the test's database, with its access and error logs in files."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.database_url = database_url
        self.folder = folder
        self.access_log = folder / "access.log"
        self.error_log = folder / "error.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "gunicorn-test-secret",
            "GOVERN_ENV": "production",
            "PUBLIC_URL": "https://govern.test",
            "GOVERN_INSTANCE_PATH": str(self.folder / "instance"),
        }
        command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4",
                   "--bind", f"127.0.0.1:{port}", "--access-logfile", str(self.access_log),
                   "--error-logfile", str(self.error_log), "govern:create_app()"]  # fmt: skip
        # A session of its own: its process group is the master and all its workers.
        self.process = subprocess.Popen(command, env=environment, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return f"http://127.0.0.1:{port}"
            except OSError:
                assert self.process.poll() is None, self.error_log.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: no cleanup, no graceful end."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def logs(self) -> str:
        return self.access_log.read_text() + self.error_log.read_text()


@pytest.fixture
def gunicorn(database_url, tmp_path):
    server = Gunicorn(database_url, tmp_path / "gunicorn")
    server.folder.mkdir()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


def tallies(ballot: Ballot) -> dict[str, int]:
    """The four records a vote leaves, which agree whenever a transaction has ended."""
    db.session.expire_all()

    def count(model, *conditions) -> int:
        statement = sa.select(sa.func.count()).select_from(model).where(*conditions)
        return db.session.scalar(statement)

    return {
        "counted": db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(BallotCount.count), 0)).filter_by(
                ballot_id=ballot.id
            )
        ),
        "voted": count(RollEntry, RollEntry.ballot_id == ballot.id, RollEntry.voted),
        "receipts": count(Receipt, Receipt.ballot_id == ballot.id),
        "receipt mails": count(
            OutboxMessage, OutboxMessage.subject.like("Your vote was recorded%")
        ),
    }


def wait_for_killed_connections(is_postgresql: bool) -> None:
    """PostgreSQL ends the transactions of the killed workers once it sees their connections
    close; read only after that, so that nothing commits behind the test's back."""
    if not is_postgresql:
        return
    others = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state <> 'idle'"
    )
    deadline = time.monotonic() + 10
    while db.session.scalar(others):
        db.session.rollback()
        assert time.monotonic() < deadline, "the killed workers' transactions did not end"
        time.sleep(0.05)
    db.session.rollback()


@pytest.mark.slow
def test_no_vote_answered_recorded_is_lost_when_gunicorn_is_killed_mid_burst(
    app, ready, receiver, clock, gunicorn, is_postgresql
):
    clock.current = datetime.now(UTC)  # the server keeps the real time
    add_members(CROWD)
    ballot = ballots.open_ballot(ready, receiver)
    db.session.commit()
    ballot_id = ballot.id
    tokens = give_tokens(ballot)
    crowd = db.session.scalars(
        sa.select(RollEntry.member_id)
        .join(Member)
        .where(RollEntry.ballot_id == ballot_id, Member.email.like("crowd%"))
        .order_by(RollEntry.member_id)
    ).all()
    member_of = {tokens[member_id]: member_id for member_id in crowd}
    work = [
        (tokens[member_id], ("yes", "no", "yes", "abstain")[n % 4])
        for n, member_id in enumerate(crowd)
    ]

    voting = Crowd(gunicorn.start(), ballot_id, work, threads=16)
    try:
        assert voting.wait_for(KILL_AFTER), "the burst did not get going"
        gunicorn.kill()
    finally:
        voting.stop()
    assert voting.errors == []
    wait_for_killed_connections(is_postgresql)

    assert set(voting.statuses()) == {200, None}, voting.statuses()
    recorded = {token: answer.receipt for token, answer in voting.answers.items() if answer}
    unanswered = {token for token, answer in voting.answers.items() if answer is None}
    assert len(recorded) >= KILL_AFTER and unanswered, "not killed in the middle of the burst"
    after_kill = tallies(ballot)
    assert len(set(after_kill.values())) == 1, after_kill  # no half-recorded vote
    voted_members = set(
        db.session.scalars(
            sa.select(RollEntry.member_id).filter_by(ballot_id=ballot_id, voted=True)
        )
    )
    voted = {token for token, member_id in member_of.items() if member_id in voted_members}
    assert set(recorded) <= voted
    assert set(recorded.values()) <= set(closing.receipt_codes(ballot))
    # Beyond those answered, only votes whose answer was cut off may have counted.
    assert voted - set(recorded) <= unanswered

    rest = [(token, choice) for token, choice in work if token not in recorded]
    again = Crowd(gunicorn.start(), ballot_id, rest, threads=16)
    try:
        again.join()
    finally:
        again.stop()
    assert len(again.answers) == len(rest) and set(again.statuses()) <= {200, 409}
    refused = {token for token, answer in again.answers.items() if answer.status == 409}
    assert refused == voted - set(recorded)  # counted before the kill: "already voted"

    final = tallies(ballot)
    assert final == dict.fromkeys(final, CROWD)
    counts = dict(
        db.session.execute(
            sa.select(BallotCount.choice, BallotCount.count).filter_by(ballot_id=ballot_id)
        ).all()
    )
    assert counts == Counter(choice for _, choice in work)
    receipts = set(recorded.values()) | {receipt for _, receipt in again.recorded()}
    assert len(receipts) == CROWD - len(refused)
    assert receipts <= set(closing.receipt_codes(ballot))

    logs = gunicorn.logs()
    assert f"POST /ballots/{ballot_id}/cast" in logs  # the access log was written
    assert not any(token in logs for token in tokens.values())
    assert "Traceback" not in logs
