"""Wire models of ``/security/*``: the KSeF public-key certificates used to encrypt tokens and
symmetric keys. Enum-valued fields are typed ``str`` (unknown values from KSeF still parse); the
``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter

from ksefkit.models._base import KsefModel

__all__ = [
    "PublicKeyCertificateInfo",
    "PublicKeyCertificateUsage",
    "parse_public_key_certificates",
]


class PublicKeyCertificateUsage(StrEnum):
    """Known values of KSeF ``PublicKeyCertificateUsage``."""

    KSEF_TOKEN_ENCRYPTION = "KsefTokenEncryption"  # noqa: S105
    SYMMETRIC_KEY_ENCRYPTION = "SymmetricKeyEncryption"


class PublicKeyCertificateInfo(KsefModel):
    """A KSeF public-key certificate (Base64 DER) with its validity and usages; one item of the
    answer of ``GET /security/public-key-certificates``.
    """

    certificate: str
    certificate_id: str
    public_key_id: str
    valid_from: datetime
    valid_to: datetime
    usage: list[str]  # PublicKeyCertificateUsage


_CERTIFICATE_LIST = TypeAdapter(list[PublicKeyCertificateInfo])


def parse_public_key_certificates(data: Any) -> list[PublicKeyCertificateInfo]:
    """Parse the JSON array ``GET /security/public-key-certificates`` answers with."""
    return _CERTIFICATE_LIST.validate_python(data)
