"""A test-only hook: die like ``kill -9`` at a named point of the emulator's background work.

Reliability tests (``tests/reliability/test_emulator_kill.py``) start ``ksefkit emulator
serve`` with ``KSEFKIT_EMULATOR_CRASH_AT=<point>[:<n>]``; the process then ends with
``os._exit(137)`` — no ``finally`` blocks, no commit, no flush, as after ``SIGKILL`` — the
``n``-th time (default: the first) it passes :func:`crash_point` with that name. Without the
variable (always, outside those tests) :func:`crash_point` does nothing.

Points, each placed where an interrupted step must later be redone exactly once:

* ``invoice-accept`` — KSeF number drawn and invoice UPO signed, not yet stored;
* ``session-upo`` — an online session's UPO pages inserted, the transaction not committed;
* ``batch-unpack`` — a batch package unpacked and its invoices inserted, not committed;
* ``batch-upo`` — a batch session's UPO pages inserted, the transaction not committed;
* ``export-build`` — an export's encrypted parts written, the export not marked done.
"""

from __future__ import annotations

import os
import threading

__all__ = ["ENV", "POINTS", "armed", "crash_point"]

ENV = "KSEFKIT_EMULATOR_CRASH_AT"
POINTS = frozenset({"invoice-accept", "session-upo", "batch-unpack", "batch-upo", "export-build"})

_lock = threading.Lock()
_passes: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV, "")
    if not spec:
        return None
    name, _, count = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"{ENV}={spec!r}: unknown point (one of {sorted(POINTS)})")
    return name, int(count) if count else 1


def armed() -> str | None:
    """``"<point>:<n>"`` when the hook is set (``serve`` says so on start), else None.

    Raises ValueError for an unknown point, so a typo fails at start, not silently.

    >>> armed() is None
    True
    """
    target = _target()
    return None if target is None else f"{target[0]}:{target[1]}"


def crash_point(name: str) -> None:
    """End the process at once if ``KSEFKIT_EMULATOR_CRASH_AT`` names this pass of ``name``.

    >>> crash_point("session-upo")  # the variable is not set: nothing happens
    """
    target = _target()
    if target is None or target[0] != name:
        return
    with _lock:
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] == target[1]:
            os._exit(137)  # as abrupt as SIGKILL: the point of the hook
