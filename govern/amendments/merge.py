"""Three-way merge of a document's text: a proposal's change carried onto a newer version.

Paragraphs are merged as diff3 merges lines; where both sides edited the same paragraph,
its words are merged the same way, and that is accepted only when the two edits are apart.
Whatever is not certain is a conflict: nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from govern.amendments.matching import (
    MATCHING_STEPS_BUDGET,
    MatchingSteps,
    alike_pairs,
    bounded_opcodes,
)
from govern.documents.diff import _HEADING, CHANGE, _readable, split_paragraphs, tokenize


@dataclass(frozen=True)
class Conflict:
    """A place both sides changed differently; "" where a side has no paragraph there
    (it deleted them, or the base had none because both sides inserted there)."""

    base: str  # the base paragraphs of the region, joined with blank lines
    ours: str  # the proposal's version of the region
    theirs: str  # the document's newer version of the region


@dataclass(frozen=True)
class MergeResult:
    text: str | None  # the merged text when clean, else None
    conflicts: tuple[Conflict, ...]

    @property
    def is_clean(self) -> bool:
        return not self.conflicts


@dataclass(frozen=True)
class _Hunk:
    """One side's replacement of base[lo:hi]; an insertion when lo == hi."""

    lo: int
    hi: int
    new: tuple[str, ...]
    is_ours: bool

    @property
    def adds(self) -> bool:
        return len(self.new) > self.hi - self.lo


# A region of base[lo:hi] with each side's version of it, None where that side left it alone.
_Region = tuple[int, int, tuple[str, ...] | None, tuple[str, ...] | None]


def merge_texts(base: str, ours: str, theirs: str) -> MergeResult:
    """Apply both the change base -> ours and the change base -> theirs.

    The text comes out as split_paragraphs sees it: paragraphs joined by one blank line,
    LF line ends, a final newline ("" for no paragraphs).
    """
    base_paragraphs, ours_paragraphs, theirs_paragraphs = map(
        split_paragraphs, (base, ours, theirs)
    )
    if ours_paragraphs == base_paragraphs:
        return MergeResult(_joined(theirs_paragraphs), ())
    if theirs_paragraphs in (base_paragraphs, ours_paragraphs):
        return MergeResult(_joined(ours_paragraphs), ())
    steps = MatchingSteps(MATCHING_STEPS_BUDGET)
    hunks = [
        *_paragraph_hunks(base_paragraphs, ours_paragraphs, True, steps),
        *_paragraph_hunks(base_paragraphs, theirs_paragraphs, False, steps),
    ]
    merged: list[str] = []
    conflicts: list[Conflict] = []
    done = 0
    for lo, hi, ours_part, theirs_part in _regions(base_paragraphs, hunks, _paragraphs_collide):
        merged.extend(base_paragraphs[done:lo])
        done = hi
        if ours_part is None or theirs_part is None or ours_part == theirs_part:
            merged.extend(ours_part if theirs_part is None else theirs_part)
            continue
        if hi - lo == len(ours_part) == len(theirs_part) == 1:
            paragraph = _merge_words(base_paragraphs[lo], ours_part[0], theirs_part[0], steps)
            if paragraph is not None:
                merged.append(paragraph)
                continue
        conflicts.append(
            Conflict(
                "\n\n".join(base_paragraphs[lo:hi]),
                "\n\n".join(ours_part),
                "\n\n".join(theirs_part),
            )
        )
    if conflicts:
        return MergeResult(None, tuple(conflicts))
    merged.extend(base_paragraphs[done:])
    # Re-split: a merged paragraph is made of tokens from two texts.
    return MergeResult(_joined(split_paragraphs("\n\n".join(merged))), ())


def _joined(paragraphs: Sequence[str]) -> str:
    return "\n\n".join(paragraphs) + "\n" if paragraphs else ""


def _paragraph_hunks(
    base: list[str], side: list[str], is_ours: bool, steps: MatchingSteps
) -> list[_Hunk]:
    """The changed runs of paragraphs, each edited paragraph (one alike to its new version)
    a hunk of its own, so that an edit beside an insertion or another edit stays apart."""
    hunks: list[_Hunk] = []
    for tag, i1, i2, j1, j2 in bounded_opcodes(base, side, steps):
        if tag == "equal":
            continue
        old, new = base[i1:i2], side[j1:j2]
        pairs = alike_pairs(old, new)
        i = j = 0
        for pair_i, pair_j in [*pairs, (len(old), len(new))]:
            if i < pair_i or j < pair_j:
                hunks.append(_Hunk(i1 + i, i1 + pair_i, tuple(new[j:pair_j]), is_ours))
            if pair_i < len(old) and old[pair_i] != new[pair_j]:
                hunks.append(_Hunk(i1 + pair_i, i1 + pair_i + 1, (new[pair_j],), is_ours))
            i, j = pair_i + 1, pair_j + 1
    return hunks


