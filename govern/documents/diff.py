"""Redline of two versions of a document: paragraphs first, words inside changed paragraphs."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from govern.documents.matching import MatchingSteps, best_alignment, bounded_opcodes

EQUAL, INSERT, DELETE, CHANGE = "equal", "insert", "delete", "change"

# Replaced paragraphs this alike (share of words in common, in order) are shown as one
# changed paragraph; less alike ones as a deletion and an insertion.
PAIRING_THRESHOLD = 0.4
# A rewrite of more paragraphs than this (old x new) is paired by position, not by the
# best alignment, so that a large rewrite stays fast.
MAX_ALIGNMENT_CELLS = 400
# Hiding a single paragraph behind "show more" saves nothing.
MIN_FOLD = 2
# Matching steps one redline may take (about a second); past it, what is left to compare
# is shown as whole replacements, so that no crafted input can hold a worker for minutes.
MATCHING_STEPS_BUDGET = 2_000_000

_CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3131-\u318e\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_HANGUL_SYLLABLE = (
    "[\u1100-\u115f\ua960-\ua97f]+[\u1160-\u11a7\ud7b0-\ud7c6]+[\u11a8-\u11ff\ud7cb-\ud7fb]*"
    "|[\uac00-\ud7a3][\u11a8-\u11ff\ud7cb-\ud7fb]*"
)
_NOT_IN_WORDS = _CJK + "\uac00-\ud7a3\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff"
# Hangul syllables and CJK characters are diffed one by one (a Korean particle change
# shows as one syllable); other words whole; whitespace runs; any other character alone.
_TOKEN = re.compile(rf"{_HANGUL_SYLLABLE}|[{_CJK}]|[^\W{_NOT_IN_WORDS}]+|\s+|.", re.DOTALL)
_IN_WORDS = re.compile(rf"[^\W{_NOT_IN_WORDS}]")
_COUNTED_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_WORDLIKE = re.compile(r"\w")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")


@dataclass(frozen=True)
class Segment:
    kind: str  # EQUAL, INSERT or DELETE
    text: str


@dataclass(frozen=True)
class Block:
    """One paragraph row of the diff."""

    kind: str  # EQUAL, INSERT, DELETE or CHANGE
    old: str | None
    new: str | None
    segments: tuple[Segment, ...]
    moved: bool = False  # the same paragraph was inserted/deleted elsewhere


@dataclass(frozen=True)
class Fold:
    """Consecutive unchanged paragraphs to hide behind "show more"."""

    blocks: tuple[Block, ...]
    kind: ClassVar[str] = "fold"


@dataclass(frozen=True)
class DocumentDiff:
    blocks: tuple[Block, ...]
    words_inserted: int  # not counting moved paragraphs
    words_deleted: int
    paragraphs_changed: int  # inserted, deleted or changed; a moved paragraph counts once

    @property
    def is_unchanged(self) -> bool:
        return self.paragraphs_changed == 0

    def folded(self, context: int = 1) -> list[Block | Fold]:
        return fold(self.blocks, context)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; a Markdown heading line is always its own."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.rstrip()
        if line and not _HEADING.match(line):
            lines.append(line)
            continue
        if lines:
            paragraphs.append("\n".join(lines))
            lines = []
        if line:
            paragraphs.append(line)
    if lines:
        paragraphs.append("\n".join(lines))
    return paragraphs


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for token in _TOKEN.findall(text):
        if tokens and _continues(tokens[-1], token):
            tokens[-1] += token
        else:
            tokens.append(token)
    return tokens


def _continues(previous: str, token: str) -> bool:
    """Keep combining marks (e.g. Devanagari vowel signs) with the letters they belong to."""
    if previous.isspace():
        return False
    if unicodedata.category(token[0]).startswith("M"):
        return True
    return unicodedata.category(previous[-1]).startswith("M") and bool(_IN_WORDS.match(token))


def _key(text: str) -> str:
    """What is compared: re-wrapping a paragraph (a line break for a space) is no change."""
    return " ".join(text.split())


def count_words(text: str) -> int:
    return len(_COUNTED_WORD.findall(text))


def diff_texts(old: str, new: str) -> DocumentDiff:
    old_paragraphs, new_paragraphs = split_paragraphs(old), split_paragraphs(new)
    steps = MatchingSteps(MATCHING_STEPS_BUDGET)
    old_keys, new_keys = [_key(p) for p in old_paragraphs], [_key(p) for p in new_paragraphs]
    opcodes = _opcodes(old_keys, new_keys, steps)
    moves = _Moves(old_keys, new_keys, opcodes)
    blocks: list[Block] = []
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            blocks.extend(
                Block(EQUAL, o, n, (Segment(EQUAL, n),))
                for o, n in zip(old_paragraphs[i1:i2], new_paragraphs[j1:j2], strict=True)
            )
        else:
            olds, news = old_paragraphs[i1:i2], new_paragraphs[j1:j2]
            blocks.extend(_replace(olds, news, moves, steps))
    inserted = deleted = 0
    for block in blocks:
        for segment in () if block.moved else block.segments:
            if segment.kind == INSERT:
                inserted += count_words(segment.text)
            elif segment.kind == DELETE:
                deleted += count_words(segment.text)
    changed = sum(b.kind != EQUAL and not (b.moved and b.kind == DELETE) for b in blocks)
    return DocumentDiff(tuple(blocks), inserted, deleted, changed)


def _opcodes(a: Sequence[str], b: Sequence[str], steps: MatchingSteps) -> list[tuple]:
    return bounded_opcodes(a, b, steps)


class _Moves:
    """Paragraphs deleted in one place and inserted, unaltered, in another."""

    def __init__(self, old: list[str], new: list[str], opcodes: list) -> None:
        deleted: Counter[str] = Counter()
        inserted: Counter[str] = Counter()
        for tag, i1, i2, j1, j2 in opcodes:
            if tag != "equal":
                deleted.update(old[i1:i2])
                inserted.update(new[j1:j2])
        self._old = deleted & inserted
        self._new = self._old.copy()

    def take_old(self, paragraph: str) -> bool:
        return _take(self._old, paragraph)

    def take_new(self, paragraph: str) -> bool:
        return _take(self._new, paragraph)


def _take(counter: Counter[str], paragraph: str) -> bool:
    if counter[paragraph] > 0:
        counter[paragraph] -= 1
        return True
    return False


def _replace(old: list[str], new: list[str], moves: _Moves, steps: MatchingSteps) -> list[Block]:
    old_moved = [moves.take_old(_key(p)) for p in old]
    new_moved = [moves.take_new(_key(p)) for p in new]
    pairs = _pair(old, new, old_moved, new_moved, steps)
    blocks: list[Block] = []
    i = j = 0
    for pair_i, pair_j in [*pairs, (len(old), len(new))]:
        for k in range(i, pair_i):
            blocks.append(Block(DELETE, old[k], None, (Segment(DELETE, old[k]),), old_moved[k]))
        for k in range(j, pair_j):
            blocks.append(Block(INSERT, None, new[k], (Segment(INSERT, new[k]),), new_moved[k]))
        if pair_i < len(old):
            segments = _diff_words(old[pair_i], new[pair_j], steps)
            blocks.append(Block(CHANGE, old[pair_i], new[pair_j], segments))
        i, j = pair_i + 1, pair_j + 1
    return blocks


def _pair(
    old: list[str],
    new: list[str],
    old_moved: list[bool],
    new_moved: list[bool],
    steps: MatchingSteps,
) -> list[tuple[int, int]]:
    """Pairs (old index, new index) of alike paragraphs, in order, most alike overall."""
    n, m = len(old), len(new)
    if not n or not m:
        return []
    old_words = [[] if moved else _words(p) for p, moved in zip(old, old_moved, strict=True)]
    new_words = [[] if moved else _words(p) for p, moved in zip(new, new_moved, strict=True)]
    if n * m > MAX_ALIGNMENT_CELLS:
        pairs = [(k, k) for k in range(min(n, m))]
        return [(i, j) for i, j in pairs if _similarity(old_words[i], new_words[j], steps)]
    return best_alignment([[_similarity(a, b, steps) for b in new_words] for a in old_words])


def _words(paragraph: str) -> list[str]:
    return [t.lower() for t in tokenize(paragraph) if _WORDLIKE.search(t)]


def _similarity(a: list[str], b: list[str], steps: MatchingSteps) -> float:
    """Share of words in common, in order; 0 when below the pairing threshold."""
    if not a or not b:
        return 0.0
    common = sum((Counter(a) & Counter(b)).values())
    if 2 * common < PAIRING_THRESHOLD * (len(a) + len(b)):
        return 0.0
    equal = sum(op[2] - op[1] for op in _opcodes(a, b, steps) if op[0] == "equal")
    ratio = 2 * equal / (len(a) + len(b))
    return ratio if ratio >= PAIRING_THRESHOLD else 0.0


def _diff_words(old: str, new: str, steps: MatchingSteps) -> tuple[Segment, ...]:
    a, b = tokenize(old), tokenize(new)
    # Any run of whitespace matches any other: a line break moved by re-wrapping is no change.
    a_keys = [" " if token.isspace() else token for token in a]
    b_keys = [" " if token.isspace() else token for token in b]
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in _readable(_opcodes(a_keys, b_keys, steps), a, b):
        if tag == EQUAL:
            segments.append(Segment(EQUAL, "".join(b[j1:j2])))
            continue
        if i1 < i2:
            segments.append(Segment(DELETE, "".join(a[i1:i2])))
        if j1 < j2:
            segments.append(Segment(INSERT, "".join(b[j1:j2])))
    return tuple(segments)


def _readable(opcodes: list[tuple], a: list[str], b: list[str]) -> list[tuple]:
    """Opcodes as EQUAL/CHANGE runs where a change swallows the small equal runs between
    two changes (whitespace, a lone "the", a common syllable), so "quick brown" -> "slow
    red" reads as one deletion and one insertion rather than a patchwork."""
    ops = [(EQUAL if op[0] == "equal" else CHANGE, *op[1:]) for op in opcodes]
    merged: list[tuple] = []
    for op in ops:
        if op[0] == CHANGE and merged and merged[-1][0] == CHANGE:
            merged[-1] = (CHANGE, merged[-1][1], op[2], merged[-1][3], op[4])
        elif op[0] == CHANGE and len(merged) >= 2 and _absorbed(*merged[-2:], op, a, b):
            merged.pop()
            before = merged.pop()
            merged.append((CHANGE, before[1], op[2], before[3], op[4]))
        else:
            merged.append(op)
    return merged


