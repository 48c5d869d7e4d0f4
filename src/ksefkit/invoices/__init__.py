"""Invoice documents: facts extraction, an FA(3) generator and sample rewriting.

* :mod:`.facts` — :func:`extract_facts` reads seller, buyer, number, dates, totals.
* :mod:`.generate` — :func:`generate_fa3` / :func:`generate_batch_of` build XSD-valid FA(3).
* :mod:`.rewrite` — :func:`rewrite_invoice` gives an existing invoice a new identity.
* :mod:`.realistic` — varied builder-made invoices (rates, currencies, corrections) for the
  demo and the emulator's test data.
"""

from __future__ import annotations

from .facts import InvoiceFacts, extract_facts
from .generate import SUPPORTED_VAT_RATES, InvoiceLine, generate_batch_of, generate_fa3
from .rewrite import rewrite_invoice

__all__ = [
    "SUPPORTED_VAT_RATES",
    "InvoiceFacts",
    "InvoiceLine",
    "extract_facts",
    "generate_batch_of",
    "generate_fa3",
    "rewrite_invoice",
]
