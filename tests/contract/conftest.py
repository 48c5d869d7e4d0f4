"""Fixtures for contract tests: the parsed OpenAPI document and an exchange recorder."""

from __future__ import annotations

import sys
from pathlib import Path

# The helpers (oas.py, recording.py) are plain modules beside the tests; make them importable
# under any --import-mode (importlib does not put test directories on sys.path).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

import pytest
from oas import OpenApiSpec
from recording import Recorder


@pytest.fixture(scope="session")
def oas_spec(spec_dir: Path) -> OpenApiSpec:
    """``open-api.json`` with reference-number path/query parameters checked strictly."""
    return OpenApiSpec.load(spec_dir / "open-api.json", strict_reference_numbers=True)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
