"""``/invoices``: download by KSeF number, metadata queries (every page, past the 10 000
cap), asynchronous encrypted exports, and the export / incremental-sync workflows.

>>> xml = await client.invoices.download("5265877635-20250826-0100001AF629-AF")  # doctest: +SKIP
>>> async for meta in client.invoices.query_metadata(filters):  # doctest: +SKIP
...     print(meta.ksef_number)
>>> result = await client.invoices.export(filters, into=Path("out"))  # doctest: +SKIP
>>> synced = await client.invoices.sync("Subject2", into=Path("erp"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time
from pathlib import Path

from ..._http import Operation, check_meta_hash
from ...errors import BadRequest, InvoiceNotAvailableYet, KsefError
from ...models import EncryptionInfo
from ...models.invoices import (
    ExportInvoicesResponse,
    InvoiceExportRequest,
    InvoiceExportStatusResponse,
    InvoiceMetadata,
    InvoiceQueryFilters,
    QueryInvoicesMetadataResponse,
)
from .._keys import AsyncKeyRing
from .._transport import AsyncHttp, TimeoutTypes
from ..workflows.export import ExportResult, export_invoices
from ..workflows.sync import SyncProgress, SyncResult, sync_invoices
from ._base import AsyncResource
from .security import AsyncSecurity

__all__ = ["AsyncInvoices"]

DOWNLOAD = Operation("GET", "/invoices/ksef/{ksef_number}")
# A query only reads: retrying it is harmless.
QUERY_METADATA = Operation("POST", "/invoices/query/metadata", idempotent=True)
# Resending would start a second export (and spend the 20/h budget): connect failures only.
CREATE_EXPORT = Operation("POST", "/invoices/exports")
EXPORT_STATUS = Operation("GET", "/invoices/exports/{ref}")

NOT_AVAILABLE_YET = 21165
#: The cap of one metadata filter set; beyond it KSeF says ``isTruncated``.
QUERY_CAP = 10_000
XML_ACCEPT = {"Accept": "application/xml"}


class AsyncInvoices(AsyncResource):
    """``client.invoices``: invoice retrieval (raw endpoints and workflows)."""

    def __init__(self, http: AsyncHttp, keys: AsyncKeyRing | None = None) -> None:
        super().__init__(http)
        self.keys = keys or AsyncKeyRing(AsyncSecurity(http))

    async def download(self, ksef_number: str, *, timeout: TimeoutTypes = None) -> bytes:
        """``GET /invoices/ksef/{ksefNumber}``: the invoice XML, ``x-ms-meta-hash`` verified.

        An invoice not yet in permanent storage raises
        :class:`~ksefkit.errors.InvoiceNotAvailableYet` (a ``BadRequest``, code 21165);
        an unknown number ``BadRequest`` 21164.
        """
        try:
            response = await self._http.request(
                DOWNLOAD,
                path_params={"ksef_number": ksef_number.strip()},
                headers=XML_ACCEPT,
                timeout=timeout,
            )
        except BadRequest as error:
            if not error.has_code(NOT_AVAILABLE_YET):
                raise
            raise InvoiceNotAvailableYet(
                error.status_code,
                operation=error.operation,
                errors=error.errors,
                title=error.title,
                detail=error.detail,
                reference_number=error.reference_number,
                body=error.body,
                reason_code=error.reason_code,
            ) from None
        check_meta_hash(response.content, response.headers.get("x-ms-meta-hash"), what="invoice")
        return response.content

    async def query_metadata_page(
        self,
        filters: InvoiceQueryFilters,
        *,
        sort_order: str = "Asc",
        page_offset: int = 0,
        page_size: int = 250,
        timeout: TimeoutTypes = None,
    ) -> QueryInvoicesMetadataResponse:
        """``POST /invoices/query/metadata``: one page (``page_offset`` is a page index)."""
        return await self._get_model(
            QueryInvoicesMetadataResponse,
            QUERY_METADATA,
            params={"sortOrder": sort_order, "pageOffset": page_offset, "pageSize": page_size},
            json=filters.to_wire(),
            timeout=timeout,
        )

    async def query_metadata(
        self,
        filters: InvoiceQueryFilters,
        *,
        sort_order: str = "Asc",
        page_size: int = 250,
        timeout: TimeoutTypes = None,
    ) -> AsyncIterator[InvoiceMetadata]:
        """Every invoice matching ``filters``, each exactly once, across all pages.

        KSeF stops one filter set at 10 000 records (``isTruncated``); the iterator then
        narrows the date range to start at the last record's date (of the filter's
        ``dateType``; the end for ``sort_order="Desc"``), restarts at page 0 and skips the
        records it already gave (many invoices can share one timestamp).
        """
        current = filters.model_copy(deep=True)
        date_type = current.date_range.date_type
        descending = sort_order.lower() == "desc"
        boundary: datetime | None = None  # date of the last record yielded
        at_boundary: set[str] = set()  # KSeF numbers yielded with exactly that date
        while True:
            offset = 0
            new_in_window = 0
            while True:
                page = await self.query_metadata_page(
                    current,
                    sort_order=sort_order,
                    page_offset=offset,
                    page_size=page_size,
                    timeout=timeout,
                )
                for item in page.invoices:
                    when = _record_date(item, date_type)
                    if when == boundary:
                        if item.ksef_number in at_boundary:
                            continue
                        at_boundary.add(item.ksef_number)
                    else:
                        boundary = when
                        at_boundary = {item.ksef_number}
                    new_in_window += 1
                    yield item
                if not page.has_more:
                    return
                if page.is_truncated:
                    break
                offset += 1
            if boundary is None or new_in_window == 0:
                raise KsefError(
                    f"more than {QUERY_CAP} invoices share the {date_type} date {boundary}: "
                    "narrow the query with other filters"
                )
            if descending:
                current.date_range.to = boundary
            else:
                current.date_range.from_ = boundary

    async def create_export(
        self,
        filters: InvoiceQueryFilters,
        encryption: EncryptionInfo,
        *,
        only_metadata: bool = False,
        compression: str = "Zip",
        timeout: TimeoutTypes = None,
    ) -> ExportInvoicesResponse:
        """``POST /invoices/exports`` (raw; :meth:`export` does the whole job)."""
        body = InvoiceExportRequest(
            encryption=encryption,
            filters=filters,
            only_metadata=only_metadata,
            compression_type=compression,
        )
        return await self._get_model(
            ExportInvoicesResponse, CREATE_EXPORT, json=body.to_wire(), timeout=timeout
        )

    async def export_status(
        self, reference_number: str, *, timeout: TimeoutTypes = None
    ) -> InvoiceExportStatusResponse:
        """``GET /invoices/exports/{referenceNumber}``: status; parts with fresh links when done."""
        return await self._get_model(
            InvoiceExportStatusResponse,
            EXPORT_STATUS,
            path_params={"ref": reference_number},
            timeout=timeout,
        )

    async def export(
        self,
        filters: InvoiceQueryFilters,
        *,
        into: Path | str,
        only_metadata: bool = False,
        compression: str = "Zip",
        parallelism: int = 4,
        timeout: float | None = 600.0,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> ExportResult:
        """Export invoices into ``into``: key, export, wait, download parts in parallel
        (streamed, hashes checked, a link that expired is refreshed), decrypt, unpack safely.

        Writes ``{ksefNumber}.xml`` per invoice and ``_metadata.json``; returns them with the
        package facts (``is_truncated``, the ``last*Date`` to continue from, the HWM). A
        failed export raises :class:`~ksefkit.errors.ExportFailed`; one whose package
        expired :class:`~ksefkit.errors.ExportExpired` (export again).

        ``progress(phase, done, total)`` is called on the calling task / thread: ``"wait"``
        (status queries so far, 0), ``"download"`` (encrypted bytes of the total),
        ``"unpack"`` (files written of the total; 0 while unknown).
        """
        return await export_invoices(
            self,
            filters,
            into=Path(into),
            only_metadata=only_metadata,
            compression=compression,
            parallelism=parallelism,
            timeout=timeout,
            progress=progress,
        )

    async def sync(
        self,
        subject_type: str,
        into: Path | str,
        *,
        start: datetime | None = None,
        context: str | None = None,
        layout: str = "tree",
        parallelism: int = 4,
        timeout: float | None = 600.0,
        progress: Callable[[SyncProgress], None] | None = None,
    ) -> SyncResult:
        """Incremental sync of one subject type up to the High Water Mark (§10.4 strategy 1).

        Invoices land in ``into/<context>/<subjectType>/<ksefNumber>.xml`` (``layout="flat"``:
        ``into/<ksefNumber>.xml``, one file per invoice whatever the role); the checkpoint
        ``into/.ksefkit-sync/<context>-<subjectType>.json`` moves only after a window's
        invoices are fsync'd. ``start`` is needed on the first run only.
        """
        return await sync_invoices(
            self,
            subject_type,
            Path(into),
            start=start,
            context=context,
            layout=layout,
            parallelism=parallelism,
            timeout=timeout,
            progress=progress,
        )


def _record_date(item: InvoiceMetadata, date_type: str) -> datetime:
    if date_type == "Issue":
        value: date | datetime = item.issue_date
    elif date_type == "Invoicing":
        value = item.invoicing_date
    else:
        value = item.permanent_storage_date
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time())
