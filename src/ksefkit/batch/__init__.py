"""Batch sessions: streaming package building (archive, split, encrypt; KSEF_API.md §6).

>>> from ksefkit.batch import MAX_PART_SIZE, MAX_PARTS
>>> MAX_PART_SIZE * MAX_PARTS
5000000000
"""

from __future__ import annotations

from .package import (
    COMPRESSION_TYPES,
    MANIFEST_NAME,
    MAX_INVOICES,
    MAX_PACKAGE_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    BatchPackage,
    PackagedInvoice,
    PackagePart,
    build_package,
    plan_parts,
)

__all__ = [
    "COMPRESSION_TYPES",
    "MANIFEST_NAME",
    "MAX_INVOICES",
    "MAX_PACKAGE_SIZE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "BatchPackage",
    "PackagePart",
    "PackagedInvoice",
    "build_package",
    "plan_parts",
]
