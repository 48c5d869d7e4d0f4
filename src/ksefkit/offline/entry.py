"""One entry of the offline queue and the due/overdue report (data only, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..formcodes import FormCode
from .calendar import OfflineMode, warsaw_day

__all__ = ["IN_FLIGHT", "STATUSES", "UNSENT", "QueueEntry", "QueueReport", "now_utc"]

#: Every status an entry can have (see the module docstring).
STATUSES = ("queued", "sending", "sent", "accepted", "rejected", "corrected")
#: Not known to have reached KSeF: these count for the deadline.
UNSENT = ("queued", "sending")
#: Reached (or possibly reached) KSeF, verdict not recorded yet: the sender settles them.
IN_FLIGHT = ("sending", "sent")


@dataclass(frozen=True)
class QueueEntry:
    """One invoice of the queue (the XML itself: :meth:`OfflineQueue.xml`).

    ``deadline`` is None when there is none (total failure) or it has not started (the
    outage or failure is not over). ``sent_at`` is KSeF's ``invoicingDate`` once known.
    ``corrects`` names (by hash) the rejected original this entry technically corrects;
    ``corrected_by`` the accepted correction of a ``corrected`` original.
    """

    id: int
    invoice_hash: str
    file_name: str | None
    seller_nip: str
    invoice_number: str | None
    issue_date: dt.date
    form_code: FormCode
    mode: OfflineMode
    ended: dt.date | None
    deadline: dt.datetime | None
    status: str
    added_at: dt.datetime
    session_reference: str | None = None
    invoice_reference: str | None = None
    batch_state: str | None = None
    ksef_number: str | None = None
    status_code: int | None = None
    error: str | None = None
    sent_at: dt.datetime | None = None
    invoicing_mode: str | None = None
    corrects: str | None = None
    corrected_by: str | None = None

    @property
    def unsent(self) -> bool:
        """Not known to have reached KSeF (``queued`` or ``sending``)."""
        return self.status in UNSENT

    def overdue(self, now: dt.datetime | None = None) -> bool:
        """Still unsent and its deadline has passed."""
        return self.unsent and self.deadline is not None and self.deadline < now_utc(now)

    @property
    def late(self) -> bool:
        """Reached KSeF after its deadline."""
        return (
            self.sent_at is not None
            and self.deadline is not None
            and (self.sent_at > self.deadline)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (camelCase like KSeF's own documents)."""
        return {
            "id": self.id,
            "invoiceHash": self.invoice_hash,
            "fileName": self.file_name,
            "sellerNip": self.seller_nip,
            "invoiceNumber": self.invoice_number,
            "issueDate": self.issue_date.isoformat(),
            "formCode": self.form_code.system_code,
            "mode": self.mode.value,
            "ended": _iso(self.ended),
            "deadline": _iso(self.deadline),
            "status": self.status,
            "addedAt": _iso(self.added_at),
            "sessionReferenceNumber": self.session_reference,
            "invoiceReferenceNumber": self.invoice_reference,
            "ksefNumber": self.ksef_number,
            "statusCode": self.status_code,
            "error": self.error,
            "sentAt": _iso(self.sent_at),
            "invoicingMode": self.invoicing_mode,
            "corrects": self.corrects,
            "correctedBy": self.corrected_by,
            "late": self.late,
        }


@dataclass(frozen=True)
class QueueReport:
    """What is due and overdue at ``now`` (:meth:`OfflineQueue.report`).

    ``overdue``/``due``: unsent, deadline passed / ahead (soonest first); ``waiting``: unsent,
    no deadline yet (the outage or failure is not over); ``no_obligation``: total-failure
    invoices not sent; ``in_flight``: sent, KSeF's verdict not recorded; ``rejected``: need a
    technical correction; ``late``: reached KSeF after their deadline.
    """

    now: dt.datetime
    overdue: tuple[QueueEntry, ...]
    due: tuple[QueueEntry, ...]
    waiting: tuple[QueueEntry, ...]
    no_obligation: tuple[QueueEntry, ...]
    in_flight: tuple[QueueEntry, ...]
    rejected: tuple[QueueEntry, ...]
    late: tuple[QueueEntry, ...]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def next_deadline(self) -> dt.datetime | None:
        """The soonest deadline not yet passed, if any."""
        return self.due[0].deadline if self.due else None

    @property
    def due_today(self) -> tuple[QueueEntry, ...]:
        """Unsent entries whose deadline is the end of today (Warsaw)."""
        today = warsaw_day(self.now)
        return tuple(e for e in self.due if e.deadline and e.deadline.date() == today)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (entries as :meth:`QueueEntry.to_dict`)."""

        def ids(entries: Sequence[QueueEntry]) -> list[dict[str, Any]]:
            return [e.to_dict() for e in entries]

        return {
            "now": self.now.isoformat(),
            "counts": dict(self.counts),
            "nextDeadline": _iso(self.next_deadline),
            "overdue": ids(self.overdue),
            "dueToday": ids(self.due_today),
            "due": ids(self.due),
            "waiting": ids(self.waiting),
            "noObligation": ids(self.no_obligation),
            "inFlight": ids(self.in_flight),
            "rejected": ids(self.rejected),
            "late": ids(self.late),
        }


def now_utc(now: dt.datetime | None = None) -> dt.datetime:
    """``now`` (which must be aware) or the current time in UTC.

    >>> now_utc(dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)).isoformat()
    '2026-05-04T09:00:00+00:00'
    """
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError(f"give an aware datetime, not {now.isoformat()}")
    return now


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()
