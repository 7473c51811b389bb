"""Three-way merge: the table of what a careful editor expects, then properties."""

import random
import time

import pytest

from govern.amendments.merge import Conflict, merge_texts

BASE = """# Membership and dues

Any person who supports the mission may join. Members pay dues every year.

# Meetings

The general meeting is held once a year. The board calls it with two weeks of notice.

Minutes are kept by the secretary.
"""
JOIN = "Any person who supports the mission may join. Members pay dues every year."
MEET = "The general meeting is held once a year. The board calls it with two weeks of notice."
MINUTES = "Minutes are kept by the secretary."
KOREAN = "# 회원\n\n회원은 총회에서 의결권을 가진다. 회비는 매년 납부한다.\n"
RIGHTS = "회원은 총회에서 의결권을 가진다. 회비는 매년 납부한다."
CRLF = BASE.replace("\n", "\r\n")
# Edits, as (old, new) replacements of the first occurrence in the base text.
Edit = tuple[str, str]
ADULT, APPLY = ("Any person", "Any adult"), ("may join", "may apply")
TWICE, THREE_WEEKS = ("once a year", "twice a year"), ("two weeks", "three weeks")
CHAIR, NO_MINUTES = ("secretary", "chair"), ("\n\nMinutes are kept by the secretary.", "")
GENERAL, ASSEMBLIES = ("# Meetings", "# General meetings"), ("# Meetings", "# Assemblies")
PUBLIC = ("secretary.", "secretary.\n\nVotes are public.")
SECRET = ("secretary.", "secretary.\n\nVotes are secret.")
WAIVED = ("# Meetings", "Dues are waived on request.\n\n# Meetings")
PUBLISHED, MONTHLY = ("secretary.", "secretary and published."), ("every year", "monthly")
TWO_TIMES, YEARLY, ANYONE = ("once", "two times"), ("once a", "a"), ("Any person", "Anyone")
FULL, FEES = ("# Membership", "# Full membership"), ("and dues", "and fees")
IS_PARTICLE, ALSO_PARTICLE, BOARD = ("원은", "원이"), ("원은", "원도"), ("총회", "이사회")


def edited(text: str, *changes: Edit) -> str:
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def case(name: str, ours: list[Edit], theirs: list[Edit], expected: str | tuple, base=BASE):
    """`expected`: the merged text, or the conflicts."""
    return pytest.param(base, edited(base, *ours), edited(base, *theirs), expected, id=name)


def conflict(paragraph: str, ours: list[Edit], theirs: list[Edit]) -> Conflict:
    return Conflict(paragraph, edited(paragraph, *ours), edited(paragraph, *theirs))


CASES = [
    case("same-sentence-different-words", [ADULT], [APPLY], edited(BASE, ADULT, APPLY)),
    case("different-sentences", [TWICE], [THREE_WEEKS], edited(BASE, TWICE, THREE_WEEKS)),
    case("same-word", [TWICE], [TWO_TIMES], (conflict(MEET, [TWICE], [TWO_TIMES]),)),
    case("touching-words", [CHAIR], [PUBLISHED], (conflict(MINUTES, [CHAIR], [PUBLISHED]),)),
    case("adjacent-paragraphs", [TWICE], [CHAIR], edited(BASE, TWICE, CHAIR)),
    case("heading-vs-its-body", [GENERAL], [TWICE], edited(BASE, GENERAL, TWICE)),
    case(
        "same-heading",
        [ASSEMBLIES],
        [GENERAL],
        (Conflict("# Meetings", "# Assemblies", "# General meetings"),),
    ),
    case(
        "same-heading-different-words",
        [FEES],
        [FULL],
        (Conflict("# Membership and dues", "# Membership and fees", "# Full membership and dues"),),
    ),
    case("both-same-change", [TWICE], [TWICE], edited(BASE, TWICE)),
    case("delete-vs-edit", [NO_MINUTES], [CHAIR], (Conflict(MINUTES, "", edited(MINUTES, CHAIR)),)),
    case("edit-vs-delete", [CHAIR], [NO_MINUTES], (Conflict(MINUTES, edited(MINUTES, CHAIR), ""),)),
    case("delete-next-to-edit", [NO_MINUTES], [TWICE], edited(BASE, NO_MINUTES, TWICE)),
    case(
        "insert-vs-insert-at-same-place",
        [PUBLIC],
        [SECRET],
        (Conflict("", "Votes are public.", "Votes are secret."),),
    ),
    case("same-insert-at-same-place", [SECRET], [SECRET], edited(BASE, SECRET)),
    case("insert-at-different-places", [WAIVED], [SECRET], edited(BASE, WAIVED, SECRET)),
    case("insert-next-to-edit", [WAIVED], [MONTHLY], edited(BASE, WAIVED, MONTHLY)),
    case(
        "two-conflicts",
        [ADULT, TWICE],
        [ANYONE, YEARLY],
        (conflict(JOIN, [ADULT], [ANYONE]), conflict(MEET, [TWICE], [YEARLY])),
    ),
    case(
        "korean-particle-vs-other-word",
        [IS_PARTICLE],
        [BOARD],
        edited(KOREAN, IS_PARTICLE, BOARD),
        base=KOREAN,
    ),
    case(
        "korean-same-syllable",
        [IS_PARTICLE],
        [ALSO_PARTICLE],
        (conflict(RIGHTS, [IS_PARTICLE], [ALSO_PARTICLE]),),
        base=KOREAN,
    ),
    case("crlf-input", [TWICE], [CHAIR], edited(BASE, TWICE, CHAIR), base=CRLF),
    case("empty-change-on-ours", [], [TWICE], edited(BASE, TWICE)),
    case("empty-change-on-theirs", [TWICE], [], edited(BASE, TWICE)),
]


