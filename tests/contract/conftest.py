"""Fixtures for contract tests: the parsed OpenAPI document and an exchange recorder."""

from __future__ import annotations

from pathlib import Path

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
