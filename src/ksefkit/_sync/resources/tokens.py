# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""``/tokens``: generate, list, inspect and revoke KSeF tokens of the current context."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..._http import Operation
from ...errors import ProcessingError
from ...models import (
    GenerateTokenRequest,
    GenerateTokenResponse,
    QueryTokensResponse,
    QueryTokensResponseItem,
    TokenStatusResponse,
)
from .._transport import TimeoutTypes
from .._wait import poll_until
from ._base import Resource

GENERATE = Operation("POST", "/tokens")
LIST = Operation("GET", "/tokens")
STATUS = Operation("GET", "/tokens/{ref}")
# Revoking twice is harmless, so a retry after an ambiguous failure is safe.
REVOKE = Operation("DELETE", "/tokens/{ref}", idempotent=True)

#: Token states that will not change by themselves.
SETTLED = ("Active", "Revoked", "Failed")


class KsefTokens(Resource):
    """``client.ksef_tokens``: KSeF tokens (long-lived credentials for KSeF-token login)."""

    def generate(
        self, permissions: Sequence[str], description: str, *, timeout: TimeoutTypes = None
    ) -> GenerateTokenResponse:
        """``POST /tokens``: a new token with ``permissions`` (a subset of the caller's own).

        The token string is shown only in this answer: store it at once. It starts as
        ``Pending``; :meth:`wait_until_active` waits for ``Active``.

        >>> new = client.ksef_tokens.generate(["InvoiceRead"], "ERP import")  # doctest: +SKIP
        """
        body = GenerateTokenRequest(permissions=list(permissions), description=description)
        return self._get_model(
            GenerateTokenResponse, GENERATE, json=body.to_wire(), timeout=timeout
        )

    def list(
        self,
        *,
        statuses: Sequence[str] = (),
        description: str | None = None,
        author_identifier: str | None = None,
        author_identifier_type: str | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> Iterator[QueryTokensResponseItem]:
        """``GET /tokens``: every matching token, all pages (newest first)."""
        params = {
            "status": list(statuses),
            "description": description,
            "authorIdentifier": author_identifier,
            "authorIdentifierType": author_identifier_type,
            "pageSize": page_size,
        }
        for item in self._pages(
            QueryTokensResponse, LIST, lambda p: p.tokens, params=params, timeout=timeout
        ):
            yield item

    def status(
        self, reference_number: str, *, timeout: TimeoutTypes = None
    ) -> TokenStatusResponse:
        """``GET /tokens/{referenceNumber}``."""
        return self._get_model(
            TokenStatusResponse, STATUS, path_params={"ref": reference_number}, timeout=timeout
        )

    def revoke(self, reference_number: str, *, timeout: TimeoutTypes = None) -> None:
        """``DELETE /tokens/{referenceNumber}``: the token stops authenticating."""
        self._http.request(REVOKE, path_params={"ref": reference_number}, timeout=timeout)

    def wait_until_active(
        self, reference_number: str, *, timeout: float | None = 60.0
    ) -> TokenStatusResponse:
        """Poll until a new token leaves ``Pending``; raises if it ends ``Failed``/``Revoked``."""
        status = poll_until(
            lambda: self.status(reference_number),
            lambda s: s.status in SETTLED,
            timeout=timeout,
            what=f"KSeF token {reference_number}",
        )
        if status.status != "Active":
            raise ProcessingError(
                0,
                f"KSeF token is {status.status}",
                status.status_details or (),
                reference_number=reference_number,
            )
        return status