@pytest.mark.parametrize(("base", "ours", "theirs", "expected"), CASES)
def test_merge_does_what_a_careful_editor_expects(base, ours, theirs, expected):
    result = merge_texts(base, ours, theirs)
    if isinstance(expected, str):
        assert (result.text, result.conflicts, result.is_clean) == (expected, (), True)
    else:
        assert (result.text, result.conflicts, result.is_clean) == (None, expected, False)


def normalized(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs) + "\n" if paragraphs else ""


def random_word(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return "".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(2))
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(5))


def random_paragraph(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return "## " + " ".join(random_word(rng) for _ in range(rng.randint(2, 4)))
    return " ".join(random_word(rng) for _ in range(rng.randint(6, 12)))


def random_edit(rng: random.Random, paragraph: str) -> tuple[str, str | None]:
    """("word", the paragraph with one word replaced), ("delete", None) or ("insert", a new
    paragraph to put after it)."""
    kind = rng.choice(["word", "delete", "insert"])
    if kind == "delete":
        return kind, None
    if kind == "insert":
        return kind, random_paragraph(rng)
    words = paragraph.split(" ")
    words[rng.randrange(1, len(words))] = random_word(rng)
    return kind, " ".join(words)


def applied(paragraphs: list[str], edits: dict[int, tuple[str, str | None]]) -> list[str]:
    result: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        kind, text = edits.get(index, ("keep", None))
        result.extend([paragraph] if kind in ("keep", "insert") else [])
        result.extend([text] if text is not None else [])
    return result


def random_change(rng: random.Random) -> tuple[list[str], dict, dict]:
    """A base, and edits to distinct paragraphs of it made on two sides."""
    base = [random_paragraph(rng) for _ in range(rng.randint(2, 14))]
    chosen = rng.sample(range(len(base)), rng.randint(2, len(base)))
    edits = {index: random_edit(rng, base[index]) for index in chosen}
    split = rng.randint(1, len(chosen) - 1)
    ours = {index: edits[index] for index in chosen[:split]}
    theirs = {index: edits[index] for index in chosen[split:]}
    return base, ours, theirs


def test_edits_to_distinct_paragraphs_merge_cleanly_into_both_edits():
    rng = random.Random(20240611)
    for _ in range(500):
        base, ours, theirs = random_change(rng)
        texts = [normalized(applied(base, edits)) for edits in ({}, ours, theirs)]
        result = merge_texts(*texts)
        assert result.conflicts == (), texts
        assert result.text == normalized(applied(base, ours | theirs))


def test_a_side_left_unchanged_gives_the_other_side_and_one_change_twice_gives_it_once():
    rng = random.Random(7)
    for _ in range(200):
        base, ours, theirs = random_change(rng)
        b, x = normalized(base), normalized(applied(base, ours | theirs))
        assert merge_texts(b, x, b).text == x
        assert merge_texts(b, b, x).text == x
        assert merge_texts(b, x, x).text == x


def test_edits_to_different_words_of_one_paragraph_merge_cleanly():
    rng = random.Random(99)
    for _ in range(300):
        words = [random_word(rng) for _ in range(rng.randint(2, 14))]
        first, second = rng.sample(range(len(words)), 2)
        ours, theirs, both = list(words), list(words), list(words)
        ours[first] = both[first] = random_word(rng)
        theirs[second] = both[second] = random_word(rng)
        texts = [" ".join(w) for w in (words, ours, theirs)]
        assert merge_texts(*texts).text == " ".join(both) + "\n", texts


def test_large_document_with_few_edits_merges_quickly():
    rng = random.Random(3)
    base = [random_paragraph(rng) for _ in range(2500)]  # over 100 KB
    ours = {10: random_edit(rng, base[10]), 900: ("delete", None)}
    theirs = {11: ("insert", "New."), 2499: random_edit(rng, base[2499])}
    texts = [normalized(applied(base, edits)) for edits in ({}, ours, theirs)]
    assert len(texts[0].encode()) > 100_000
    started = time.perf_counter()
    result = merge_texts(*texts)
    assert time.perf_counter() - started < 1.0
    assert result.text == normalized(applied(base, ours | theirs))


def test_pathological_input_finishes_as_a_conflict():
    base, ours, theirs = "x y " * 10_000, "y x " * 10_000, "x x " * 10_000
    result = merge_texts(base, ours, theirs)
    assert result.conflicts == (Conflict(base.strip(), ours.strip(), theirs.strip()),)


def test_crafted_interleaved_edits_end_in_a_conflict_within_seconds():
    # Unbounded, SequenceMatcher takes minutes on this (20,000 words, every other changed).
    words = [f"w{i}" for i in range(20_000)]
    ours = [f"o{i}" if i % 2 else word for i, word in enumerate(words)]
    theirs = [word if i % 2 else f"t{i}" for i, word in enumerate(words)]
    started = time.perf_counter()
    result = merge_texts(" ".join(words), " ".join(ours), " ".join(theirs))
    assert time.perf_counter() - started < 10
    assert result.text is None
