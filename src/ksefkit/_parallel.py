"""Bounded parallelism with one behaviour in both shells: async tasks and sync threads.

The async code calls :func:`async_run_bounded`; ``scripts/unasync.py`` rewrites the call to
:func:`sync_run_bounded`, which runs the same work on a thread pool. Both:

* run at most ``limit`` workers at a time;
* call ``on_result(item, result)`` one at a time (the event loop / the calling thread), so
  the caller can record progress without a lock;
* after the first failure start nothing new, let the running workers finish (their results
  are still recorded), then raise that first failure.

:class:`ProgressCounter` adds up bytes from several workers (thread-safe);
:class:`HighWaterProgress` does too but reports only on the thread that made it (workers on
other threads are reported by the next :meth:`HighWaterProgress.flush`, which
:func:`sync_run_bounded` calls through ``on_tick`` while it waits), never stepping back.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

__all__ = [
    "HighWaterProgress",
    "ProgressCounter",
    "async_call_in_thread",
    "async_call_in_thread_reporting",
    "async_run_bounded",
    "sync_call_in_thread",
    "sync_call_in_thread_reporting",
    "sync_run_bounded",
]

#: Seconds between ``on_tick`` calls of :func:`sync_run_bounded` while it waits.
TICK = 0.1

T = TypeVar("T")
R = TypeVar("R")


async def async_call_in_thread(func: Callable[[], R]) -> R:
    """``func()`` on a worker thread, so CPU or disk work does not block the event loop.

    >>> anyio.run(async_call_in_thread, lambda: 42)
    42
    """
    return await anyio.to_thread.run_sync(func)


async def async_call_in_thread_reporting(
    func: Callable[[Callable[[int, int], None]], R], report: Callable[[int, int], None]
) -> R:
    """``func(relay)`` on a worker thread; each ``relay(a, b)`` runs ``report(a, b)`` on the
    event loop (the caller's thread), waiting for it.

    >>> seen = []
    >>> work = lambda relay: relay(1, 2) or 3
    >>> anyio.run(async_call_in_thread_reporting, work, lambda a, b: seen.append(a))
    3
    >>> seen
    [1]
    """

    def relay(a: int, b: int) -> None:
        anyio.from_thread.run_sync(report, a, b)

    return await anyio.to_thread.run_sync(lambda: func(relay))


def sync_call_in_thread_reporting(
    func: Callable[[Callable[[int, int], None]], R], report: Callable[[int, int], None]
) -> R:
    """The sync twin of :func:`async_call_in_thread_reporting`: ``func(report)``.

    >>> sync_call_in_thread_reporting(lambda r: r(1, 2) or 3, lambda a, b: None)
    3
    """
    return func(report)


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
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Run ``worker(item)`` for every item, at most ``limit`` at once (anyio tasks).

    ``on_tick()`` is called after each result and at the end (the sync twin also calls it
    every :data:`TICK` seconds while waiting), always on the caller's thread.

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
            if on_tick is not None:
                on_tick()

    async with anyio.create_task_group() as group:
        for item in items:
            group.start_soon(run, item)
    if on_tick is not None:
        on_tick()
    if errors:
        raise errors[0]


def sync_run_bounded(
    items: Sequence[T],
    worker: Callable[[T], R],
    on_result: Callable[[T, R], None],
    *,
    limit: int,
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Run ``worker(item)`` for every item on at most ``limit`` threads.

    >>> seen = []
    >>> sync_run_bounded([1, 2], lambda x: 2 * x, lambda i, r: seen.append(r), limit=2)
    >>> sorted(seen)
    [2, 4]
    """
    tick = on_tick or (lambda: None)
    if limit <= 1 or len(items) <= 1:
        for item in items:  # no threads needed: the simplest failure behaviour too
            on_result(item, worker(item))
            tick()
        tick()
        return
    stop = threading.Event()

    def run(item: T) -> tuple[bool, R | None]:
        if stop.is_set():
            return False, None
        return True, worker(item)

    first: BaseException | None = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=limit) as pool:
        futures = {pool.submit(run, item): item for item in items}
        pending = set(futures)
        try:
            while pending:
                finished, pending = concurrent.futures.wait(
                    pending, timeout=TICK, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished:
                    try:
                        ran, result = future.result()
                    except Exception as exc:
                        stop.set()
                        first = first or exc
                        continue
                    if ran:
                        on_result(futures[future], result)  # type: ignore[arg-type]
                tick()
        finally:
            stop.set()  # an interrupt (Ctrl-C) starts nothing new either
    tick()
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


class HighWaterProgress:
    """Bytes done across parallel workers as ``callback(done, total)``, never stepping back.

    Each key (a part) counts its furthest size seen (a retried part starts again unseen).
    ``seen`` may be called from any thread; the callback runs only on the thread that made
    this object: at once when ``seen`` is called there, otherwise on the next :meth:`flush`.

    >>> calls = []
    >>> p = HighWaterProgress(10, lambda d, t: calls.append((d, t)))
    >>> p.seen(1, 4); p.seen(1, 2); p.seen(2, 6); p.flush()
    >>> calls
    [(4, 10), (10, 10)]
    """

    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total = total
        self._callback = callback
        self._owner = threading.get_ident()
        self._high: dict[int, int] = {}
        self._reported = -1
        self._lock = threading.Lock()

    def seen(self, key: int, size: int) -> None:
        with self._lock:
            if size > self._high.get(key, 0):
                self._high[key] = size
        if threading.get_ident() == self._owner:
            self.flush()

    def flush(self) -> None:
        """Report the bytes done if they grew (call on the owner's thread)."""
        if self._callback is None:
            return
        with self._lock:
            done = min(self.total, sum(self._high.values()))
            if done <= self._reported:
                return
            self._reported = done
        self._callback(done, self.total)
