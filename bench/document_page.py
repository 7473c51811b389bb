"""Server time of the document pages for a document with 500 versions.

Builds a throwaway database (SQLite, and PostgreSQL when reachable), fills it with one
document of 500 versions of ~20-50 KB each, and times requests through Flask's test
client: the document page, the versions (history) page and a compare page, against a
trivial page measured in the same run.

Run: .venv/bin/python bench/document_page.py [--repetitions 200]
"""

import argparse
import hashlib
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from govern import create_app  # noqa: E402
from govern.documents.models import Document, Version  # noqa: E402
from govern.extensions import db  # noqa: E402

POSTGRES_URL = os.environ.get(
    "GOVERN_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VERSIONS = 500
SEED = 1848
AIM_P95_MS = 50
VOCABULARY = (
    "member members assembly meeting shall may vote quorum majority present elect notice "
    "written days amendment article section committee chair steering grievance officer "
    "receiver ballot within unless provided that any each the of to in on for with as is"
)
WORDS = VOCABULARY.split()


def make_texts(rng: random.Random) -> list[str]:
    """500 versions growing from ~20 KB to ~50 KB, a few words changed each time."""
    paragraphs = [f"# Bylaws\n\n## Article 1: {rng.choice(WORDS).title()}"]
    while sum(map(len, paragraphs)) < 20_000:
        paragraphs.append(_paragraph(rng, len(paragraphs)))
    texts = []
    for _ in range(VERSIONS):
        for _edit in range(rng.randint(1, 4)):
            index = rng.randrange(1, len(paragraphs))
            if paragraphs[index].startswith("#"):
                continue
            words = paragraphs[index].split(" ")
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            paragraphs[index] = " ".join(words)
        if rng.random() < 0.15:
            at = rng.randrange(1, len(paragraphs) + 1)
            paragraphs.insert(at, _paragraph(rng, len(paragraphs)))
        texts.append("\n\n".join(paragraphs) + "\n")
    return texts


def _paragraph(rng: random.Random, number: int) -> str:
    if number and rng.random() < 0.1:
        return f"## Article {number}: {' '.join(rng.choices(WORDS, k=3)).title()}"
    return " ".join(rng.choices(WORDS, k=rng.randint(20, 80))).capitalize() + "."


def fill(texts: list[str]) -> None:
    document = Document(title="Bylaws", slug="bylaws", format="markdown")
    db.session.add(document)
    db.session.flush()
    start = datetime(2000, 1, 1, tzinfo=UTC)
    rows = [
        {
            "document_id": document.id,
            "number": number,
            "text": text,
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "summary": f"Amendment {number}",
            "source": "imported",
            "effective_at": start + timedelta(days=10 * number),
            "created_at": start,
        }
        for number, text in enumerate(texts, start=1)
    ]
    db.session.execute(sa.insert(Version), rows)
    db.session.commit()


def timed(client, url: str, repetitions: int) -> list[float]:
    expected = 404 if "no-such" in url else 200
    for _ in range(3):  # warm caches, as a running server would have them
        assert client.get(url).status_code == expected, url
    times = []
    for _ in range(repetitions):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expected, url
    return times


def percentile(times: list[float], share: float) -> float:
    return statistics.quantiles(times, n=100, method="inclusive")[int(share * 100) - 1]


def clear_caches() -> None:
    """Each database starts cold: no rendering, history or diff kept from the last run."""
    from govern.documents import rendering, services

    rendering.render_text.cache_clear()
    rendering._history_list.cache_clear()
    services._diff.cache_clear()


def bench(label: str, url: str, texts: list[str], repetitions: int) -> bool:
    clear_caches()
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "GOVERN_ENV": "development",
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        fill(texts)
        filled = time.perf_counter() - started
        size = sum(map(len, texts)) / 1e6
        print(f"\n{label}: {VERSIONS} versions ({size:.1f} MB of text) inserted in {filled:.2f} s")
    client = app.test_client()
    pages = [
        ("baseline: 404 page", "/no-such-page"),
        ("baseline: start page", "/"),
        ("document page", "/documents/bylaws"),
        ("versions/history page", "/documents/bylaws/versions/"),
        ("old version page", "/documents/bylaws/versions/250"),
        ("compare 499 -> 500, redline", "/documents/bylaws/compare?old=499&new=500"),
        ("compare 499 -> 500, side", "/documents/bylaws/compare?old=499&new=500&view=side"),
        ("compare 1 -> 500, redline", "/documents/bylaws/compare?old=1&new=500"),
    ]
    cold = {}
    with app.app_context():
        for name, path in pages[2:]:
            started = time.perf_counter()
            client.get(path)
            cold[name] = (time.perf_counter() - started) * 1000
    results = {name: timed(client, path, repetitions) for name, path in pages}
    baseline = percentile(results["baseline: 404 page"], 0.5)
    # "first": the first request after start-up (templates compiled, caches empty).
    print(f"{'page':<30} {'first':>8} {'p50 ms':>8} {'p95 ms':>8} {'p50/404':>8}")
    ok = True
    for name, times in results.items():
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        first = f"{cold[name]:8.1f}" if name in cold else " " * 8
        print(f"{name:<30} {first} {p50:8.1f} {p95:8.1f} {p50 / baseline:7.1f}x")
        if not name.startswith("baseline"):
            ok = ok and p95 < AIM_P95_MS
    print(f"aim p95 < {AIM_P95_MS} ms on every document page: {'met' if ok else 'NOT met'}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return ok


def postgres_database() -> tuple[sa.Engine, str] | None:
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        print(f"\nPostgreSQL not reachable at {POSTGRES_URL} ({error.orig}); skipped.")
        admin.dispose()
        return None
    return admin, f"govern_bench_{os.getpid()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=200)
    repetitions = parser.parse_args().repetitions
    logging.getLogger("alembic").setLevel(logging.WARNING)
    texts = make_texts(random.Random(SEED))
    print(f"Versions of {len(texts[0]) // 1000}-{len(texts[-1]) // 1000} KB; "
          f"{repetitions} requests per page, after 3 warm-up requests.")  # fmt: skip
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        ok &= bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", texts, repetitions)
        found = postgres_database()
        if found:
            admin, name = found
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
            try:
                url = sa.make_url(POSTGRES_URL).set(database=name)
                ok &= bench("PostgreSQL", url.render_as_string(hide_password=False), texts,
                            repetitions)  # fmt: skip
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
