"""A small in-process cache bounded by the size of what it keeps, not the number of entries.

Renderings and diffs of documents are kept between requests because versions never
change. Counting entries is no bound on memory when one text may be 1 MB: 32 renderings
and 16 diffs of such texts are over 100 MB in every worker process. So each cache has a
budget in bytes, evicts the least recently used entries to stay within it, and does not
keep a result larger than half its budget (it would evict everything else to fit).
"""

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")


class SizedCache(Generic[V]):
    def __init__(self, budget: int, size_of: Callable[[V], int]) -> None:
        self.budget = budget
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()  # workers may serve requests in threads

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        value = make()  # outside the lock: a slow diff must not hold up other pages
        size = self._size_of(value)
        if size > self.budget // 2:
            return value
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self._used += size
                while self._used > self.budget:
                    _key, (_value, evicted) = self._entries.popitem(last=False)
                    self._used -= evicted
        return value

    @property
    def used(self) -> int:
        """Bytes of the values kept, as estimated."""
        return self._used

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used = 0


def size_of_strings(strings: Iterable[str], overhead: int = 0) -> int:
    """Bytes held by `strings` (as CPython stores them: 1, 2 or 4 bytes a character),
    plus `overhead` for the objects around them."""
    return overhead + sum(sys.getsizeof(string) for string in strings)
