"""Invoice retrieval: ``POST /invoices/query/metadata`` and ``GET /invoices/ksef/{ksefNumber}``.

Thin glue over :mod:`ksefkit.emulator.backends.metadata`. Paging: ``pageOffset`` is a page
index, ``pageSize`` 10-250 (default 10). At most :data:`RESULT_CAP` records are served per
filter set; the page that reaches the cap (and any later one, served empty) says
``isTruncated: true`` and ``hasMore: true`` so clients move ``dateRange.from`` on.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import bearer, json_body, path_ids, xml_response
from .backends.metadata import query_page, visible_invoice
from .backends.seed import seed_invoices
from .clock import isoformat, parse_datetime
from .errors import validation_error
from .state import EmulatorState

__all__ = ["RESULT_CAP", "invoice_routes", "metadata_page", "seed_route"]

#: Records one filter set can return (KSeF: 10 000).
RESULT_CAP = 10_000
INVOICE_READ = ("InvoiceRead",)


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise validation_error(f"{name}: oczekiwano liczby całkowitej.") from None
    if not low <= number <= high:
        raise validation_error(f"{name}: dozwolony zakres {low}-{high}.")
    return number


def metadata_page(
    state: EmulatorState,
    context_type: str,
    context_value: str,
    filters: object,
    query: dict[str, str],
) -> dict[str, Any]:
    """``QueryInvoicesMetadataResponse`` of one page (query: sortOrder, pageOffset, pageSize).

    >>> metadata_page(state, "Nip", "5265877635", filters, {"pageSize": "10"})  # doctest: +SKIP
    {'hasMore': False, 'isTruncated': False, 'invoices': [], 'permanentStorageHwmDate': ...}
    """
    size = _int(query.get("pageSize"), "pageSize", 10, 10, 250)
    offset = _int(query.get("pageOffset"), "pageOffset", 0, 0, 1_000_000)
    order = query.get("sortOrder", "Asc")
    if not isinstance(filters, dict):
        raise validation_error("Treść żądania musi być obiektem JSON.")
    page = query_page(
        state,
        context_type,
        context_value,
        filters,
        sort_order=order,
        offset=offset * size,
        size=size,
        cap=RESULT_CAP,
    )
    last = (offset + 1) * size
    reaches_cap = page.truncated and last >= page.served
    body: dict[str, Any] = {
        "hasMore": last < page.served or reaches_cap,
        "isTruncated": reaches_cap,
        "permanentStorageHwmDate": None if page.hwm is None else isoformat(page.hwm),
        "invoices": page.rows,
    }
    return body


def invoice_routes(state: EmulatorState) -> list[BaseRoute]:
    """Routes of the invoice retrieval area (relative to ``/v2``)."""

    async def query_metadata(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        state.auth.require(claims, INVOICE_READ)
        body = await json_body(request)
        query = dict(request.query_params)
        return JSONResponse(
            metadata_page(state, claims.context_type, claims.context_value, body, query)
        )

    async def download(request: Request) -> Response:
        claims = bearer(state, request, "ContextToken")
        state.auth.require(claims, INVOICE_READ)
        number = path_ids(request)["ksefNumber"]
        row = visible_invoice(state, claims.context_value, number)
        return xml_response(bytes(row["xml"]))

    return [
        Route("/invoices/query/metadata", query_metadata, methods=["POST"]),
        Route("/invoices/ksef/{ksefNumber}", download, methods=["GET"]),
    ]


def seed_route(state: EmulatorState) -> BaseRoute:
    """``POST /_emulator/invoices/seed`` ``{sellerNip?, buyerNip?, count, from?, to?,
    thirdSubjectNip?, authorizedNip?, variety?}`` -> 201 ``{count, sellerNip, buyerNip}``
    (``variety: true``: a realistic mix of rates, currencies and corrections)."""

    async def seed(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise validation_error("Treść żądania musi być obiektem JSON.")
        count = body.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            raise validation_error("count: oczekiwano liczby całkowitej.")
        texts: dict[str, str | None] = {}
        for name in ("sellerNip", "buyerNip", "thirdSubjectNip", "authorizedNip", "from", "to"):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                raise validation_error(f"{name}: oczekiwano tekstu.")
            texts[name] = value
        try:
            start = parse_datetime(texts["from"]) if texts["from"] else None
            end = parse_datetime(texts["to"]) if texts["to"] else None
        except ValueError:
            raise validation_error("from/to: oczekiwano daty ISO 8601.") from None
        variety = body.get("variety", False)
        if not isinstance(variety, bool):
            raise validation_error("variety: oczekiwano wartości logicznej.")
        seller = texts["sellerNip"] or state.ids.nip()
        buyer = texts["buyerNip"] or state.ids.nip()
        inserted = seed_invoices(
            state,
            count,
            seller_nip=seller,
            buyer_nip=buyer,
            start=start,
            end=end,
            third_subject_nip=texts["thirdSubjectNip"],
            authorized_nip=texts["authorizedNip"],
            variety=variety,
        )
        return JSONResponse({"count": inserted, "sellerNip": seller, "buyerNip": buyer}, 201)

    return Route("/invoices/seed", seed, methods=["POST"])
