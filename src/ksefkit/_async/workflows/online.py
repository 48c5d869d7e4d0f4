"""The online (interactive) session: open, send, wait, close, UPOs, resume.

>>> async with client.online_session(FormCode.FA3) as session:  # doctest: +SKIP
...     sent = await session.send(xml)
...     status = await session.wait_for_invoice(sent.reference_number)
...     upo = await session.invoice_upo(sent.reference_number)

Nothing lost, nothing sent twice: when sending an invoice fails ambiguously (the connection
broke after the request left, the answer timed out, a 5xx) KSeF may have received it. The
session then looks the invoice up by its SHA-256 hash in the session's invoice list before
anything is resent: found, it is the send's result; not found, it is sent again (within the
retry policy's attempts). A blind resend would come back as a 440 duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from ... import _polling
from ..._config import MAX_INVOICE_SIZE
from ..._retry import Decision
from ...crypto import KeyUsage, SymmetricKey, encrypt_invoice, encryption_info
from ...errors import BadRequest, ConfigurationError, InvoiceRejected, KsefError, SessionFailed
from ...formcodes import FormCode
from ...models import (
    EncryptionInfo,
    SendInvoiceRequest,
    SessionInvoiceStatusResponse,
    SessionStatusResponse,
)
from ...preflight import check_invoice
from ...state import OnlineSessionState
from .._wait import poll_until
from ..resources.sessions import SEND_INVOICE

if TYPE_CHECKING:
    from ..client import AsyncClient

log = logging.getLogger("ksefkit.online")

UNKNOWN_KEY_ID = 21470
SESSION_IN_PROGRESS = (100, 150, 170)


#: pageSize of the reconciling lookup (the maximum of ``GET /sessions/{ref}/invoices``).
LOOKUP_PAGE_SIZE = 1000


@dataclass(frozen=True)
class SentInvoice:
    """An invoice KSeF accepted for processing (HTTP 202)."""

    reference_number: str
    invoice_hash: str
    invoice_size: int
    file_name: str | None = None


class AsyncOnlineSession:
    """One online session. Use it as a context manager (closes on exit) or call
    :meth:`open` and :meth:`close` yourself; :meth:`AsyncClient.resume_online_session` picks
    it up in another process from :attr:`state`.
    """

    def __init__(
        self,
        client: AsyncClient,
        form_code: FormCode = FormCode.FA3,
        *,
        upo_v43: bool = False,
        preflight: bool = True,
        validate_schema: bool = True,
        max_invoice_size: int = MAX_INVOICE_SIZE,
        state: OnlineSessionState | None = None,
    ) -> None:
        self._client = client
        self.form_code = state.form if state else form_code
        self.upo_v43 = state.upo_v43 if state else upo_v43
        self.preflight = preflight
        self.validate_schema = validate_schema
        self.max_invoice_size = max_invoice_size
        self._state = state
        #: Reference numbers this object's sends returned: a lookup after an ambiguous
        #: failure must not mistake an earlier send of the same content for this one.
        self._sent: set[str] = set()

    def __repr__(self) -> str:
        ref = self._state.reference_number if self._state else "not opened"
        return f"<AsyncOnlineSession {self.form_code.system_code} {ref}>"

    @property
    def state(self) -> OnlineSessionState:
        """The resumable state (JSON-serialisable; holds the key as a secret)."""
        if self._state is None:
            raise ConfigurationError("the session is not open yet: call open() first")
        return self._state

    @property
    def reference_number(self) -> str:
        return self.state.reference_number

    @property
    def is_open(self) -> bool:
        return self._state is not None and not self._state.closed

    async def open(self) -> AsyncOnlineSession:
        """``POST /sessions/online`` with a fresh AES key wrapped for KSeF."""
        if self._state is not None:
            raise ConfigurationError(f"session {self._state.reference_number} is already open")
        key = SymmetricKey.generate()
        for attempt in (1, 2):
            cert = await self._client.keys.certificate(KeyUsage.SYMMETRIC_KEY_ENCRYPTION)
            info = EncryptionInfo.model_validate(
                encryption_info(key, cert.public_key, cert.public_key_id)
            )
            try:
                opened = await self._client.sessions.open_online(
                    self.form_code, info, upo_v43=self.upo_v43
                )
                break
            except BadRequest as error:
                if attempt == 2 or not error.has_code(UNKNOWN_KEY_ID):
                    raise
                self._client.keys.invalidate()
        self._state = OnlineSessionState.create(
            reference_number=opened.reference_number,
            valid_until=opened.valid_until,
            form_code=self.form_code,
            key=key,
            upo_v43=self.upo_v43,
            base_url=self._client.base_url,
        )
        return self

    async def __aenter__(self) -> AsyncOnlineSession:
        if self._state is None:
            await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Close even after an error: invoices already sent are processed either way, and
        # an unclosed session would linger for 12 h.
        if self.is_open:
            await self.close()

    async def send(
        self,
        xml: bytes,
        *,
        offline_mode: bool = False,
        hash_of_corrected_invoice: str | None = None,
        file_name: str | None = None,
    ) -> SentInvoice:
        """Check, encrypt and send one invoice; returns its reference number.

        Pre-flight checks (encoding, size, XSD of the session's form code) run first unless
        the session was created with ``preflight=False``; they raise
        :class:`~ksefkit.errors.PreflightError` listing every problem.

        After an ambiguous failure the invoice is looked up by its hash in the session
        before it is sent again (see the module docstring), so a retried send never makes a
        duplicate. When every attempt failed and KSeF does not list the invoice, the last
        error is raised (with a note saying so).
        """
        state = self.state
        if self.preflight:
            check_invoice(
                xml,
                self.form_code,
                max_size=self.max_invoice_size,
                validate_schema=self.validate_schema,
                file_name=file_name,
            )
        encrypted = encrypt_invoice(xml, state.key)
        request = SendInvoiceRequest.model_validate(
            encrypted.to_wire(offline_mode, hash_of_corrected_invoice)
        )
        reference = await self._deliver(request, encrypted.invoice_hash)
        self._sent.add(reference)
        return SentInvoice(reference, encrypted.invoice_hash, encrypted.invoice_size, file_name)

    async def _deliver(self, request: SendInvoiceRequest, invoice_hash: str) -> str:
        """POST the invoice; after an ambiguous failure, reconcile before sending again."""
        policy = self._client.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._client.sessions.send_invoice(self.reference_number, request)
                return response.reference_number
            except KsefError as error:
                if policy.classify(SEND_INVOICE, error, attempt) is not Decision.RECONCILE:
                    raise
                # Give KSeF a moment to finish what it may be doing with the first request.
                await _polling.async_sleep(policy.delay(error, attempt))
                found: str | None = None
                try:
                    found = await self._lookup(invoice_hash)
                except KsefError as lookup_error:
                    # Not knowing is not "not there": never resend on a failed lookup.
                    error.add_note(f"looking the invoice up in the session failed: {lookup_error}")
                    raise error from error.__cause__
                if found is not None:
                    log.info(
                        "invoice %s reached KSeF despite %s: reconciled as %s (not sent again)",
                        invoice_hash,
                        error,
                        found,
                    )
                    return found
                if attempt >= policy.max_attempts:
                    error.add_note(
                        f"the invoice (hash {invoice_hash}) is not in session "
                        f"{self.reference_number} after {attempt} attempt(s)"
                    )
                    raise
                log.info(
                    "invoice %s not in session %s after %s: sending again (attempt %d)",
                    invoice_hash,
                    self.reference_number,
                    error,
                    attempt + 1,
                )

    async def _lookup(self, invoice_hash: str) -> str | None:
        """The reference number of an invoice of this session with ``invoice_hash`` (Base64
        SHA-256 of the invoice XML, every page of the list) that :meth:`send` did not already
        return, or None."""
        # The largest page KSeF allows: a lookup costs one request per thousand invoices
        # (sessionInvoiceList is one of the tightest rate-limit groups).
        pages = self._client.sessions.invoices(self.reference_number, page_size=LOOKUP_PAGE_SIZE)
        async for item in pages:
            if item.invoice_hash == invoice_hash and item.reference_number not in self._sent:
                return item.reference_number
        return None

    async def send_and_wait(
        self,
        xml: bytes,
        *,
        offline_mode: bool = False,
        hash_of_corrected_invoice: str | None = None,
        file_name: str | None = None,
        timeout: float | None = 60.0,
    ) -> SessionInvoiceStatusResponse:
        """:meth:`send` then :meth:`wait_for_invoice`: the final status, with the KSeF number.

        >>> status = await session.send_and_wait(xml)  # doctest: +SKIP
        >>> status.ksef_number  # doctest: +SKIP
        '5265877635-20250826-0100001AF629-AF'
        """
        sent = await self.send(
            xml,
            offline_mode=offline_mode,
            hash_of_corrected_invoice=hash_of_corrected_invoice,
            file_name=file_name,
        )
        return await self.wait_for_invoice(sent.reference_number, timeout=timeout)

    async def close(self) -> None:
        """``POST /sessions/online/{ref}/close``: KSeF then builds the session UPO.

        Closing a session this object already closed does nothing.
        """
        if self.state.closed:
            return
        await self._client.sessions.close_online(self.state.reference_number)
        self._state = self.state.model_copy(update={"closed": True})

    async def status(self) -> SessionStatusResponse:
        """The session status (``GET /sessions/{ref}``)."""
        return await self._client.sessions.status(self.reference_number)

    async def invoice_status(self, invoice_reference: str) -> SessionInvoiceStatusResponse:
        """One invoice's status."""
        return await self._client.sessions.invoice_status(self.reference_number, invoice_reference)

    def invoices(
        self, *, page_size: int | None = None
    ) -> AsyncIterator[SessionInvoiceStatusResponse]:
        """Every invoice of the session (all pages)."""
        return self._client.sessions.invoices(self.reference_number, page_size=page_size)

    def failed_invoices(
        self, *, page_size: int | None = None
    ) -> AsyncIterator[SessionInvoiceStatusResponse]:
        """Every failed invoice of the session (all pages)."""
        return self._client.sessions.failed_invoices(self.reference_number, page_size=page_size)

    async def wait_for_invoice(
        self, invoice_reference: str, *, timeout: float | None = 60.0, raise_on_error: bool = True
    ) -> SessionInvoiceStatusResponse:
        """Poll until the invoice leaves processing (status 100/150).

        On success the result carries ``ksef_number``. A rejected invoice raises
        :class:`~ksefkit.errors.InvoiceRejected` (its code, e.g. 440 for a duplicate, and
        ``extensions``) unless ``raise_on_error=False``.
        """
        status = await poll_until(
            lambda: self.invoice_status(invoice_reference),
            lambda s: s.status.code not in (100, 150),
            timeout=timeout,
            what=f"invoice {invoice_reference}",
        )
        if raise_on_error and status.status.code != 200:
            raise InvoiceRejected(
                status.status.code,
                status.status.description,
                status.status.details or (),
                reference_number=invoice_reference,
                extensions=status.status.extensions,
            )
        return status

    async def wait_for_ksef_number(
        self, invoice_reference: str, *, timeout: float | None = 60.0
    ) -> str:
        """The KSeF number of an invoice, once assigned (raises if rejected)."""
        status = await self.wait_for_invoice(invoice_reference, timeout=timeout)
        assert status.ksef_number is not None
        return status.ksef_number

    async def wait_until_processed(
        self, *, timeout: float | None = 120.0, raise_on_error: bool = True
    ) -> SessionStatusResponse:
        """After :meth:`close`: poll until the session is processed and its UPO is ready.

        Status 200 returns; 440 (no invoices), 445 (no valid invoices), 415 ... raise
        :class:`~ksefkit.errors.SessionFailed` unless ``raise_on_error=False``.
        """
        status = await poll_until(
            self.status,
            lambda s: (
                s.status.code not in SESSION_IN_PROGRESS
                and (s.status.code != 200 or s.upo is not None)
            ),
            timeout=timeout,
            what=f"session {self.reference_number}",
        )
        if raise_on_error and status.status.code != 200:
            raise SessionFailed(
                status.status.code,
                status.status.description,
                status.status.details or (),
                reference_number=self.reference_number,
            )
        return status

    async def invoice_upo(self, invoice_reference: str) -> bytes:
        """The UPO of one invoice by its reference number (hash verified)."""
        return await self._client.sessions.upo_by_invoice(self.reference_number, invoice_reference)

    async def invoice_upo_by_ksef_number(self, ksef_number: str) -> bytes:
        """The UPO of one invoice by its KSeF number (hash verified)."""
        return await self._client.sessions.upo_by_ksef_number(self.reference_number, ksef_number)

    async def session_upo(self) -> list[bytes]:
        """Every page of the session UPO (after :meth:`wait_until_processed`)."""
        status = await self.status()
        if status.upo is None:
            raise SessionFailed(
                status.status.code,
                "the session UPO is not available (yet)",
                status.status.details or (),
                reference_number=self.reference_number,
            )
        return [
            await self._client.sessions.upo(self.reference_number, page.reference_number)
            for page in status.upo.pages
        ]
