# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""``/sessions``: open, send, close online sessions; open and close batch sessions; statuses,
invoice lists and UPOs. (Batch parts go to storage links, see ``_upload.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..._http import Operation, check_meta_hash
from ...formcodes import FormCode
from ...models import (
    BatchFileInfo,
    EncryptionInfo,
    OpenBatchSessionRequest,
    OpenBatchSessionResponse,
    OpenOnlineSessionRequest,
    OpenOnlineSessionResponse,
    SendInvoiceRequest,
    SendInvoiceResponse,
    SessionInvoicesResponse,
    SessionInvoiceStatusResponse,
    SessionsQueryResponse,
    SessionsQueryResponseItem,
    SessionStatusResponse,
    WireFormCode,
)
from .._transport import TimeoutTypes
from ._base import Resource

# Not idempotent, but a repeat is harmless: a session opened by a lost first attempt holds no
# invoices, processes nothing and expires by itself (see ksefkit._retry), so retry.
OPEN_ONLINE = Operation("POST", "/sessions/online", idempotent=True)
# An ambiguous failure is settled by looking the invoice up by its hash in the session
# (OnlineSession.send) before it is sent again: a blind resend would be a 440 duplicate.
SEND_INVOICE = Operation("POST", "/sessions/online/{ref}/invoices", reconcile=True)
# Closing twice is harmless (the second call gets 21180), so a retry is safe.
CLOSE_ONLINE = Operation("POST", "/sessions/online/{ref}/close", idempotent=True)
# Like OPEN_ONLINE: a batch session opened by a lost attempt gets no parts and is cancelled
# when its upload window passes; nothing of it is ever processed.
OPEN_BATCH = Operation("POST", "/sessions/batch", idempotent=True)
# Closing twice is harmless too (21180); a lost answer is settled by the session status.
CLOSE_BATCH = Operation("POST", "/sessions/batch/{ref}/close", idempotent=True)
LIST = Operation("GET", "/sessions")
STATUS = Operation("GET", "/sessions/{ref}")
INVOICES = Operation("GET", "/sessions/{ref}/invoices")
FAILED_INVOICES = Operation("GET", "/sessions/{ref}/invoices/failed")
INVOICE_STATUS = Operation("GET", "/sessions/{ref}/invoices/{invoice_ref}")
UPO_BY_KSEF_NUMBER = Operation("GET", "/sessions/{ref}/invoices/ksef/{ksef_number}/upo")
UPO_BY_INVOICE = Operation("GET", "/sessions/{ref}/invoices/{invoice_ref}/upo")
SESSION_UPO = Operation("GET", "/sessions/{ref}/upo/{upo_ref}")

UPO_V43_HEADER = {"X-KSeF-Feature": "upo-v4-3"}
#: UPO endpoints answer application/xml only; the client-wide Accept is JSON.
XML_ACCEPT = {"Accept": "application/xml"}


class Sessions(Resource):
    """``client.sessions``: every session operation, one method each.

    The :class:`~ksefkit.OnlineSession` workflow builds on these.
    """

    def open_online(
        self,
        form_code: FormCode,
        encryption: EncryptionInfo,
        *,
        upo_v43: bool = False,
        timeout: TimeoutTypes = None,
    ) -> OpenOnlineSessionResponse:
        """``POST /sessions/online``."""
        body = OpenOnlineSessionRequest(
            form_code=WireFormCode.model_validate(form_code.to_wire()), encryption=encryption
        )
        return self._get_model(
            OpenOnlineSessionResponse,
            OPEN_ONLINE,
            json=body.to_wire(),
            headers=UPO_V43_HEADER if upo_v43 else None,
            timeout=timeout,
        )

    def send_invoice(
        self, reference_number: str, request: SendInvoiceRequest, *, timeout: TimeoutTypes = None
    ) -> SendInvoiceResponse:
        """``POST /sessions/online/{referenceNumber}/invoices`` (encrypted invoice)."""
        return self._get_model(
            SendInvoiceResponse,
            SEND_INVOICE,
            path_params={"ref": reference_number},
            json=request.to_wire(),
            timeout=timeout,
        )

    def close_online(self, reference_number: str, *, timeout: TimeoutTypes = None) -> None:
        """``POST /sessions/online/{referenceNumber}/close``."""
        self._http.request(
            CLOSE_ONLINE, path_params={"ref": reference_number}, timeout=timeout
        )

    def open_batch(
        self,
        form_code: FormCode,
        batch_file: BatchFileInfo,
        encryption: EncryptionInfo,
        *,
        offline_mode: bool = False,
        upo_v43: bool = False,
        timeout: TimeoutTypes = None,
    ) -> OpenBatchSessionResponse:
        """``POST /sessions/batch``: declare the package; KSeF answers with one upload link
        per part (:class:`~ksefkit.BatchSession` does all of it for you).

        >>> opened = client.sessions.open_batch(  # doctest: +SKIP
        ...     FormCode.FA3, BatchFileInfo.model_validate(package.batch_file_info()), info)
        >>> [r.ordinal_number for r in opened.part_upload_requests]  # doctest: +SKIP
        [1, 2]
        """
        body = OpenBatchSessionRequest(
            form_code=WireFormCode.model_validate(form_code.to_wire()),
            batch_file=batch_file,
            encryption=encryption,
            offline_mode=offline_mode,
        )
        return self._get_model(
            OpenBatchSessionResponse,
            OPEN_BATCH,
            json=body.to_wire(),
            headers=UPO_V43_HEADER if upo_v43 else None,
            timeout=timeout,
        )

    def close_batch(self, reference_number: str, *, timeout: TimeoutTypes = None) -> None:
        """``POST /sessions/batch/{referenceNumber}/close``: KSeF starts processing the package.

        21205 (a declared part not uploaded), 21157 (part size differs) and 21208 (upload
        window over, session cancelled) arrive as :class:`~ksefkit.errors.BadRequest`.
        """
        self._http.request(
            CLOSE_BATCH, path_params={"ref": reference_number}, timeout=timeout
        )

    def list(
        self,
        session_type: str,
        *,
        reference_number: str | None = None,
        statuses: Sequence[str] = (),
        date_created_from: datetime | None = None,
        date_created_to: datetime | None = None,
        date_closed_from: datetime | None = None,
        date_closed_to: datetime | None = None,
        date_modified_from: datetime | None = None,
        date_modified_to: datetime | None = None,
        page_size: int | None = None,
        timeout: TimeoutTypes = None,
    ) -> Iterator[SessionsQueryResponseItem]:
        """``GET /sessions``: every matching session, all pages.

        ``session_type`` is ``"Online"`` or ``"Batch"``; ``statuses`` any of ``InProgress``,
        ``Succeeded``, ``Failed``, ``Cancelled``.

        >>> for s in client.sessions.list("Online", statuses=["Succeeded"]):  # doctest: +SKIP
        ...     print(s.reference_number)
        """
        params: dict[str, Any] = {
            "sessionType": session_type.strip().capitalize(),
            "referenceNumber": reference_number,
            "statuses": list(statuses),
            "dateCreatedFrom": _iso(date_created_from),
            "dateCreatedTo": _iso(date_created_to),
            "dateClosedFrom": _iso(date_closed_from),
            "dateClosedTo": _iso(date_closed_to),
            "dateModifiedFrom": _iso(date_modified_from),
            "dateModifiedTo": _iso(date_modified_to),
            "pageSize": page_size,
        }
        for item in self._pages(
            SessionsQueryResponse, LIST, lambda p: p.sessions, params=params, timeout=timeout
        ):
            yield item

    def status(
        self, reference_number: str, *, timeout: TimeoutTypes = None
    ) -> SessionStatusResponse:
        """``GET /sessions/{referenceNumber}``."""
        return self._get_model(
            SessionStatusResponse, STATUS, path_params={"ref": reference_number}, timeout=timeout
        )

    def invoices(
        self, reference_number: str, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> Iterator[SessionInvoiceStatusResponse]:
        """``GET /sessions/{referenceNumber}/invoices``: every invoice, all pages."""
        for item in self._pages(
            SessionInvoicesResponse,
            INVOICES,
            lambda p: p.invoices,
            path_params={"ref": reference_number},
            params={"pageSize": page_size},
            timeout=timeout,
        ):
            yield item

    def failed_invoices(
        self, reference_number: str, *, page_size: int | None = None, timeout: TimeoutTypes = None
    ) -> Iterator[SessionInvoiceStatusResponse]:
        """``GET /sessions/{referenceNumber}/invoices/failed``: every failed invoice."""
        for item in self._pages(
            SessionInvoicesResponse,
            FAILED_INVOICES,
            lambda p: p.invoices,
            path_params={"ref": reference_number},
            params={"pageSize": page_size},
            timeout=timeout,
        ):
            yield item

    def invoice_status(
        self, reference_number: str, invoice_reference: str, *, timeout: TimeoutTypes = None
    ) -> SessionInvoiceStatusResponse:
        """``GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}``."""
        return self._get_model(
            SessionInvoiceStatusResponse,
            INVOICE_STATUS,
            path_params={"ref": reference_number, "invoice_ref": invoice_reference},
            timeout=timeout,
        )

    def upo_by_ksef_number(
        self, reference_number: str, ksef_number: str, *, timeout: TimeoutTypes = None
    ) -> bytes:
        """``GET /sessions/{ref}/invoices/ksef/{ksefNumber}/upo``: UPO XML, hash verified."""
        return self._xml(
            UPO_BY_KSEF_NUMBER, {"ref": reference_number, "ksef_number": ksef_number}, timeout
        )

    def upo_by_invoice(
        self, reference_number: str, invoice_reference: str, *, timeout: TimeoutTypes = None
    ) -> bytes:
        """``GET /sessions/{ref}/invoices/{invoiceReferenceNumber}/upo``: UPO XML, hash verified."""
        return self._xml(
            UPO_BY_INVOICE, {"ref": reference_number, "invoice_ref": invoice_reference}, timeout
        )

    def upo(
        self, reference_number: str, upo_reference: str, *, timeout: TimeoutTypes = None
    ) -> bytes:
        """``GET /sessions/{ref}/upo/{upoReferenceNumber}``: one session-UPO page, hash verified."""
        return self._xml(
            SESSION_UPO, {"ref": reference_number, "upo_ref": upo_reference}, timeout
        )

    def download_upo(self, url: str, *, timeout: TimeoutTypes = None) -> bytes:
        """A UPO from a pre-signed ``downloadUrl`` (no token sent), hash verified.

        A refused link raises :class:`~ksefkit.errors.StorageError` (``expired`` on 403: ask
        for the status again, KSeF makes a new link each time).
        """
        response = self._http.download(
            url, timeout=timeout, headers=XML_ACCEPT, what="download of the UPO"
        )
        check_meta_hash(response.content, response.headers.get("x-ms-meta-hash"), what="UPO")
        return response.content

    def _xml(
        self, operation: Operation, path_params: dict[str, str], timeout: TimeoutTypes
    ) -> bytes:
        response = self._http.request(
            operation, path_params=path_params, headers=XML_ACCEPT, timeout=timeout
        )
        check_meta_hash(response.content, response.headers.get("x-ms-meta-hash"), what="UPO")
        return response.content


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
