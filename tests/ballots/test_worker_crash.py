"""The real worker process, killed twice while it mails a ballot to 2,000 members.

No member gets two ballot mails. The only mail in doubt after a kill is the one in flight:
the server took it, but the worker did not live to record that, so its row ends
`uncertain` instead of being sent again.
"""

import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser

import pytest
import sqlalchemy as sa

from govern.ballots import services as ballots
from govern.ballots.models import MailStatus, RollEntry
from govern.extensions import db
from govern.members.models import Member
from tests.conftest import wait_until

CROWD = 2_000
KILLS_AT = (500, 1_200)  # messages the server has taken when the worker is killed


class Recorder:
    """Keeps who each ballot mail went to, reading only the headers: the server must keep
    up with the worker. `on_accept(count)` runs before the client hears "250"."""

    def __init__(self) -> None:
        self.ballot_mails_to: list[str] = []
        self.accepted = 0
        self.on_accept: Callable[[int], None] = lambda count: None

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.original_content)
        if headers["Subject"].startswith("Ballot:"):
            self.ballot_mails_to.append(headers["To"])
        self.accepted += 1
        self.on_accept(self.accepted)
        return "250 Message accepted for delivery"


def mail_statuses() -> dict[str, str]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Member.email, RollEntry.mail_status).join(
            RollEntry, RollEntry.member_id == Member.id
        )
    )
    return dict(rows.all())


@pytest.mark.slow
def test_a_worker_killed_while_mailing_a_ballot_never_mails_a_member_twice(
    app, ready, receiver, clock, start_smtp, start_worker
):
    clock.current = datetime.now(UTC)  # the worker process keeps the real time
    db.session.execute(
        sa.insert(Member),
        [{"name": f"Crowd {n}", "email": f"crowd{n:04d}@example.org"} for n in range(CROWD)],
    )
    ballots.open_ballot(ready, receiver)
    db.session.commit()
    server = start_smtp(Recorder())
    workers: list[subprocess.Popen] = []

    def kill_at(count: int) -> None:
        if count in KILLS_AT:  # the server has the mail; the worker has not heard "250"
            workers[-1].send_signal(signal.SIGKILL)

    server.on_accept = kill_at
    for _kill in KILLS_AT:
        workers.append(start_worker(server.port, "--interval", "0.1"))
        assert workers[-1].wait(timeout=60) == -signal.SIGKILL
    workers.append(start_worker(server.port, "--interval", "0.1"))
    done = {MailStatus.SENT, MailStatus.UNCERTAIN}
    wait_until(lambda: set(mail_statuses().values()) <= done, timeout=60, every=0.1)
    workers[-1].send_signal(signal.SIGTERM)
    output, _ = workers[-1].communicate(timeout=10)
    assert workers[-1].returncode == 0, output

    statuses = mail_statuses()
    received = Counter(server.ballot_mails_to)
    assert len(statuses) >= CROWD and set(received) <= set(statuses)
    assert max(received.values()) == 1, "a member got two ballot mails"
    sent = {email for email, status in statuses.items() if status == MailStatus.SENT}
    in_doubt = {email for email, status in statuses.items() if status == MailStatus.UNCERTAIN}
    assert len(in_doubt) <= len(KILLS_AT)
    assert all(received[email] == 1 for email in sent)
    assert len(sent) == len(received) - len(in_doubt & set(received))
