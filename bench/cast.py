"""Votes cast per second through gunicorn, against a floor measured in the same run.

Builds a throwaway database (SQLite, and PostgreSQL when reachable) with a ballot open to
its members, serves the app with gunicorn as production would (bench/cast_app.py: the app
plus a floor endpoint), and posts from client threads, each a browser with its own session
cookie and CSRF token. The floor is the least a form post that writes can cost here: the
same server, CSRF check and client, one INSERT and a commit. Then each member votes once.
Prints requests/s, p50/p95 latency and votes/s as a share of the floor's writes/s.

Run: .venv/bin/python bench/cast.py [--votes 3000] [--clients 16] [--rounds 4]
     [--servers 4x1,2x4]
"""

import argparse
import http.client
import logging
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from queue import Empty, Queue
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ballots import acknowledged_amendment  # noqa: E402
from databases import temporary_postgres_url  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from govern import create_app  # noqa: E402
from govern.ballots import services as ballots  # noqa: E402
from govern.ballots.models import BallotCount, RollEntry  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.members.models import Member, new_login_id  # noqa: E402

AIM_SHARE = 0.6
AIM_SQLITE_VOTES = 300
WARM_UP = 200  # requests of each kind per run, left out of the numbers
TEXT = "# Code of Conduct\n\nBe kind.\n\nNo harassment.\n"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def fill(members: int) -> tuple[int, list[str]]:
    """A ballot open to `members` members; its id and their voting tokens."""
    proposal = acknowledged_amendment(TEXT, TEXT.replace("Be kind.", "Be kind and patient."))
    db.session.execute(
        sa.insert(Member),
        [
            {
                "name": f"Voter {n:06d}",
                "email": f"voter{n:06d}@example.org",
                "login_id": new_login_id(),
            }
            for n in range(members)
        ],
    )
    ballot = ballots.open_ballot(proposal.amendment, proposal.receiver)
    entries = db.session.execute(
        sa.select(RollEntry.id).where(
            RollEntry.ballot_id == ballot.id,
            RollEntry.member_id.not_in([member.id for member in proposal.members]),
        )
    ).scalars()
    tokens = {entry_id: ballots.new_token() for entry_id in entries}
    db.session.execute(
        sa.update(RollEntry),
        [{"id": key, "token_hash": ballots.hash_token(token)} for key, token in tokens.items()],
    )
    db.session.commit()
    return ballot.id, list(tokens.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, folder: str, workers: int, threads: int) -> tuple:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "GOVERN_ENV": "production",
        "PUBLIC_URL": "https://govern.bench",
        "GOVERN_INSTANCE_PATH": folder,
    }
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
               "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
               "--pythonpath", str(ROOT / "bench"), "--log-level", "warning",
               "cast_app:app"]  # fmt: skip
    server = subprocess.Popen(command, env=environment, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start") from None
            time.sleep(0.1)
    return server, port


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


class Browser:
    """A browser's connection, session cookie and the CSRF token of the vote page."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        status, html = self.request("GET", "/ballots/vote")
        assert status == 200, status
        self.csrf_token = CSRF.search(html).group(1)

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode({"csrf_token": getattr(self, "csrf_token", ""), **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookie = f"{name}={morsel.value}"
        return response.status, text


@dataclass
class Run:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, share: float) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(share * 100) - 1]


def load(port: int, clients: int, requests: list[tuple[str, dict, str]]) -> Run:
    """Post every request once, from `clients` browsers at once; time from the first to the
    last answer."""
    work: Queue = Queue()
    for request in requests:
        work.put(request)
    browsers = [Browser(port) for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    run = Run()
    lock = threading.Lock()

    def post(browser: Browser) -> None:
        start.wait()
        while True:
            try:
                path, form, expected = work.get_nowait()
            except Empty:
                return
            began = time.perf_counter()
            status, text = browser.request("POST", path, form)
            took = time.perf_counter() - began
            with lock:
                if status == 200 and expected in text:
                    run.latencies.append(took * 1000)
                else:
                    run.failures[status] += 1

    threads = [threading.Thread(target=post, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - began
    for browser in browsers:
        browser.connection.close()
    return run


def floor_requests(count: int) -> list[tuple[str, dict, str]]:
    return [("/bench/floor", {"note": f"floor {n}"}, "written") for n in range(count)]


def vote_requests(ballot_id: int, tokens: list[str]) -> list[tuple[str, dict, str]]:
    rng = random.Random(1848)
    return [
        (
            f"/ballots/{ballot_id}/cast",
            {"token": token, "choice": rng.choice(("yes", "no", "abstain"))},
            "Your vote was recorded",
        )
        for token in tokens
    ]


def measure(port: int, clients: int, ballot_id: int, tokens: list[str], votes: int,
            rounds: int) -> dict[str, Run]:  # fmt: skip
    """Floor and votes in alternating rounds, so that a change in the machine's load
    between them (other processes, the page cache) weighs on both alike."""
    load(port, clients, floor_requests(WARM_UP))
    load(port, clients, vote_requests(ballot_id, tokens[:WARM_UP]))
    tokens = tokens[WARM_UP:]
    runs = {"floor": Run(), "votes": Run()}
    size = votes // rounds
    for number in range(rounds):
        batches = {
            "floor": floor_requests(size),
            "votes": vote_requests(ballot_id, tokens[number * size : (number + 1) * size]),
        }
        for what, requests in batches.items():
            run = load(port, clients, requests)
            runs[what].seconds += run.seconds
            runs[what].latencies += run.latencies
            runs[what].failures += run.failures
    return runs


def bench(label: str, url: str, folder: str, arguments, servers: list[tuple[int, int]]) -> bool:
    votes, rounds = arguments.votes, arguments.rounds
    per_server = WARM_UP + votes // rounds * rounds
    app = create_app(
        {"SECRET_KEY": "bench", "GOVERN_ENV": "development", "SQLALCHEMY_DATABASE_URI": url}
    )
    with app.app_context():
        upgrade()
        ballot_id, tokens = fill(len(servers) * per_server)
        db.session.remove()
        db.engine.dispose()
    print(f"\n{label}: a ballot of {len(tokens):,} members; {arguments.clients} clients; "
          f"floor and votes alternate in {rounds} rounds")  # fmt: skip
    print(f"{'gunicorn':<20} {'what':<6} {'n':>6} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'/ floor':>8}")  # fmt: skip
    correct = True
    best_share = best_rate = 0.0
    for workers, threads in servers:
        server, port = start_gunicorn(url, folder, workers, threads)
        try:
            mine, tokens = tokens[:per_server], tokens[per_server:]
            runs = measure(port, arguments.clients, ballot_id, mine, votes, rounds)
        finally:
            stop(server)
        floor = runs["floor"].per_second
        name = f"{workers} workers x {threads} thr"
        for what, run in runs.items():
            failed = f"  failed: {dict(run.failures)}" if run.failures else ""
            print(f"{name:<20} {what:<6} {len(run.latencies):>6} {run.per_second:7.0f} "
                  f"{run.percentile(0.5):7.1f} {run.percentile(0.95):7.1f} "
                  f"{run.per_second / floor:7.2f}x{failed}")  # fmt: skip
            correct = correct and not run.failures
        best_share = max(best_share, runs["votes"].per_second / floor)
        best_rate = max(best_rate, runs["votes"].per_second)
    with app.app_context():
        counted = db.session.scalar(sa.select(sa.func.sum(BallotCount.count)))
        voted = db.session.scalar(sa.select(sa.func.count()).where(RollEntry.voted))
        db.session.remove()
        db.engine.dispose()
    expected = len(servers) * per_server
    print(f"counted {counted:,} votes of {voted:,} members marked voted (expected {expected:,})")
    correct = correct and counted == voted == expected
    aims = {f"votes/s >= {AIM_SHARE} x floor (best {best_share:.2f}x)": best_share >= AIM_SHARE}
    if label == "SQLite":
        aims[f"votes/s >= {AIM_SQLITE_VOTES} (best {best_rate:.0f})"] = (
            best_rate >= AIM_SQLITE_VOTES
        )
    for aim, met in aims.items():
        print(f"aim {aim}: {'met' if met else 'NOT met'}")
    return correct and all(aims.values())


def busy_share(seconds: float = 1.0) -> float:
    """How much of the machine's CPU time other processes take, over `seconds`."""

    def times() -> list[int]:
        with open("/proc/stat") as stat:
            return [int(field) for field in stat.readline().split()[1:]]

    try:
        before = times()
        time.sleep(seconds)
        after = times()
    except OSError:
        return 0.0
    spent = [b - a for a, b in zip(before, after, strict=True)]
    idle = spent[3] + spent[4]  # idle and waiting for I/O
    return 1 - idle / max(sum(spent), 1)


def parse_servers(text: str) -> list[tuple[int, int]]:
    pairs = [part.split("x") for part in text.split(",")]
    return [(int(workers), int(threads)) for workers, threads in pairs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=3000, help="votes timed per server")
    parser.add_argument("--clients", type=int, default=16, help="browsers posting at once")
    parser.add_argument("--rounds", type=int, default=4, help="floor/votes alternations")
    parser.add_argument("--servers", default="4x1,2x4", help="gunicorn workers x threads, ...")
    arguments = parser.parse_args()
    servers = parse_servers(arguments.servers)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ok = True
    busy = busy_share()
    print(f"{os.cpu_count()} cores, {busy:.0%} busy with other work before the run", end="")
    print(" (expect noisy numbers)" if busy > 0.25 else "")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        ok &= bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", folder, arguments, servers)
        with temporary_postgres_url("govern_bench_cast") as url:
            if url:
                ok &= bench("PostgreSQL", url, folder, arguments, servers)
    print(f"\n{busy_share():.0%} busy with other work after the run")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
