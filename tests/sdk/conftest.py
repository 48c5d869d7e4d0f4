"""Fixtures for SDK tests: emulators in each processing mode and invoice factories."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ksefkit.identifiers import random_nip
from ksefkit.invoices.generate import generate_fa3
from ksefkit.invoices.rewrite import rewrite_invoice
from ksefkit.testing import RunningEmulator, run_emulator

_counter = itertools.count(1)


def today() -> dt.date:
    # The emulator judges P_1 by the Europe/Warsaw day; UTC "today" is never later.
    return dt.datetime.now(dt.UTC).date()


class InvoiceFactory:
    """Fresh, unique FA(3) invoices for one seller."""

    def __init__(self, seller_nip: str) -> None:
        self.seller_nip = seller_nip
        self.run = uuid.uuid4().hex[:6].upper()

    def __call__(self, *, number: str | None = None, issue_date: dt.date | None = None) -> bytes:
        return generate_fa3(
            seller_nip=self.seller_nip,
            buyer_nip=random_nip(),
            invoice_number=number or f"T/{self.run}/{next(_counter):05d}",
            issue_date=issue_date or today(),
        )

    def sample(self, path: Path, *, number: str | None = None) -> bytes:
        """An official sample rewritten for this seller, today, with a unique number."""
        return rewrite_invoice(
            path.read_bytes(),
            seller_nip=self.seller_nip,
            invoice_number=number or f"S/{self.run}/{next(_counter):05d}",
            issue_date=today(),
        )


@pytest.fixture
def make_invoice(ksef_subject: Any) -> InvoiceFactory:
    return InvoiceFactory(ksef_subject.nip)


@pytest.fixture
def invoice_factory() -> type[InvoiceFactory]:
    return InvoiceFactory


@pytest.fixture
def manual_emulator() -> Iterator[RunningEmulator]:
    """Processing waits until the test calls ``state.step()``."""
    with run_emulator(processing="manual") as emulator:
        yield emulator


@pytest.fixture
def background_emulator() -> Iterator[RunningEmulator]:
    """Processing runs in a worker thread after a short delay (real waiting)."""
    with run_emulator(processing="background", processing_delay=0.3) as emulator:
        yield emulator
