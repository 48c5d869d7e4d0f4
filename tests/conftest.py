"""Test-wide settings: schemas from ../shared/ksef-spec, no downloads, anyio on asyncio."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SPEC_DIR = (Path(__file__).resolve().parent.parent.parent / "shared" / "ksef-spec").resolve()

os.environ.setdefault("KSEFKIT_SCHEMA_DIR", str(SPEC_DIR))
# Tests never reach the internet: a missing schema must fail loudly, not hang on a download.
os.environ.setdefault("KSEFKIT_SCHEMA_OFFLINE", "1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    if not SPEC_DIR.is_dir():
        pytest.fail(f"the KSeF spec files are expected at {SPEC_DIR} (../shared/ksef-spec)")
    return SPEC_DIR
