"""Time govern's document diff against plain difflib and the redlines package.

Run: .venv/bin/python bench/diff.py
"""

import difflib
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govern.documents.diff import diff_texts  # noqa: E402

SEED = 1848
TARGET_BYTES = 100_000
AIM_MS = 100
AIM_SPEEDUP = 5

VOCABULARY_TEXT = (
    "the member members board assembly general meeting shall may vote votes voting quorum "
    "majority two thirds present elect elected president secretary treasurer term year years "
    "notice written days before after amendment amendments statutes article section clause "
    "association purpose dues fee annual report audit committee chair resign removal office "
    "within without unless except provided that any all each every no not by of to in on at "
    "for with from as is are be been which who whose this these such other its their"
)
VOCABULARY = VOCABULARY_TEXT.split()


def make_document(rng: random.Random) -> list[str]:
    paragraphs: list[str] = []
    size = article = 0
    while size < TARGET_BYTES:
        if not paragraphs or rng.random() < 0.1:
            article += 1
            title = " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 4))).capitalize()
            paragraph = f"## Article {article}: {title}"
        else:
            words = rng.choices(VOCABULARY, k=rng.randint(15, 45))
            paragraph = " ".join(words).capitalize() + "."
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return paragraphs


def amend(rng: random.Random, paragraphs: list[str]) -> list[str]:
    """About 30 scattered word edits, one paragraph added and one removed."""
    amended = list(paragraphs)
    bodies = [k for k, p in enumerate(amended) if not p.startswith("#")]
    *edited, removed = rng.sample(bodies, 31)
    for k in edited:
        words = amended[k].split(" ")
        words[rng.randrange(1, len(words))] = rng.choice(VOCABULARY)
        amended[k] = " ".join(words)
    del amended[removed]
    added = " ".join(rng.choices(VOCABULARY, k=25)).capitalize() + "."
    amended.insert(rng.randrange(len(amended)), added)
    return amended


def best_of(function: Callable[[], object]) -> tuple[float, int]:
    """Best time in seconds over 5 to 20 runs (fewer runs for slower functions)."""
    start = time.perf_counter()
    function()
    first = time.perf_counter() - start
    runs = max(5, min(20, int(2.0 / max(first, 1e-9))))
    times = [first]
    for _ in range(runs - 1):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), runs


def main() -> None:
    rng = random.Random(SEED)
    old_paragraphs = make_document(rng)
    new_paragraphs = amend(rng, old_paragraphs)
    old, new = "\n\n".join(old_paragraphs), "\n\n".join(new_paragraphs)
    old_words, new_words = old.split(), new.split()
    print(
        f"document: {len(old.encode()) / 1000:.1f} KB, {len(old_words)} words, "
        f"{len(old_paragraphs)} paragraphs"
    )
    diff = diff_texts(old, new)
    print(
        f"diff: {diff.paragraphs_changed} paragraphs changed, "
        f"{diff.words_inserted} words inserted, {diff.words_deleted} deleted"
    )

    ours, runs = best_of(lambda: diff_texts(old, new))
    print(f"govern diff_texts:         {ours * 1000:9.2f} ms (best of {runs})")

    def difflib_words() -> object:
        matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
        return matcher.get_opcodes()

    baseline, runs = best_of(difflib_words)
    print(f"difflib on all words:      {baseline * 1000:9.2f} ms (best of {runs})")
    print(f"govern diff is {baseline / ours:.1f}x faster than difflib on all words")

    redlines_time = None
    try:
        from redlines import Redlines
    except ImportError:
        print("redlines not installed, skipped")
    else:
        redlines_time, runs = best_of(lambda: Redlines(old, new).opcodes)
        print(f"redlines:                  {redlines_time * 1000:9.2f} ms (best of {runs})")
        print(f"govern diff is {redlines_time / ours:.1f}x faster than redlines")

    print(f"aim: under {AIM_MS} ms: {'met' if ours * 1000 < AIM_MS else 'NOT met'}")
    if redlines_time is not None:
        met = redlines_time / ours >= AIM_SPEEDUP
        print(f"aim: at least {AIM_SPEEDUP}x faster than redlines: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
