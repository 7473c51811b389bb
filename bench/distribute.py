"""Ballot mails per second: 10,000 personal ballot mails to a local SMTP server.

Builds a throwaway database (SQLite, and PostgreSQL when reachable) with 10,000 members
in good standing and a ballot opened on an amendment, then times one `distribute_ballots`
pass: a token, a claim committed before sending, the mail rendered and sent, the row
marked sent. The SMTP server (aiosmtpd) runs in a process of its own and only counts.
The baseline, measured in the same run, sends 10,000 ready-built copies of the same mail
over one connection to the same server, with no database and no rendering.

Run: .venv/bin/python bench/distribute.py [--mails 10000]
"""

import argparse
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ballots import acknowledged_amendment  # noqa: E402
from databases import temporary_postgres_url  # noqa: E402
from flask import current_app  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from govern import create_app  # noqa: E402
from govern.ballots import services as ballots  # noqa: E402
from govern.ballots.distribution import Claim, _ballot_email, distribute_ballots  # noqa: E402
from govern.ballots.models import RollEntry  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.mail.transports import SMTPTransport, sender_address  # noqa: E402
from govern.members.models import Member  # noqa: E402

AIM_PER_SECOND = 200
PARAGRAPHS = [
    f"Rule {n}: members treat each other with respect at every meeting." for n in range(40)
]
OLD_TEXT = "# Code of Conduct\n\n" + "\n\n".join(PARAGRAPHS) + "\n"
NEW_TEXT = OLD_TEXT.replace("Rule 7: members", "Rule 7: members and guests")


def serve_smtp(port, ready, count) -> None:
    """The SMTP server's process: accepts every message and counts it."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    asyncio.run(asyncio.Event().wait())  # until terminated


def start_smtp() -> tuple[multiprocessing.Process, int, object]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ready, count = multiprocessing.Event(), multiprocessing.Value("i", 0)
    process = multiprocessing.Process(target=serve_smtp, args=(port, ready, count), daemon=True)
    process.start()
    assert ready.wait(10), "the SMTP server did not start"
    return process, port, count


def open_ballot(mails: int) -> None:
    """A ballot on a one-word change to a 40-rule code, with `mails` members on the roll."""
    proposal = acknowledged_amendment(OLD_TEXT, NEW_TEXT, title="Guests", reason="Guests too.")
    db.session.execute(
        sa.insert(Member),
        [
            {"name": f"Member {n:05d}", "email": f"member{n:05d}@example.org"}
            for n in range(mails - len(proposal.members))
        ],
    )
    ballots.open_ballot(proposal.amendment, proposal.receiver)
    db.session.commit()


def baseline_rate(mails: int, port: int, count) -> float:
    """The same mail, built beforehand, sent `mails` times over one connection."""
    entry = db.session.scalar(sa.select(RollEntry).limit(1))
    claim = Claim(entry.id, ballots.new_token(), entry.ballot, entry.member)
    emails = [_ballot_email(claim, sender_address(), "example.org") for _ in range(mails)]
    transport = SMTPTransport({**current_app.config, "MAIL_PORT": port})
    before = count.value
    started = time.perf_counter()
    for email in emails:
        transport.send(email, 0)
    transport.close()
    elapsed = time.perf_counter() - started
    assert count.value - before == mails, "the server did not take every baseline mail"
    db.session.rollback()
    return mails / elapsed


def bench(label: str, url: str, mails: int, port: int, count) -> bool:
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "GOVERN_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        open_ballot(mails)
        print(f"\n{label}: ballot opened for {mails:,} members in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        baseline = baseline_rate(mails, port, count)
        before = count.value
        started = time.perf_counter()
        report = distribute_ballots()
        elapsed = time.perf_counter() - started
        assert report.sent == mails == count.value - before, (report, count.value - before)
        statuses = db.session.scalars(sa.select(RollEntry.mail_status).distinct()).all()
        assert statuses == ["sent"], statuses
        db.session.remove()
        db.engine.dispose()
    rate = mails / elapsed
    print(f"{'':<44} {'mails/s':>8} {'/ baseline':>11}")
    print(f"{'baseline: prebuilt mails, one connection':<44} {baseline:8.0f} {1:10.2f}x")
    print(f"{'distribute_ballots (claim, render, send)':<44} {rate:8.0f} {rate / baseline:10.2f}x")
    met = rate >= AIM_PER_SECOND
    print(f"aim: at least {AIM_PER_SECOND} ballot mails/s: {'met' if met else 'NOT met'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=10_000)
    mails = parser.parse_args().mails
    logging.getLogger("alembic").setLevel(logging.WARNING)
    server, port, count = start_smtp()
    ok = True
    try:
        with tempfile.TemporaryDirectory() as folder:
            os.environ["GOVERN_INSTANCE_PATH"] = folder
            ok &= bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", mails, port, count)
            with temporary_postgres_url("govern_bench_distribute") as url:
                if url:
                    ok &= bench("PostgreSQL", url, mails, port, count)
    finally:
        server.terminate()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
