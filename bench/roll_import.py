"""Time the member roll import of 10,000 rows against baselines measured in the same run.

Builds a throwaway database (SQLite, and PostgreSQL when reachable), imports a roll of
10,000 members as `flask members import` does, then checks the same file again (every
row unchanged). The baselines are Python's csv module parsing the same file and a plain
INSERT of the same 10,000 rows through executemany; times are printed with their ratio
to each baseline, so a slower machine does not read as a slower import.

Run: .venv/bin/python bench/roll_import.py [--rows 10000] [--repetitions 3]
"""

import argparse
import csv
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from databases import temporary_postgres_url  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from govern import create_app  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.members.models import Member, MemberChange, MemberRole  # noqa: E402
from govern.members.roll import check_roll, decode, import_roll  # noqa: E402


def make_roll(rows: int) -> bytes:
    """The roll the tests import: every 100th member a chair, every 7th lapsed."""
    lines = ["name,email,roles,standing"] + [
        f"Member {number:05d},member{number:05d}@example.org,"
        f"{'chair' if number % 100 == 0 else ''},{'lapsed' if number % 7 == 0 else 'active'}"
        for number in range(rows)
    ]
    return "".join(f"{line}\r\n" for line in lines).encode()


def median_time(run: Callable[[], object], repetitions: int, reset: Callable[[], None]) -> float:
    times = []
    for _ in range(repetitions):
        reset()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def parse_with_csv_module(data: bytes) -> None:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) > 1


PLAIN = sa.Table(
    "bench_plain_members",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("email", sa.String(254), unique=True),
    sa.Column("roles", sa.String(100)),
    sa.Column("standing", sa.String(16)),
)


def insert_plainly(data: bytes) -> None:
    """The floor for writing the rows: one INSERT statement, executemany, one commit."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    with db.engine.begin() as connection:
        connection.execute(sa.insert(PLAIN), rows)


def clear_plain_table() -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.delete(PLAIN))


def clear_roll() -> None:
    db.session.rollback()
    for model in (MemberChange, MemberRole, Member):
        db.session.execute(sa.delete(model))
    db.session.commit()


def import_file(data: bytes, rows: int) -> None:
    report = import_roll(data, actor=None)
    db.session.commit()
    assert (report.added, report.applied) == (rows, True), "the import did not add every row"


def check_again(data: bytes, rows: int) -> None:
    report = check_roll(decode(data), actor=None)
    db.session.rollback()
    assert report.unchanged == rows, "the re-check found rows that were not unchanged"


def bench(label: str, url: str, data: bytes, rows: int, repetitions: int) -> None:
    app = create_app(
        {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False}
    )
    with app.app_context():
        upgrade()
        PLAIN.create(db.engine)
        results = {
            "baseline: csv module parse": median_time(
                lambda: parse_with_csv_module(data), repetitions, lambda: None
            ),
            "baseline: plain INSERT, executemany": median_time(
                lambda: insert_plainly(data), repetitions, clear_plain_table
            ),
            "import (check, then add all)": median_time(
                lambda: import_file(data, rows), repetitions, clear_roll
            ),
            "re-check of the same file": median_time(
                lambda: check_again(data, rows), repetitions, lambda: None
            ),
        }
        PLAIN.drop(db.engine)
        db.session.remove()
        db.engine.dispose()
    parse, insert = list(results.values())[:2]
    print(f"\n{label}")
    print(f"{'':<38} {'median s':>9} {'/ csv parse':>12} {'/ INSERT':>9}")
    for name, seconds in results.items():
        print(f"{name:<38} {seconds:9.3f} {seconds / parse:11.1f}x {seconds / insert:8.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repetitions", type=int, default=3)
    arguments = parser.parse_args()
    rows, repetitions = arguments.rows, arguments.repetitions
    logging.getLogger("alembic").setLevel(logging.WARNING)
    data = make_roll(rows)
    print(f"Roll of {rows:,} rows ({len(data) / 1000:.0f} KB); median of {repetitions} runs each.")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        os.environ["GOVERN_ENV"] = "development"
        bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", data, rows, repetitions)
        with temporary_postgres_url("govern_bench_roll") as url:
            if url:
                bench("PostgreSQL", url, data, rows, repetitions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
