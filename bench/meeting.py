"""Server time of the pages a chair keeps open during a meeting of 1,000 members present.

Builds a throwaway database (SQLite, and PostgreSQL when reachable) with 1,000 members
checked in to one meeting, an agenda item with a long speakers queue and its history
(who already spoke), and times requests through Flask's test client, signed in as the
chair: the meeting page, the speakers queue, the attendance page and the presence
count the meeting page polls, against the 404 page and the start page in the same run.

Run: .venv/bin/python bench/meeting.py [--repetitions 200]
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

from databases import temporary_postgres_url  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from govern import create_app  # noqa: E402
from govern.extensions import db  # noqa: E402
from govern.meetings.models import (  # noqa: E402
    AgendaItem,
    Attendance,
    Meeting,
    SpeakerRequest,
)
from govern.members.models import Member, MemberRole  # noqa: E402

MEMBERS = 1_000
WAITING = 60  # asking to speak now
SPOKE = 300  # turns already taken on the item
AIM_P95_MS = 100
PASSWORD = "bench-password"
START = datetime(2030, 5, 4, 18, 0, tzinfo=UTC)


def fill() -> tuple[int, int]:
    """The chair, 1,000 members checked in, a meeting with a busy item; its ids."""
    cheap = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    chair = Member(name="Chris Chair", email="chair@example.org", password_hash=cheap)
    chair.role_rows = [MemberRole(role="chair")]
    db.session.add(chair)
    meeting = Meeting(
        title="Annual general meeting",
        kind="regular",
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        place="Union hall",
        uid="bench-meeting@govern.test",
        check_in_code="K7P2QX",
        check_in_open=True,
    )
    db.session.add(meeting)
    db.session.flush()
    db.session.execute(
        sa.insert(Member),
        [
            {
                "name": f"Member {number:04d}",
                "email": f"member{number}@example.org",
                "standing": "active" if number % 20 else "suspended",
                "login_id": f"bench-login-{number}",
                "created_at": START,
            }
            for number in range(MEMBERS)
        ],
    )
    member_ids = db.session.scalars(sa.select(Member.id).where(Member.id != chair.id)).all()
    items = [
        AgendaItem(meeting=meeting, position=position, title=title)
        for position, title in enumerate(["Welcome", "Rent strike", "Any other business"], 1)
    ]
    db.session.add_all(items)
    db.session.flush()
    busy = items[1]
    db.session.execute(
        sa.insert(Attendance),
        [
            {"meeting_id": meeting.id, "member_id": member_id, "checked_in_at": START}
            for member_id in member_ids
        ],
    )
    turns = [
        {
            "agenda_item_id": busy.id,
            "member_id": member_ids[number % len(member_ids)],
            "requested_at": START + timedelta(seconds=number),
            "status": "done",
            "started_at": START + timedelta(seconds=60 * number),
            "ended_at": START + timedelta(seconds=60 * number + 45),
        }
        for number in range(SPOKE)
    ]
    turns += [
        {
            "agenda_item_id": busy.id,
            "member_id": member_ids[(SPOKE // 2 + number) % len(member_ids)],
            "requested_at": START + timedelta(hours=2, seconds=number),
            "status": "waiting",
            "priority": 1 if number % 3 == 0 else 0,
        }
        for number in range(WAITING)
    ]
    db.session.execute(sa.insert(SpeakerRequest), turns)
    db.session.commit()
    return meeting.id, busy.id


def request_ms(client, url: str) -> float:
    expected = 404 if "no-such" in url else 200
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == expected, (url, response.status_code)
    return elapsed


def percentile(times: list[float], share: float) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[int(share * 100) - 1]


def bench(label: str, url: str, repetitions: int) -> bool:
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "GOVERN_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        meeting_id, item_id = fill()
        print(f"\n{label}: {MEMBERS} members checked in, {SPOKE} turns taken and {WAITING} "
              f"waiting on one item; filled in {time.perf_counter() - started:.1f} s")  # fmt: skip
    client = app.test_client()
    signed_in = client.post(
        "/auth/sign-in", data={"email": "chair@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 302, signed_in.status_code
    pages = {
        "meeting page": f"/meetings/{meeting_id}",
        "speakers queue": f"/meetings/{meeting_id}/items/{item_id}/queue",
        "attendance page": f"/meetings/{meeting_id}/attendance",
        "presence count (polled)": f"/meetings/{meeting_id}/presence.json",
    }
    baselines = {"baseline: 404 page": "/no-such-page", "baseline: start page": "/"}
    for path in (*pages.values(), *baselines.values()):
        request_ms(client, path)  # templates compiled, connections made
    times = {
        name: [request_ms(client, path) for _ in range(repetitions)]
        for name, path in {**baselines, **pages}.items()
    }
    baseline = percentile(times["baseline: 404 page"], 0.5)
    print(f"{'page':<26} {'p50 ms':>8} {'p95 ms':>8} {'p50/404':>8}")
    met = True
    for name, samples in times.items():
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        print(f"{name:<26} {p50:8.1f} {p95:8.1f} {p50 / baseline:7.1f}x")
        if name in ("meeting page", "speakers queue"):
            met = met and p95 < AIM_P95_MS
    verdict = "met" if met else "NOT met"
    print(f"aim p95 < {AIM_P95_MS} ms for the meeting page and the speakers queue: {verdict}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=200, help="requests per page")
    repetitions = parser.parse_args().repetitions
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        ok &= bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", repetitions)
        with temporary_postgres_url("govern_bench_meeting") as url:
            if url:
                ok &= bench("PostgreSQL", url, repetitions)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
