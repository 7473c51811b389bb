"""Time closing a ballot of 100,000 voters against a baseline measured in the same run.

Builds a throwaway database (SQLite, and PostgreSQL when reachable) with 100,000 members,
opens a ballot on them (the roll is copied inside the database, as in production), marks
four in five as voted and sets the counts to match, all in bulk. Then it times
`close_ballot` and the commit, as the worker runs them once the week is over, against one
`SELECT count(*)` over the ballot's 100,000 roll rows: the least a tally could read.
The close is timed a few times rolled back (warm), then once for real, committed.

Run: .venv/bin/python bench/tally.py [--voters 100000] [--repetitions 3]
"""

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ballots import acknowledged_amendment  # noqa: E402
from databases import temporary_postgres_url  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from govern import clock, create_app  # noqa: E402
from govern.ballots import closing  # noqa: E402
from govern.ballots import services as ballots  # noqa: E402
from govern.ballots.models import Ballot, BallotCount, RollEntry  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.members.models import Member  # noqa: E402
from govern.types import UTCDateTime  # noqa: E402

AIM_SECONDS = 0.5
OPENED_AT = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
TEXT = "# Bylaws\n\nThe assembly meets once a year.\n"


def add_members(count: int) -> None:
    """`count` members in good standing, made inside the database by one INSERT ... SELECT."""
    numbers = sa.select(sa.literal(1).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(sa.select(numbers.c.n + 1).where(numbers.c.n < count))
    number = sa.cast(numbers.c.n, sa.String)
    rows = sa.select(
        sa.literal("Voter ") + number,
        sa.literal("voter") + number + sa.literal("@example.org"),
        sa.literal("active"),
        sa.literal("bench-login-") + number,
        sa.literal(OPENED_AT - timedelta(days=30), UTCDateTime()),
    )
    columns = ["name", "email", "standing", "login_id", "created_at"]
    db.session.execute(sa.insert(Member).from_select(columns, rows))


def fill(voters: int) -> Ballot:
    """A ballot of `voters` members, four in five of whom voted: 45% yes, 45% no, 10%
    abstain."""
    proposal = acknowledged_amendment(
        TEXT,
        TEXT.replace("once a year", "twice a year"),
        document="Bylaws",
        slug="bylaws",
        title="Twice",
        reason="More often.",
    )
    # With the proposal's three, exactly `voters` on the roll.
    add_members(voters - len(proposal.members))
    ballot = ballots.open_ballot(proposal.amendment, proposal.receiver)
    db.session.execute(
        sa.update(RollEntry)
        .where(RollEntry.ballot_id == ballot.id, RollEntry.member_id % 5 != 0)
        .values(voted=True, voted_at=OPENED_AT + timedelta(days=1))
    )
    voted = db.session.scalar(
        sa.select(sa.func.count()).where(RollEntry.ballot_id == ballot.id, RollEntry.voted)
    )
    yes = no = voted * 45 // 100
    for choice, count in {"yes": yes, "no": no, "abstain": voted - yes - no}.items():
        db.session.execute(
            sa.update(BallotCount).filter_by(ballot_id=ballot.id, choice=choice).values(count=count)
        )
    db.session.commit()
    return ballot


def count_roll(ballot_id: int) -> int:
    statement = sa.select(sa.func.count()).where(RollEntry.ballot_id == ballot_id)
    return db.session.scalar(statement)


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bench(label: str, url: str, voters: int, repetitions: int) -> bool:
    clock.set_now(lambda: OPENED_AT)
    app = create_app(
        {"SECRET_KEY": "bench", "GOVERN_ENV": "development", "SQLALCHEMY_DATABASE_URI": url}
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        ballot = fill(voters)
        ballot_id = ballot.id
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within the week after so many votes.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
                raw.execute(sa.text("VACUUM ANALYZE"))
        print(f"\n{label}: {ballot.roll_size:,} on the roll; filled in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        assert count_roll(ballot_id) == voters
        db.session.rollback()

        closes_at = ballot.closes_at
        clock.set_now(lambda: closes_at + timedelta(seconds=1))
        baseline = statistics.median(
            timed(lambda: count_roll(ballot_id)) for _ in range(max(repetitions, 5))
        )
        db.session.rollback()

        def close_and_undo() -> None:
            assert closing.close_ballot(db.session.get(Ballot, ballot_id))
            db.session.rollback()

        warm = [timed(close_and_undo) for _ in range(repetitions)]

        def close_and_commit() -> None:
            assert closing.close_ballot(db.session.get(Ballot, ballot_id))
            db.session.commit()

        closed = timed(close_and_commit)
        forgetting = timed(closing.forget_vote_order)
        ballot = db.session.get(Ballot, ballot_id)
        expected_voters = voters - voters // 5
        assert ballot.voters == expected_voters, ballot.voters
        assert ballot.yes + ballot.no + ballot.abstain == expected_voters
        db.session.remove()
        db.engine.dispose()
    clock.set_now(None)

    print(f"{'':<44} {'ms':>8} {'/ count(*)':>11}")
    rows = {
        "baseline: SELECT count(*) over the roll": baseline,
        f"close_ballot, rolled back (median of {repetitions})": statistics.median(warm),
        "close_ballot + commit (the real close)": closed,
        "then forget_vote_order (checkpoint/VACUUM)": forgetting,
    }
    for name, seconds in rows.items():
        print(f"{name:<44} {seconds * 1000:8.1f} {seconds / baseline:10.1f}x")
    met = closed < AIM_SECONDS
    print(f"aim close + commit under {AIM_SECONDS} s: {'met' if met else 'NOT met'}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=100_000)
    parser.add_argument("--repetitions", type=int, default=3)
    arguments = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        url = f"sqlite:///{folder}/bench.sqlite3"
        ok &= bench("SQLite", url, arguments.voters, arguments.repetitions)
        with temporary_postgres_url("govern_bench_tally") as url:
            if url:
                ok &= bench("PostgreSQL", url, arguments.voters, arguments.repetitions)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
