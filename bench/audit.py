"""What the hash-chained audit trail costs, against baselines measured in the same run.

1. Appending: `--actions` transactions each record one audit event and commit (the head's
   lock, the hash, the insert), against the same number of transactions each inserting one
   row of the same shape into a plain table and committing.
2. Verifying: `flask audit verify` over `--events` events (built in bulk, correctly
   chained), against reading the same rows once in the same batches, hashing nothing.

On SQLite, and on PostgreSQL when reachable. The ratios are what to compare between runs:
absolute times on a shared machine mean little.

Run: .venv/bin/python bench/audit.py [--actions 2000] [--events 100000]
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from databases import temporary_postgres_url  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from govern import audit, create_app  # noqa: E402
from govern.audit.hashing import canonical_json, event_hash  # noqa: E402
from govern.audit.models import GENESIS_HASH, AuditEvent, AuditHead  # noqa: E402
from govern.extensions import db  # noqa: E402

START = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
PLAIN = sa.table(
    "bench_plain",
    *(sa.column(name) for name in ("seq", "at", "action", "subject_id", "data", "hash")),
)


def make_app(url: str):
    app = create_app(
        {
            "GOVERN_ENV": "development",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
        }
    )
    with app.app_context():
        upgrade()
        db.session.execute(
            sa.text(
                "CREATE TABLE bench_plain (seq INTEGER PRIMARY KEY, at VARCHAR(40), "
                "action VARCHAR(64), subject_id INTEGER, data TEXT, hash VARCHAR(64))"
            )
        )
        db.session.commit()
    return app


def time_appends(actions: int) -> tuple[float, float]:
    """Seconds for `actions` audited commits, and for as many plain one-row commits."""
    started = time.perf_counter()
    for number in range(actions):
        db.session.execute(
            sa.insert(PLAIN).values(
                seq=number + 1,
                at=START.isoformat(),
                action="bench.plain",
                subject_id=number,
                data='{"n":1}',
                hash="0" * 64,
            )
        )
        db.session.commit()
    plain = time.perf_counter() - started
    started = time.perf_counter()
    for number in range(actions):
        audit.record("bench.action", None, ("bench", number), n=number)
        db.session.commit()
    chained = time.perf_counter() - started
    return chained, plain


def fill_chain(events: int) -> None:
    """`events` events after the head, correctly chained, inserted in bulk."""
    seq, prev = db.session.execute(sa.select(AuditHead.seq, AuditHead.hash)).one()
    batch = []
    for offset in range(events):
        seq += 1
        row = {
            "seq": seq,
            "at": START + timedelta(seconds=offset),
            "actor_id": None,
            "actor_name": "",
            "action": "bench.filled",
            "subject_type": "bench",
            "subject_id": offset,
            "data": canonical_json({"n": offset, "note": "x" * 40}),
            "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(**row)
        batch.append(row)
        if len(batch) == 5000:
            db.session.execute(sa.insert(AuditEvent), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(AuditEvent), batch)
    db.session.execute(sa.update(AuditHead).values(seq=seq, hash=prev))
    db.session.commit()


def time_verify() -> tuple[float, float, int]:
    db.session.expunge_all()
    started = time.perf_counter()
    report = audit.verify()
    verify_seconds = time.perf_counter() - started
    assert report.ok, report.problems
    db.session.expunge_all()
    started = time.perf_counter()
    after, rows = 0, 0
    while True:
        batch = list(
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
                .limit(2000)
            )
        )  # fmt: skip
        rows += len(batch)
        if len(batch) < 2000:
            break
        after = batch[-1].seq
        db.session.expunge_all()
    read_seconds = time.perf_counter() - started
    return verify_seconds, read_seconds, report.events


def run(name: str, url: str, actions: int, events: int) -> None:
    app = make_app(url)
    with app.app_context():
        chained, plain = time_appends(actions)
        print(
            f"{name}: {actions} audited commits {chained:.2f} s "
            f"({actions / chained:.0f}/s) vs plain one-row commits {plain:.2f} s: "
            f"ratio {chained / plain:.2f}"
        )
        fill_chain(events)
        verify_seconds, read_seconds, checked = time_verify()
        print(
            f"{name}: verify {checked} events {verify_seconds:.2f} s "
            f"({checked / verify_seconds:.0f}/s) vs reading them {read_seconds:.2f} s: "
            f"ratio {verify_seconds / read_seconds:.2f}"
        )
        assert db.session.execute(sa.select(AuditHead.hash)).scalar() != GENESIS_HASH
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=2000)
    parser.add_argument("--events", type=int, default=100_000)
    arguments = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        run("SQLite", f"sqlite:///{folder}/bench.sqlite3", arguments.actions, arguments.events)
        with temporary_postgres_url("govern_bench_audit") as url:
            if url:
                run("PostgreSQL", url, arguments.actions, arguments.events)


if __name__ == "__main__":
    main()
