"""Wire models of ``/peppol/query``: registered Peppol service providers. Enum-valued fields are
typed ``str`` (unknown values from KSeF still parse); the ``StrEnum`` classes list the known
values.
"""

from __future__ import annotations

from datetime import datetime

from ksefkit.models._base import KsefModel

__all__ = ["PeppolProvider", "QueryPeppolProvidersResponse"]


class PeppolProvider(KsefModel):
    """Nested in ``QueryPeppolProvidersResponse``."""

    id: str
    name: str
    date_created: datetime


class QueryPeppolProvidersResponse(KsefModel):
    """Response body of ``GET /peppol/query`` (200)."""

    peppol_providers: list[PeppolProvider]
    has_more: bool
