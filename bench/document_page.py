"""Server time of the document pages for a document with 500 versions.

Builds a throwaway database (SQLite, and PostgreSQL when reachable), fills it with one
document of 500 versions of ~20-50 KB each, and times requests through Flask's test
client: the document page, the versions (history) page, pages of random old versions
and comparisons of random pairs, against a trivial page measured in the same run.

Requests are spread over many versions and pairs, and timed twice: cold (the first
request for that version or pair, as most visitors of an old version get) and warm
(requests again among those already seen, served from the caches unless their byte
budgets evicted the entry). Timing one URL over and over would measure cache hits only.

Run: .venv/bin/python bench/document_page.py [--repetitions 200] [--distinct 50]
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

from databases import temporary_postgres_url  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from govern import create_app  # noqa: E402
from govern.documents.models import Document, Version  # noqa: E402
from govern.extensions import db  # noqa: E402

VERSIONS = 500
SEED = 1848
AIM_P95_MS = 50
# The target: the pages everyone reads. Cold rows with one sample are one request.
AIMED_PAGES = ("document page", "versions/history page")
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


def request_ms(client, url: str) -> float:
    expected = 404 if "no-such" in url else 200
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == expected, url
    return elapsed


def percentile(times: list[float], share: float) -> float:
    if len(times) == 1:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[int(share * 100) - 1]


def clear_caches() -> None:
    """Each database starts cold: no rendering, history or diff kept from the last run."""
    from govern.documents import rendering, services

    rendering._renderings.clear()
    rendering._history_lists.clear()
    services._diffs.clear()


def page_kinds(rng: random.Random, distinct: int) -> dict[str, list[str]]:
    """For each kind of page, `distinct` URLs: versions and pairs drawn at random, so that
    a cold request is the first for its version or pair, as for most visitors."""
    base = "/documents/bylaws"
    # Versions 1 and 2 are left for warming up the templates.
    numbers = rng.sample(range(3, VERSIONS + 1), distinct)
    adjacent = rng.sample(range(4, VERSIONS + 1), 2 * distinct)
    pairs = set()
    while len(pairs) < distinct:
        old, new = sorted(rng.sample(range(3, VERSIONS + 1), 2))
        pairs.add((old, new))
    return {
        "document page": [base],
        "versions/history page": [f"{base}/versions/"],
        "version page, random": [f"{base}/versions/{n}" for n in numbers],
        "compare n-1 -> n, redline": [
            f"{base}/compare?old={n - 1}&new={n}" for n in adjacent[:distinct]
        ],
        "compare n-1 -> n, side": [
            f"{base}/compare?old={n - 1}&new={n}&view=side" for n in adjacent[distinct:]
        ],
        "compare random pair, redline": [
            f"{base}/compare?old={old}&new={new}" for old, new in sorted(pairs)
        ],
    }


def bench(label: str, url: str, texts: list[str], repetitions: int, distinct: int) -> bool:
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
    rng = random.Random(SEED)
    # Compile the templates and connect, on pages left out of the samples below.
    for path in ("/no-such-page", "/", "/documents/bylaws/versions/1",
                 "/documents/bylaws/compare?old=1&new=2&view=side"):  # fmt: skip
        request_ms(client, path)
    baselines = {
        "baseline: 404 page": [request_ms(client, "/no-such-page") for _ in range(repetitions)],
        "baseline: start page": [request_ms(client, "/") for _ in range(repetitions)],
    }
    kinds = page_kinds(rng, distinct)
    # Cold: the first request for each URL, kinds interleaved as visitors would be, so the
    # caches hold a mix of renderings, histories and diffs, as in a running worker.
    cold: dict[str, list[float]] = {name: [] for name in kinds}
    queue = [(name, path) for name, paths in kinds.items() for path in paths]
    rng.shuffle(queue)
    for name, path in queue:
        cold[name].append(request_ms(client, path))
    # Warm: `repetitions` requests among the URLs already seen, at random; whatever the
    # caches' byte budgets evicted in the meantime is made again, and counted.
    warm = {
        name: [request_ms(client, rng.choice(paths)) for _ in range(repetitions)]
        for name, paths in kinds.items()
    }
    baseline = percentile(baselines["baseline: 404 page"], 0.5)
    print(f"{'page':<30} {'cold n':>6} {'p50 ms':>8} {'p95 ms':>8}   "
          f"{'warm p50':>8} {'p95 ms':>8} {'p50/404':>8}")  # fmt: skip
    for name, times in baselines.items():
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        print(f"{name:<30} {'':>6} {'':>8} {'':>8}   {p50:8.1f} {p95:8.1f} {p50 / baseline:7.1f}x")
    met = {"cold": True, "warm": True}
    for name in kinds:
        c50, c95 = percentile(cold[name], 0.5), percentile(cold[name], 0.95)
        w50, w95 = percentile(warm[name], 0.5), percentile(warm[name], 0.95)
        print(f"{name:<30} {len(cold[name]):>6} {c50:8.1f} {c95:8.1f}   "
              f"{w50:8.1f} {w95:8.1f} {w50 / baseline:7.1f}x")  # fmt: skip
        if name in AIMED_PAGES:
            met["cold"] = met["cold"] and c95 < AIM_P95_MS
            met["warm"] = met["warm"] and w95 < AIM_P95_MS
    from govern.documents import rendering, services

    caches = {
        "renderings": rendering._renderings,
        "histories": rendering._history_lists,
        "diffs": services._diffs,
    }
    print("caches: " + ", ".join(
        f"{name} {len(cache)} ({cache.used / 1e6:.1f} of {cache.budget / 1e6:.0f} MB)"
        for name, cache in caches.items()
    ))  # fmt: skip
    for phase, ok in met.items():
        verdict = "met" if ok else "NOT met"
        pages = " and ".join(AIMED_PAGES)
        print(f"aim p95 < {AIM_P95_MS} ms for the {pages}, {phase}: {verdict}")
    print("(compare pages are shown for information: a diff of distant versions costs more)")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return met["warm"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=200, help="warm requests per page")
    parser.add_argument("--distinct", type=int, default=50, help="versions or pairs per page")
    arguments = parser.parse_args()
    repetitions, distinct = arguments.repetitions, arguments.distinct
    logging.getLogger("alembic").setLevel(logging.WARNING)
    texts = make_texts(random.Random(SEED))
    print(f"Versions of {len(texts[0]) // 1000}-{len(texts[-1]) // 1000} KB. Cold: the first "
          f"request for each of {distinct} random versions or pairs per page; warm: "
          f"{repetitions} requests among those.")  # fmt: skip
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        os.environ["GOVERN_INSTANCE_PATH"] = folder
        ok &= bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", texts, repetitions, distinct)
        with temporary_postgres_url("govern_bench_pages") as url:
            if url:
                ok &= bench("PostgreSQL", url, texts, repetitions, distinct)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