def _paragraphs_collide(a: _Hunk, b: _Hunk) -> bool:
    """Changes to the same paragraph collide; so do paragraphs added by both sides at the
    same place, whose order would be a guess. Changes to neighbouring paragraphs do not."""
    touching = a.hi == b.lo or b.hi == a.lo
    return (a.lo < b.hi and b.lo < a.hi) or (touching and a.adds and b.adds)


def _words_collide(a: _Hunk, b: _Hunk) -> bool:
    """Inside a paragraph, edits collide unless an unchanged token stands between them."""
    return a.lo <= b.hi and b.lo <= a.hi


def _regions(
    base: Sequence[str], hunks: list[_Hunk], collide: Callable[[_Hunk, _Hunk], bool]
) -> Iterator[_Region]:
    """The changed regions of base, in order: each hunk alone, or with those it collides with."""
    groups: list[tuple[list[_Hunk], list[_Hunk]]] = []  # (ours, theirs)
    end = 0
    for hunk in sorted(hunks, key=lambda h: (h.lo, h.hi)):
        if groups:
            ours, theirs = groups[-1]
            if hunk.lo < end or _collides(theirs if hunk.is_ours else ours, hunk, collide):
                (ours if hunk.is_ours else theirs).append(hunk)
                end = max(end, hunk.hi)
                continue
        groups.append(([hunk], []) if hunk.is_ours else ([], [hunk]))
        end = hunk.hi
    for ours, theirs in groups:
        lo, hi = min(h.lo for h in ours + theirs), max(h.hi for h in ours + theirs)
        yield lo, hi, _version(base, lo, hi, ours), _version(base, lo, hi, theirs)


def _collides(others: list[_Hunk], hunk: _Hunk, collide: Callable[[_Hunk, _Hunk], bool]) -> bool:
    # One side's hunks are apart and in order, so only the last few can reach `hunk`.
    for other in reversed(others):
        if other.hi < hunk.lo:
            return False
        if collide(other, hunk):
            return True
    return False


def _version(base: Sequence[str], lo: int, hi: int, hunks: list[_Hunk]) -> tuple[str, ...] | None:
    if not hunks:
        return None
    items: list[str] = []
    done = lo
    for hunk in hunks:
        items.extend(base[done : hunk.lo])
        items.extend(hunk.new)
        done = hunk.hi
    items.extend(base[done:hi])
    return tuple(items)


def _merge_words(base: str, ours: str, theirs: str, steps: MatchingSteps) -> str | None:
    """The paragraph with both sides' word edits, or None where they collide.

    A heading is a name, not a sentence: two different renames of it always conflict.
    """
    if any(_HEADING.match(text) for text in (base, ours, theirs)):
        return None
    base_tokens, ours_tokens, theirs_tokens = tokenize(base), tokenize(ours), tokenize(theirs)
    hunks = [
        *_word_hunks(base_tokens, ours_tokens, True, steps),
        *_word_hunks(base_tokens, theirs_tokens, False, steps),
    ]
    merged: list[str] = []
    done = 0
    for lo, hi, ours_part, theirs_part in _regions(base_tokens, hunks, _words_collide):
        if ours_part is not None and theirs_part is not None and ours_part != theirs_part:
            return None
        merged.extend(base_tokens[done:lo])
        merged.extend(ours_part if theirs_part is None else theirs_part)
        done = hi
    merged.extend(base_tokens[done:])
    return "".join(merged)


def _word_hunks(
    base: list[str], side: list[str], is_ours: bool, steps: MatchingSteps
) -> list[_Hunk]:
    # As the redline shows them: a small unchanged run between two edits joins them.
    opcodes = _readable(bounded_opcodes(base, side, steps), base, side)
    return [
        _Hunk(i1, i2, tuple(side[j1:j2]), is_ours)
        for tag, i1, i2, j1, j2 in opcodes
        if tag == CHANGE
    ]
