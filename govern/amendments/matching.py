"""How two versions line up, paragraph by paragraph or token by token, in bounded time.

SequenceMatcher's time grows with length x number of matches, and the budget of
govern.documents.diff counts only pairs of equal tokens: 20,000 distinct words with every
other one changed take minutes there. Here SequenceMatcher's own steps are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from difflib import Match, SequenceMatcher
from itertools import accumulate

from govern.documents.diff import MAX_ALIGNMENT_CELLS, PAIRING_THRESHOLD, _words

# Steps (elements scanned for a longest match) one merge may take: about two seconds. Past
# it, what is left to compare counts as replaced: a conflict, never a wrong merge.
MATCHING_STEPS_BUDGET = 4_000_000


class OutOfSteps(Exception):
    pass


class MatchingSteps:
    def __init__(self, left: int) -> None:
        self.left = left

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise OutOfSteps


class _CountingMatcher(SequenceMatcher):
    """A SequenceMatcher that spends a step for each element it scans."""

    def __init__(self, a: Sequence[Hashable], b: Sequence[Hashable], steps: MatchingSteps) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._steps = steps
        # find_longest_match scans each element of a[alo:ahi] and its places in b.
        self._scanned = list(accumulate((1 + len(self.b2j.get(x, ())) for x in a), initial=0))

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> Match:
        ahi = len(self.a) if ahi is None else ahi
        self._steps.spend(self._scanned[ahi] - self._scanned[alo])
        return super().find_longest_match(alo, ahi, blo, bhi)


def bounded_opcodes(
    a: Sequence[Hashable], b: Sequence[Hashable], steps: MatchingSteps
) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher opcodes after trimming the common ends (most edits are small); the
    middle as one replacement once `steps` have run out."""
    n, m = len(a), len(b)
    lo = 0
    while lo < n and lo < m and a[lo] == b[lo]:
        lo += 1
    hi = 0
    while hi < n - lo and hi < m - lo and a[n - 1 - hi] == b[m - 1 - hi]:
        hi += 1
    ops = [("equal", 0, lo, 0, lo)] if lo else []
    a_middle, b_middle = a[lo : n - hi], b[lo : m - hi]
    try:
        middle = _CountingMatcher(a_middle, b_middle, steps).get_opcodes()
    except OutOfSteps:
        middle = [("replace", 0, len(a_middle), 0, len(b_middle))]
    for op, i1, i2, j1, j2 in middle:
        if (i1, j1) != (i2, j2):
            ops.append((op, i1 + lo, i2 + lo, j1 + lo, j2 + lo))
    if hi:
        ops.append(("equal", n - hi, n, m - hi, m))
    return ops


def alike_pairs(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Of paragraphs replaced by others, the pairs (old index, new index) alike enough to
    be one paragraph edited, in order, most alike overall (as the redline pairs them, but
    by the words they share in any order, which takes no SequenceMatcher)."""
    n, m = len(old), len(new)
    if n * m > MAX_ALIGNMENT_CELLS:
        # Pairing by position, as the redline does, could pair a paragraph with its
        # neighbour's new version; unpaired, a rewrite this large conflicts instead.
        return []
    old_words, new_words = [Counter(_words(p)) for p in old], [Counter(_words(p)) for p in new]
    alike = [[_alike(a, b) for b in new_words] for a in old_words]
    best = [[0.0] * (m + 1) for _ in range(n + 1)]  # the most alikeness old[i:], new[j:] hold
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = max(best[i + 1][j], best[i][j + 1], alike[i][j] + best[i + 1][j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if alike[i][j] and best[i][j] == alike[i][j] + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _alike(a: Counter[str], b: Counter[str]) -> float:
    share = 2 * (a & b).total() / (a.total() + b.total() or 1)
    return share if share >= PAIRING_THRESHOLD else 0.0
