"""Adaptive waiting: a pure delay schedule and the one patchable sleep.

Every ``wait_for_*`` helper sleeps through :func:`sync_sleep` / :func:`async_sleep` so tests
can replace them, and asks :func:`delays` how long to wait: the first look comes after
``POLL_FIRST_DELAY`` (KSeF often finishes in well under a second), later looks back off
geometrically to ``POLL_MAX_DELAY`` — never a fixed 2 s sleep.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio

from ._config import POLL_FIRST_DELAY, POLL_GROWTH, POLL_MAX_DELAY

__all__ = ["Deadline", "async_sleep", "delays", "sync_sleep"]


def delays(
    first: float = POLL_FIRST_DELAY, growth: float = POLL_GROWTH, maximum: float = POLL_MAX_DELAY
) -> Iterator[float]:
    """An endless schedule of poll delays.

    >>> import itertools
    >>> [round(d, 3) for d in itertools.islice(delays(0.1, 2.0, 0.5), 5)]
    [0.1, 0.2, 0.4, 0.5, 0.5]
    """
    delay = first
    while True:
        yield min(delay, maximum)
        delay = min(delay * growth, maximum)


class Deadline:
    """A point in monotonic time; ``None`` timeout means never.

    >>> Deadline(None).remaining() is None
    True
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        if self._end is None:
            return None
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0.0

    def clip(self, delay: float) -> float:
        """``delay`` shortened so the sleep does not outlast the deadline."""
        remaining = self.remaining()
        return delay if remaining is None else min(delay, remaining)


def sync_sleep(seconds: float) -> None:
    """The sleep every sync wait goes through (patch it in tests)."""
    time.sleep(seconds)


async def async_sleep(seconds: float) -> None:
    """The sleep every async wait goes through (patch it in tests)."""
    await anyio.sleep(seconds)
