"""Bounded parallelism with one behaviour in both shells: async tasks and sync threads.

The async code calls :func:`async_run_bounded`; ``scripts/unasync.py`` rewrites the call to
:func:`sync_run_bounded`, which runs the same work on a thread pool. Both:

* run at most ``limit`` workers at a time;
* call ``on_result(item, result)`` one at a time (the event loop / the calling thread), so
  the caller can record progress without a lock;
* after the first failure start nothing new, let the running workers finish (their results
  are still recorded), then raise that first failure.

:class:`ProgressCounter` adds up bytes from several workers (thread-safe).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

__all__ = [
    "ProgressCounter",
    "async_call_in_thread",
    "async_run_bounded",
    "sync_call_in_thread",
    "sync_run_bounded",
]

T = TypeVar("T")
R = TypeVar("R")


async def async_call_in_thread(func: Callable[[], R]) -> R:
    """``func()`` on a worker thread, so CPU or disk work does not block the event loop.

    >>> anyio.run(async_call_in_thread, lambda: 42)
    42
    """
    return await anyio.to_thread.run_sync(func)


def sync_call_in_thread(func: Callable[[], R]) -> R:
    """The sync twin of :func:`async_call_in_thread`: just ``func()``.

    >>> sync_call_in_thread(lambda: 42)
    42
    """
    return func()


async def async_run_bounded(
    items: Sequence[T],
    worker: Callable[[T], Awaitable[R]],
    on_result: Callable[[T, R], None],
    *,
    limit: int,
) -> None:
    """Run ``worker(item)`` for every item, at most ``limit`` at once (anyio tasks).

    >>> import anyio
    >>> seen = []
    >>> async def double(x):
    ...     return 2 * x
    >>> anyio.run(lambda: async_run_bounded([1, 2], double, lambda i, r: seen.append(r), limit=2))
    >>> sorted(seen)
    [2, 4]
    """
    errors: list[Exception] = []
    semaphore = anyio.Semaphore(max(1, limit))

    async def run(item: T) -> None:
        async with semaphore:
            if errors:
                return
            try:
                result = await worker(item)
            except Exception as exc:  # first failure stops the rest; re-raised below
                errors.append(exc)
                return
            on_result(item, result)

    async with anyio.create_task_group() as group:
        for item in items:
            group.start_soon(run, item)
    if errors:
        raise errors[0]


def sync_run_bounded(
    items: Sequence[T],
    worker: Callable[[T], R],
    on_result: Callable[[T, R], None],
    *,
    limit: int,
) -> None:
    """Run ``worker(item)`` for every item on at most ``limit`` threads.

    >>> seen = []
    >>> sync_run_bounded([1, 2], lambda x: 2 * x, lambda i, r: seen.append(r), limit=2)
    >>> sorted(seen)
    [2, 4]
    """
    if limit <= 1 or len(items) <= 1:
        for item in items:  # no threads needed: the simplest failure behaviour too
            on_result(item, worker(item))
        return
    stop = threading.Event()

    def run(item: T) -> tuple[bool, R | None]:
        if stop.is_set():
            return False, None
        return True, worker(item)

    first: BaseException | None = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=limit) as pool:
        futures = {pool.submit(run, item): item for item in items}
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    ran, result = future.result()
                except Exception as exc:
                    stop.set()
                    first = first or exc
                    continue
                if ran:
                    on_result(futures[future], result)  # type: ignore[arg-type]
        finally:
            stop.set()  # an interrupt (Ctrl-C) starts nothing new either
    if first is not None:
        raise first


class ProgressCounter:
    """Bytes done across parallel workers, reported as ``callback(done, total)``.

    A retried piece of work calls :meth:`reset` for its key, so the figure may step back.

    >>> calls = []
    >>> p = ProgressCounter(10, lambda d, t: calls.append((d, t)))
    >>> p.add(1, 4); p.reset(1); p.add(1, 6); p.finish(1)
    >>> calls
    [(4, 10), (0, 10), (6, 10)]
    """

    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total = total
        self._callback = callback
        self._done = 0
        self._current: dict[int, int] = {}
        self._lock = threading.Lock()

    def add(self, key: int, count: int) -> None:
        with self._lock:
            self._current[key] = self._current.get(key, 0) + count
            done = self._done + sum(self._current.values())
        self._report(done)

    def reset(self, key: int) -> None:
        with self._lock:
            self._current.pop(key, None)
            done = self._done + sum(self._current.values())
        self._report(done)

    def finish(self, key: int) -> None:
        """The work for ``key`` is done: its bytes count for good (no callback)."""
        with self._lock:
            self._done += self._current.pop(key, 0)

    def skip(self, count: int) -> None:
        """Bytes already done before this run (e.g. parts uploaded before a crash)."""
        with self._lock:
            self._done += count

    def _report(self, done: int) -> None:
        if self._callback is not None:
            self._callback(done, self.total)
