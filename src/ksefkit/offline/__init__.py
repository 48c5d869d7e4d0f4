"""Offline invoicing: modes and deadlines, the durable local queue, technical corrections.

* :mod:`.calendar` — Polish public holidays, business days, submission deadlines per mode;
* :mod:`.queue` — :class:`OfflineQueue`, a SQLite file of invoices issued offline;
* :mod:`.correction` — the technical-correction rules checked before sending.

Sending is a client workflow: ``client.offline(queue).send()`` (see
:class:`ksefkit.AsyncOfflineSender`).

>>> from ksefkit.offline import OfflineQueue, submission_deadline
>>> queue = OfflineQueue("offline.sqlite3")  # doctest: +SKIP
"""

from __future__ import annotations

from .calendar import (
    Failure,
    OfflineMode,
    add_business_days,
    easter_sunday,
    end_of_day,
    is_business_day,
    is_holiday,
    next_business_day,
    polish_holidays,
    submission_deadline,
)
from .correction import correction_problems
from .queue import OfflineQueue, QueueEntry, QueueReport

__all__ = [
    "Failure",
    "OfflineMode",
    "OfflineQueue",
    "QueueEntry",
    "QueueReport",
    "add_business_days",
    "correction_problems",
    "easter_sunday",
    "end_of_day",
    "is_business_day",
    "is_holiday",
    "next_business_day",
    "polish_holidays",
    "submission_deadline",
]
