"""The one source of "now": aware UTC, replaceable by tests."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def now() -> datetime:
    return _now()


def set_now(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); `None` restores the system clock."""
    global _now
    _now = source or _system_now


@contextmanager
def standing_at(moment: datetime) -> Iterator[None]:
    """Let "now" be `moment` for a while (the demo plays past steps at their own time),
    then whatever it was before."""
    global _now
    previous = _now
    _now = lambda: moment  # noqa: E731
    try:
        yield
    finally:
        _now = previous
