# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""Polling until something is done: adaptive delays, a deadline, one patchable sleep."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from .. import _polling
from ..errors import WaitTimeout

T = TypeVar("T")


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    what: str,
) -> T:
    """Call ``fetch`` until ``done(result)``; the first look is immediate, later ones back off.

    Raises :class:`~ksefkit.errors.WaitTimeout` (carrying the last result) at the deadline.
    """
    deadline = _polling.Deadline(timeout)
    schedule = _polling.delays()
    while True:
        value = fetch()
        if done(value):
            return value
        if deadline.expired():
            raise WaitTimeout(f"{what}: still not done after {timeout:g} s", last=value)
        _polling.sync_sleep(deadline.clip(next(schedule)))
