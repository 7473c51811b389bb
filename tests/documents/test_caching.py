"""Renderings and diffs are kept between requests within a memory budget."""

import gc
import tracemalloc

import pytest

from govern.documents import rendering, services
from govern.documents.caching import SizedCache
from govern.documents.models import TextFormat, Version


def test_cache_keeps_the_most_recently_used_values_within_its_budget():
    cache = SizedCache(budget=100, size_of=len)
    for key in "abcde":
        cache.get_or_make(key, lambda key=key: key * 30)
    assert cache.used <= 100 and len(cache) == 3  # a and b evicted
    cache.get_or_make("c", lambda: pytest.fail("c is kept"))
    cache.get_or_make("f", lambda: "f" * 30)  # evicts d, the least recently used
    assert cache.get_or_make("c", lambda: "made again") == "c" * 30
    assert cache.get_or_make("d", lambda: "made again") == "made again"


def test_cache_does_not_keep_a_value_larger_than_half_its_budget():
    cache = SizedCache(budget=100, size_of=len)
    cache.get_or_make("small", lambda: "s" * 10)
    assert cache.get_or_make("large", lambda: "l" * 51) == "l" * 51
    assert len(cache) == 1 and cache.used == 10


def retained_bytes(action) -> int:
    """Memory still allocated after `action`, which keeps no reference itself."""
    gc.collect()
    tracemalloc.start()
    try:
        action()
        gc.collect()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def large_text(number: int) -> str:
    """About 100 KB of plain text, different for each number."""
    paragraph = f"Text {number}: members meet, elect, vote and amend the bylaws together. " * 10
    return "\n\n".join(f"{paragraph}{line}" for line in range(140)) + "\n"


BUDGET = 1_000_000


@pytest.fixture
def small_caches(monkeypatch):
    """Empty caches with a 1 MB budget each, so that a few texts of 100 KB fill them."""
    for cache in (rendering._renderings, services._diffs):
        cache.clear()
        monkeypatch.setattr(cache, "budget", BUDGET)
    yield
    for cache in (rendering._renderings, services._diffs):
        cache.clear()


def test_renderings_of_large_texts_stay_within_the_budget(small_caches):
    texts = [large_text(number) for number in range(25)]

    def render_all() -> None:
        for text in texts:
            rendering.render_text(text, TextFormat.PLAIN)

    assert retained_bytes(render_all) < BUDGET * 1.25


def test_diffs_of_large_texts_stay_within_the_budget(small_caches):
    base = large_text(0)
    versions = [Version(text=f"{base}\nVersion {number}.\n") for number in range(14)]

    def diff_all() -> None:
        for old, new in zip(versions, versions[1:], strict=False):
            services.diff_versions(old, new)

    assert retained_bytes(diff_all) < BUDGET * 1.25


def test_a_diff_is_made_once_for_the_same_two_versions(small_caches):
    old, new = Version(text="One.\n"), Version(text="Two.\n")
    assert services.diff_versions(old, new) is services.diff_versions(old, new)
    again = Version(text="One.\n")  # another row with the same text
    assert services.diff_versions(again, new) is services.diff_versions(old, new)
