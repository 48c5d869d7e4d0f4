"""Online sessions: open, send, close, status views, lists and UPO downloads (§5, §7, §8).

The synchronous checks live here (21173, 21180, 21155, 21402, 21403, 21405, 21470; the
technical-correction rules 21166/21167 in :mod:`.corrections`); the
asynchronous verdicts (decrypt, validate, number, UPO) are made by
:mod:`ksefkit.emulator.backends.processing`. Views are plain dicts in wire shape.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ...crypto import rsa_oaep_decrypt, sha256_b64
from ...errors import DecryptionError
from ...formcodes import FormCode
from .. import jwt
from ..clock import isoformat, parse_datetime
from ..errors import KsefApiError, bad_request, validation_error
from ..keys import SYMMETRIC_KEY
from . import (
    Base64Str,
    Sha256Base64,
    b64decode_strict,
    check_reference_number,
    loads_list,
    paginate,
    parse_body,
)
from .auth import Claims

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = [
    "COMMON_STATUSES",
    "SESSION_READ",
    "SESSION_WRITE",
    "SessionsBackend",
    "common_status",
]

SESSION_WRITE = ("InvoiceWrite", "PefInvoiceWrite", "EnforcementOperations")
SESSION_READ = ("InvoiceWrite", "Introspection", "PefInvoiceWrite", "EnforcementOperations")
SESSION_LIST = ("InvoiceWrite", "Introspection", "EnforcementOperations")
#: ``CommonSessionStatus`` (OAS): the values the ``statuses`` filter of ``GET /sessions`` takes.
COMMON_STATUSES = ("InProgress", "Succeeded", "Failed", "Cancelled")
_SEE_ALL = frozenset({"Introspection", "EnforcementOperations"})


class _FormCodeBody(BaseModel):
    systemCode: str
    schemaVersion: str
    value: str


class _EncryptionBody(BaseModel):
    encryptedSymmetricKey: Base64Str
    initializationVector: Base64Str
    publicKeyId: Sha256Base64 | None = None


class _OpenOnlineBody(BaseModel):
    formCode: _FormCodeBody
    encryption: _EncryptionBody


class _SendInvoiceBody(BaseModel):
    invoiceHash: Sha256Base64
    invoiceSize: int = Field(ge=1)
    encryptedInvoiceHash: Sha256Base64
    encryptedInvoiceSize: int = Field(ge=1)
    encryptedInvoiceContent: Base64Str
    offlineMode: bool = False
    hashOfCorrectedInvoice: Sha256Base64 | None = None


def common_status(code: int) -> str:
    """``CommonSessionStatus`` of a session status code (KSEF_API.md §7.2 decision).

    >>> [common_status(c) for c in (100, 170, 200, 440, 445)]
    ['InProgress', 'InProgress', 'Succeeded', 'Cancelled', 'Failed']
    """
    if code in (100, 150, 170):
        return "InProgress"
    if code == 200:
        return "Succeeded"
    return "Cancelled" if code == 440 else "Failed"


class SessionsBackend:
    """Online-session state over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store

    # -- open / send / close ---------------------------------------------------------------

    def open_online(self, claims: Claims, body: object) -> dict[str, Any]:
        """``POST /sessions/online`` → 201 ``{referenceNumber, validUntil}``."""
        req = parse_body(_OpenOnlineBody, body)
        fc = req.formCode
        form = FormCode.from_wire(fc.systemCode, fc.schemaVersion, fc.value)
        if form is None:
            raise validation_error("Wskazany kod formularza nie jest wspierany.")
        wrapped = b64decode_strict(req.encryption.encryptedSymmetricKey, "encryptedSymmetricKey")
        iv = b64decode_strict(req.encryption.initializationVector, "initializationVector")
        private = self._state.keys.private_key(SYMMETRIC_KEY, req.encryption.publicKeyId)
        key = self.unwrap_key(private, wrapped, iv)
        status = (100, "Sesja interaktywna otwarta") if key else (415, _KEY_ERROR)
        reference, now = self.create_session(claims, "Online", form, key, iv, status)
        until = now + dt.timedelta(seconds=self._state.config.session_lifetime)
        return {"referenceNumber": reference, "validUntil": isoformat(until)}

    def create_session(
        self,
        claims: Claims,
        session_type: Literal["Online", "Batch"],
        form: FormCode,
        key: bytes | None,
        iv: bytes,
        status: tuple[int, str],
    ) -> tuple[str, dt.datetime]:
        """Insert a session row (SO or SB); returns its reference number and open time.

        ``validUntil`` is the open time + ``session_lifetime`` (12 h) for both kinds.
        """
        now = self._state.clock.now()
        until = now + dt.timedelta(seconds=self._state.config.session_lifetime)
        type_code = "SO" if session_type == "Online" else "SB"
        reference = self._state.ids.reference(type_code, self._state.today())
        token_ref = self._token_reference(claims.reference_number)
        self._store.run(
            "INSERT INTO sessions (reference_number, session_type, context_type, context_value,"
            " subject_value, auth_reference, token_reference, form_code, sym_key, iv,"
            " status_code, status_description, date_created, date_updated, valid_until,"
            " upo_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'v4-3')",
            (
                reference,
                session_type,
                claims.context_type,
                claims.context_value,
                claims.subject_value,
                claims.reference_number,
                token_ref,
                form.name,
                key,
                iv if key else None,
                status[0],
                status[1],
                isoformat(now),
                isoformat(now),
                isoformat(until),
            ),
        )
        return reference, now

    @staticmethod
    def unwrap_key(private: Any, wrapped: bytes, iv: bytes) -> bytes | None:
        """The session's AES key, or None when it cannot be used (the session then fails: 415)."""
        return _unwrap(private, wrapped, iv)

    def send_invoice(self, claims: Claims, reference: str, body: object) -> dict[str, Any]:
        """``POST /sessions/online/{ref}/invoices`` → 202 ``{referenceNumber}``."""
        req = parse_body(_SendInvoiceBody, body)
        content = b64decode_strict(req.encryptedInvoiceContent, "encryptedInvoiceContent")
        with self._store.tx():
            session = self._writable_session(claims, reference, "wysyłkę faktur")
            count = self._invoice_count(reference)
            limit = self._state.session_limits.for_session(session).max_invoices
            if count >= limit:
                raise bad_request(
                    21155,
                    f"Sesja o numerze referencyjnym {reference} osiągnęła"
                    f" dozwolony limit liczby faktur {limit}.",
                )
            if len(content) != req.encryptedInvoiceSize:
                raise bad_request(21402, "Długość treści nie zgadza się z rozmiarem pliku.")
            if sha256_b64(content) != req.encryptedInvoiceHash:
                raise bad_request(21403, "Skrót treści nie zgadza się ze skrótem pliku.")
            if req.hashOfCorrectedInvoice is not None:
                self._state.corrections.check(
                    session,
                    offline_mode=req.offlineMode,
                    invoice_hash=req.invoiceHash,
                    original_hash=req.hashOfCorrectedInvoice,
                )
            invoice_ref = self._insert_invoice(session, count + 1, req, content)
        self._state.processor.kick()
        return {"referenceNumber": invoice_ref}

    def close_online(self, claims: Claims, reference: str) -> None:
        """``POST /sessions/online/{ref}/close`` → 204; the session goes to 170."""
        with self._store.tx():
            self._writable_session(claims, reference, "jej zamknięcie")
            now = isoformat(self._state.clock.now())
            self._store.run(
                "UPDATE sessions SET status_code = 170, status_description = ?, date_closed = ?,"
                " date_updated = ? WHERE reference_number = ?",
                ("Sesja interaktywna zamknięta", now, now, reference),
            )
        self._state.processor.kick()

    def _insert_invoice(
        self, session: Any, ordinal: int, req: _SendInvoiceBody, content: bytes
    ) -> str:
        now = self._state.clock.now()
        invoice_ref = self._state.ids.reference("EE", self._state.today())
        self._store.run(
            "INSERT INTO invoices (reference_number, session_reference, ordinal_number,"
            " invoice_hash, invoice_size, encrypted, offline_mode, hash_of_corrected,"
            " invoicing_date, status_code, status_description, form_code)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 100, ?, ?)",
            (
                invoice_ref,
                session["reference_number"],
                ordinal,
                req.invoiceHash,
                req.invoiceSize,
                content,
                int(req.offlineMode),
                req.hashOfCorrectedInvoice,
                isoformat(now),
                "Faktura przyjęta do dalszego przetwarzania",
                session["form_code"],
            ),
        )
        self._store.run(
            "UPDATE sessions SET date_updated = ? WHERE reference_number = ?",
            (isoformat(now), session["reference_number"]),
        )
        return invoice_ref

    def _writable_session(self, claims: Claims, reference: str, action: str) -> Any:
        session = self._session(claims, reference)
        if session["session_type"] != "Online":
            raise bad_request(
                21173,
                f"Sesja interaktywna o numerze referencyjnym {reference} nie została znaleziona.",
            )
        if session["status_code"] != 100:
            raise bad_request(
                21180, f"Status sesji {session['status_code']} uniemożliwia {action}."
            )
        return session

    def _token_reference(self, auth_reference: str) -> str | None:
        row = self._store.one(
            "SELECT token_reference FROM auth_operations WHERE reference_number = ?",
            (auth_reference,),
        )
        return None if row is None else row["token_reference"]

    def _invoice_count(self, reference: str) -> int:
        row = self._store.one(
            "SELECT COUNT(*) AS n FROM invoices WHERE session_reference = ?", (reference,)
        )
        return 0 if row is None else int(row["n"])

    # -- lookups ---------------------------------------------------------------------------

    def expire_due(self) -> int:
        """Auto-close open online sessions whose ``validUntil`` passed (→ 170) and cancel
        batch sessions left open for 12 h (→ 440); returns how many sessions changed."""
        cancelled = self._state.batch.expire_due()
        now = self._state.clock.now()
        rows = self._store.all(
            "SELECT reference_number, valid_until FROM sessions"
            " WHERE status_code = 100 AND session_type = 'Online'"
        )
        due = [r for r in rows if parse_datetime(r["valid_until"]) <= now]
        with self._store.tx():
            for row in due:
                self._store.run(
                    "UPDATE sessions SET status_code = 170, status_description = ?,"
                    " date_closed = ?, date_updated = ? WHERE reference_number = ?"
                    " AND status_code = 100",
                    (
                        "Sesja interaktywna zamknięta",
                        row["valid_until"],
                        isoformat(now),
                        row["reference_number"],
                    ),
                )
        if due:
            self._state.processor.kick()
        return len(due) + cancelled

    def session_row(self, claims: Claims, reference: str) -> Any:
        """The session ``claims`` may see (timeouts applied first); 21173 otherwise."""
        return self._session(claims, reference)

    def _session(self, claims: Claims, reference: str) -> Any:
        self.expire_due()
        row = self._store.one("SELECT * FROM sessions WHERE reference_number = ?", (reference,))
        if row is None or not self._visible(claims, row):
            raise bad_request(
                21173, f"Sesja o numerze referencyjnym {reference} nie została znaleziona."
            )
        return row

    @staticmethod
    def _visible(claims: Claims, row: Any) -> bool:
        if (row["context_type"], row["context_value"]) != (
            claims.context_type,
            claims.context_value,
        ):
            return False
        # InvoiceWrite alone sees only sessions its own subject opened (§7.1).
        return bool(_SEE_ALL & set(claims.permissions)) or row["subject_value"] == (
            claims.subject_value
        )

    # -- views -----------------------------------------------------------------------------

    def session_status(self, claims: Claims, reference: str, base_url: str) -> dict[str, Any]:
        """``GET /sessions/{ref}`` (SessionStatusResponse)."""
        row = self._session(claims, reference)
        counts = self._counts(reference)
        body: dict[str, Any] = {
            "status": _status(row),
            "dateCreated": row["date_created"],
            "dateUpdated": row["date_updated"],
            "validUntil": row["valid_until"],
        }
        pages = self._store.all(
            "SELECT reference_number FROM upo_pages WHERE session_reference = ? ORDER BY page",
            (reference,),
        )
        if pages:
            body["upo"] = {
                "pages": [
                    self._upo_page_link(p["reference_number"], reference, base_url) for p in pages
                ]
            }
        body.update(
            invoiceCount=counts[0], successfulInvoiceCount=counts[1], failedInvoiceCount=counts[2]
        )
        return body

    def list_sessions(
        self, claims: Claims, query: dict[str, Any], continuation: str | None
    ) -> dict[str, Any]:
        """``GET /sessions`` with the filters of §7.1, newest first, continuation paging."""
        session_type = query.get("sessionType")
        if session_type not in ("Online", "Batch"):
            raise validation_error("sessionType: wymagana wartość Online lub Batch.")
        _check_filters(query)
        self.expire_due()
        rows = self._store.all(
            "SELECT * FROM sessions WHERE session_type = ? AND context_type = ?"
            " AND context_value = ? ORDER BY date_created DESC, reference_number",
            (session_type, claims.context_type, claims.context_value),
        )
        matching = [r for r in rows if self._visible(claims, r) and _matches(r, query)]
        page, token = paginate(matching, continuation, _page_size(query.get("pageSize")))
        items = [self._list_item(r) for r in page]
        return {"continuationToken": token, "sessions": items}

    def _list_item(self, row: Any) -> dict[str, Any]:
        total, ok, failed = self._counts(row["reference_number"])
        return {
            "referenceNumber": row["reference_number"],
            "status": _status(row),
            "dateCreated": row["date_created"],
            "dateUpdated": row["date_updated"],
            "validUntil": row["valid_until"],
            "totalInvoiceCount": total,
            "successfulInvoiceCount": ok,
            "failedInvoiceCount": failed,
        }

    def list_invoices(
        self,
        claims: Claims,
        reference: str,
        page_size: object,
        continuation: str | None,
        base_url: str,
        *,
        failed_only: bool = False,
    ) -> dict[str, Any]:
        """``GET /sessions/{ref}/invoices`` and ``…/invoices/failed`` (ordinal order)."""
        self._session(claims, reference)
        rows = self._store.all(
            "SELECT * FROM invoices WHERE session_reference = ? ORDER BY ordinal_number",
            (reference,),
        )
        if failed_only:
            rows = [r for r in rows if r["status_code"] not in (100, 150, 200)]
        page, token = paginate(rows, continuation, _page_size(page_size))
        return {
            "continuationToken": token,
            "invoices": [self.invoice_view(r, base_url) for r in page],
        }

    def invoice_status(
        self, claims: Claims, reference: str, invoice_ref: str, base_url: str
    ) -> dict[str, Any]:
        """``GET /sessions/{ref}/invoices/{invoiceRef}`` (SessionInvoiceStatusResponse)."""
        return self.invoice_view(self._invoice(claims, reference, invoice_ref), base_url)

    def invoice_view(self, row: Any, base_url: str) -> dict[str, Any]:
        """The wire view of one invoice row."""
        body: dict[str, Any] = {
            "ordinalNumber": row["ordinal_number"],
            "invoiceNumber": row["invoice_number"],
            "ksefNumber": row["ksef_number"],
            "referenceNumber": row["reference_number"],
            "invoiceHash": row["invoice_hash"],
            "invoiceFileName": row["file_name"],
            "acquisitionDate": row["acquisition_date"],
            "invoicingDate": row["invoicing_date"],
            "permanentStorageDate": self._permanent_storage(row),
            "invoicingMode": row["invoicing_mode"],
            "status": _invoice_status(row),
        }
        if row["upo"] is not None:
            url, expires = self._link({"kind": "invoice", "ref": row["reference_number"]}, base_url)
            body["upoDownloadUrl"] = url
            body["upoDownloadUrlExpirationDate"] = expires
        return {k: v for k, v in body.items() if v is not None}

    def _permanent_storage(self, row: Any) -> str | None:
        stamp: str | None = row["permanent_storage_date"]
        if stamp is None or self._state.config.processing == "immediate":
            return stamp
        # Filled "asynchronously": visible once the clock has reached it.
        return stamp if parse_datetime(stamp) <= self._state.clock.now() else None

    def _counts(self, reference: str) -> tuple[int, int, int]:
        row = self._store.one(
            "SELECT COUNT(*) AS total, SUM(status_code = 200) AS ok,"
            " SUM(status_code NOT IN (100, 150, 200)) AS failed"
            " FROM invoices WHERE session_reference = ?",
            (reference,),
        )
        if row is None:
            return 0, 0, 0
        return int(row["total"] or 0), int(row["ok"] or 0), int(row["failed"] or 0)

    def _invoice(self, claims: Claims, reference: str, invoice_ref: str) -> Any:
        self._session(claims, reference)
        row = self._store.one(
            "SELECT * FROM invoices WHERE session_reference = ? AND reference_number = ?",
            (reference, invoice_ref),
        )
        if row is None:
            raise bad_request(
                21405, f"Faktura o numerze referencyjnym {invoice_ref} nie została znaleziona."
            )
        return row

    # -- UPO -------------------------------------------------------------------------------

    def invoice_upo(self, claims: Claims, reference: str, invoice_ref: str) -> bytes:
        """``GET /sessions/{ref}/invoices/{invoiceRef}/upo``."""
        row = self._invoice(claims, reference, invoice_ref)
        if row["upo"] is None:
            raise bad_request(
                21178,
                f"UPO o numerze referencyjnym {invoice_ref} dla sesji"
                f" {reference} nie zostało znalezione.",
            )
        return bytes(row["upo"])

    def invoice_upo_by_ksef_number(self, claims: Claims, reference: str, ksef_number: str) -> bytes:
        """``GET /sessions/{ref}/invoices/ksef/{ksefNumber}/upo``."""
        self._session(claims, reference)
        row = self._store.one(
            "SELECT upo FROM invoices WHERE session_reference = ? AND ksef_number = ?",
            (reference, ksef_number),
        )
        if row is None or row["upo"] is None:
            raise bad_request(
                21178,
                f"UPO o numerze KSeF {ksef_number} i numerze referencyjnym"
                f" sesji {reference} nie zostało znalezione.",
            )
        return bytes(row["upo"])

    def session_upo(self, claims: Claims, reference: str, upo_ref: str) -> bytes:
        """``GET /sessions/{ref}/upo/{upoRef}``."""
        self._session(claims, reference)
        row = self._store.one(
            "SELECT xml FROM upo_pages WHERE session_reference = ? AND reference_number = ?",
            (reference, upo_ref),
        )
        if row is None:
            raise bad_request(
                21178,
                f"UPO o numerze referencyjnym {upo_ref} dla sesji"
                f" {reference} nie zostało znalezione.",
            )
        return bytes(row["xml"])

    def download(self, token: str) -> bytes:
        """A pre-signed UPO link (no bearer): 403 when forged or expired."""
        try:
            claims = jwt.decode(token, self._state.jwt_secret)
        except jwt.JwtError:
            raise KsefApiError(
                403, None, "Signature did not match.", reason_code="insufficient-resource-access"
            ) from None
        if claims.get("token-type") != "UpoDownload" or float(claims.get("exp", 0)) <= (
            self._state.clock.now().timestamp()
        ):
            raise KsefApiError(
                403, None, "Link wygasł.", reason_code="insufficient-resource-access"
            )
        if claims.get("kind") == "page":
            row = self._store.one(
                "SELECT xml AS upo FROM upo_pages WHERE reference_number = ?", (claims.get("ref"),)
            )
        else:
            row = self._store.one(
                "SELECT upo FROM invoices WHERE reference_number = ?", (claims.get("ref"),)
            )
        if row is None or row["upo"] is None:
            raise KsefApiError(404, None, "The specified blob does not exist.")
        return bytes(row["upo"])

    def _upo_page_link(self, upo_ref: str, session_ref: str, base_url: str) -> dict[str, str]:
        url, expires = self._link(
            {"kind": "page", "ref": upo_ref, "session": session_ref}, base_url
        )
        return {
            "referenceNumber": upo_ref,
            "downloadUrl": url,
            "downloadUrlExpirationDate": expires,
        }

    def _link(self, what: dict[str, str], base_url: str) -> tuple[str, str]:
        base = (self._state.config.public_url or base_url).rstrip("/")
        until = self._state.clock.now() + dt.timedelta(seconds=self._state.config.upo_url_lifetime)
        claims = {"token-type": "UpoDownload", **what, "exp": int(until.timestamp())}
        token = jwt.encode(claims, self._state.jwt_secret)
        exact = dt.datetime.fromtimestamp(int(until.timestamp()), dt.UTC)
        return f"{base}/storage/upo/{token}", isoformat(exact)


