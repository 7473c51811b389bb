"""Which replaced paragraphs are one paragraph edited, for the three-way merge."""

from __future__ import annotations

from collections import Counter

from govern.documents.diff import MAX_ALIGNMENT_CELLS, PAIRING_THRESHOLD, _words
from govern.documents.matching import (
    MatchingSteps,
    OutOfSteps,
    best_alignment,
    bounded_opcodes,
)

__all__ = ["MATCHING_STEPS_BUDGET", "MatchingSteps", "OutOfSteps", "alike_pairs", "bounded_opcodes"]

# Steps (elements scanned for a longest match) one merge may take: about two seconds. Past
# it, what is left to compare counts as replaced: a conflict, never a wrong merge.
MATCHING_STEPS_BUDGET = 4_000_000


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
    return best_alignment([[_alike(a, b) for b in new_words] for a in old_words])


def _alike(a: Counter[str], b: Counter[str]) -> float:
    share = 2 * (a & b).total() / (a.total() + b.total() or 1)
    return share if share >= PAIRING_THRESHOLD else 0.0
