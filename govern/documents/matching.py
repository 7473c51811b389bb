"""Lining up two sequences (paragraphs or tokens) in bounded time.

SequenceMatcher's time grows with length x number of matches: one crafted paragraph of
20,000 distinct words with every other one changed takes minutes. Here its own steps
are counted, and once a budget is spent what is left counts as replaced. The redline and
the three-way merge both use this.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from difflib import Match, SequenceMatcher
from itertools import accumulate


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


def best_alignment(alike: list[list[float]]) -> list[tuple[int, int]]:
    """Pairs (i, j), in order on both sides, with the greatest total alikeness; a pair
    whose alikeness is 0 is never made."""
    n = len(alike)
    m = len(alike[0]) if n else 0
    best = [[0.0] * (m + 1) for _ in range(n + 1)]  # the most alikeness rows i:, columns j:
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