_KEY_ERROR = "Błąd odszyfrowania dostarczonego klucza"


def _unwrap(private: Any, wrapped: bytes, iv: bytes) -> bytes | None:
    """The session's AES key, or None when it cannot be used (the session then fails: 415)."""
    try:
        key: bytes = rsa_oaep_decrypt(private, wrapped)
    except DecryptionError:
        return None
    return key if len(key) == 32 and len(iv) == 16 else None


def _status(row: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"code": row["status_code"], "description": row["status_description"]}
    details = loads_list(row["status_details"])
    if details:
        status["details"] = details
    return status


def _invoice_status(row: Any) -> dict[str, Any]:
    status = _status(row)
    if row["status_extensions"]:
        status["extensions"] = json.loads(row["status_extensions"])
    return status


def _page_size(value: object) -> int:
    if value is None:
        return 10
    try:
        size = int(str(value))
    except ValueError:
        raise validation_error("pageSize: wartość musi być liczbą całkowitą.") from None
    if not 10 <= size <= 1000:
        raise validation_error("pageSize: wartość musi być z zakresu 10-1000.")
    return size


_DATE_FILTERS: dict[str, tuple[str, Literal["ge", "le"]]] = {
    "dateCreatedFrom": ("date_created", "ge"),
    "dateCreatedTo": ("date_created", "le"),
    "dateClosedFrom": ("date_closed", "ge"),
    "dateClosedTo": ("date_closed", "le"),
    "dateModifiedFrom": ("date_updated", "ge"),
    "dateModifiedTo": ("date_updated", "le"),
}