def _absorbed(before: tuple, equal: tuple, after: tuple, a: list[str], b: list[str]) -> bool:
    text = "".join(a[equal[1] : equal[2]])
    if text.isspace():
        return True

    def size(op: tuple) -> int:
        return max(sum(map(len, a[op[1] : op[2]])), sum(map(len, b[op[3] : op[4]])))

    return len(text) <= size(before) and len(text) <= size(after)


def fold(blocks: Sequence[Block], context: int = 1) -> list[Block | Fold]:
    """Hide runs of unchanged paragraphs, keeping `context` of them beside each change.

    A run shorter than MIN_FOLD stays visible. When nothing changed at all, there is no
    change to give context to, so the whole document is one Fold (the page says that the
    versions are identical and offers the text behind "show more").
    """
    context = max(context, 0)
    changed = [i for i, block in enumerate(blocks) if block.kind != EQUAL]
    if not changed:
        return [Fold(tuple(blocks))] if blocks else []
    visible = [False] * len(blocks)
    for i in changed:
        for k in range(max(i - context, 0), min(i + context + 1, len(blocks))):
            visible[k] = True
    items: list[Block | Fold] = []
    hidden: list[Block] = []
    for block, is_visible in zip(blocks, visible, strict=True):
        if not is_visible:
            hidden.append(block)
            continue
        items.extend(_fold_run(hidden))
        hidden = []
        items.append(block)
    items.extend(_fold_run(hidden))
    return items


def _fold_run(hidden: list[Block]) -> list[Block | Fold]:
    return [Fold(tuple(hidden))] if len(hidden) >= MIN_FOLD else list(hidden)