def _check_filters(query: dict[str, Any]) -> None:
    """Refuse filter values outside their schema (400/21405), before anything is read."""
    unknown = [s for s in query.get("statuses") or [] if s not in COMMON_STATUSES]
    if unknown:
        raise validation_error(
            *(
                f"statuses: wartość {s!r} nie należy do dozwolonych ({', '.join(COMMON_STATUSES)})."
                for s in unknown
            )
        )
    if query.get("referenceNumber"):
        check_reference_number(query["referenceNumber"], "referenceNumber")
    for name in _DATE_FILTERS:
        if query.get(name):
            _query_date(name, query[name])


def _matches(row: Any, query: dict[str, Any]) -> bool:
    ref = query.get("referenceNumber")
    if ref and row["reference_number"] != ref:
        return False
    statuses = query.get("statuses") or []
    if statuses and common_status(row["status_code"]) not in statuses:
        return False
    for name, (column, op) in _DATE_FILTERS.items():
        if query.get(name) and not _date_ok(row[column], _query_date(name, query[name]), op):
            return False
    return True


def _query_date(name: str, text: str) -> dt.datetime:
    try:
        return parse_datetime(text)
    except ValueError:
        raise validation_error(f"{name}: nieprawidłowa data.") from None


def _date_ok(value: str | None, bound: dt.datetime, op: str) -> bool:
    if value is None:
        return False
    stamp = parse_datetime(value)
    return stamp >= bound if op == "ge" else stamp <= bound
