"""Invoice exports: ``POST /invoices/exports``, the package build, status and part links (§10.3).

Rules only (no HTTP; :mod:`ksefkit.emulator.export_routes` serves them). Lifecycle of an
``exports`` row:

* request → 400 ``21405`` (body, filters), ``21470`` (``publicKeyId``), ``21181`` (subject type
  not exportable from the context type: ``NipVatUe`` and ``PeppolId`` contexts may only export
  ``Subject1`` — an emulator decision, KSeF does not publish the matrix), ``21182`` (already
  ``export_max_concurrent`` exports at 100 for the subject in the context) → 201, status 100.
  The AES key is unwrapped at once; a key that cannot be unwrapped is stored as NULL and the
  export ends with 415.
* build (a work item of the processor): the invoices of the filters, ascending by the date
  type, up to ``export_max_invoices`` invoices or ``export_max_size`` compressed bytes
  (``_metadata.json`` is not counted), as ``{ksefNumber}.xml`` + ``_metadata.json`` in a ZIP
  or tar.gz written to disk entry by entry, split into parts of ``export_part_size`` bytes,
  each part encrypted on its own (AES-256-CBC/PKCS#7, the requester's key and IV, no IV
  prefix). ``21183`` from the query (``from`` > HWM with the restrict flag) → status 420; any
  other failure → 500. Success → 200 with ``completedDate`` and ``packageExpirationDate``
  (+ ``export_package_lifetime``).
* status: links are signed when the status is read (``/storage/exports/{ref}/{partName}?sv&se&
  sr=b&sp=r&sig`` — HMAC-SHA256 with the emulator secret), valid ``export_link_lifetime``
  seconds but never past the package expiry. After ``packageExpirationDate`` the status is
  210 and the files are removed; after ``export_status_lifetime`` the status is 410.
* restart: an export still at 100 is built again from scratch (its directory is emptied
  first); parts are fsynced before the row says 200.

The invoice query is :mod:`.metadata` (``query_invoices``); while that module is absent a
minimal stand-in over the ``invoices`` table is used (seller/buyer NIP context, date range).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import os
import shutil
import tarfile
import urllib.parse
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import BaseModel

from ..clock import isoformat, parse_datetime
from ..crash import crash_point
from ..errors import KsefApiError, gone
from ..keys import SYMMETRIC_KEY
from ..store import fsync_dir
from . import Base64Str, NotNull, Sha256Base64, b64decode_strict, dumps, parse_body
from .auth import Claims
from .batch_storage import StorageError
from .metadata import query_invoices

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["EXPORT_READ", "SCHEMA", "ExportFile", "ExportsBackend"]

EXPORT_READ = ("InvoiceRead",)

SCHEMA = """
CREATE TABLE IF NOT EXISTS exports (
    reference_number TEXT PRIMARY KEY, context_type TEXT NOT NULL, context_value TEXT NOT NULL,
    subject_value TEXT NOT NULL, filters TEXT NOT NULL, only_metadata INTEGER NOT NULL,
    compression TEXT NOT NULL, sym_key BLOB, iv BLOB NOT NULL, status_code INTEGER NOT NULL,
    status_description TEXT NOT NULL, status_details TEXT, date_created TEXT NOT NULL,
    completed_date TEXT, package_expiration TEXT, package TEXT, directory TEXT);
CREATE INDEX IF NOT EXISTS exports_running ON exports (context_type, context_value, status_code);
"""

_DESCRIPTIONS = {
    100: "Eksport faktur w toku",
    200: "Eksport faktur zakończony sukcesem",
    210: "Eksport faktur wygasł i nie jest już dostępny do pobrania",
    415: "Błąd odszyfrowania dostarczonego klucza",
    420: "Zakres filtrowania wykracza poza dostępny zakres danych",
    500: "Nieznany błąd (500)",
}
_LAST_DATE = {
    "Issue": ("lastIssueDate", "issueDate"),
    "Invoicing": ("lastInvoicingDate", "invoicingDate"),
    "PermanentStorage": ("lastPermanentStorageDate", "permanentStorageDate"),
}
#: Context types that may only export the invoices they issued (emulator decision, 21181).
_SELLER_ONLY_CONTEXTS = frozenset({"NipVatUe", "PeppolId"})
_CHUNK = 1 << 20
_SAS_VERSION = "2025-01-05"


class _EncryptionBody(BaseModel):
    encryptedSymmetricKey: Base64Str
    initializationVector: Base64Str
    publicKeyId: Sha256Base64 | None = None


class _DateRangeBody(BaseModel):
    dateType: Literal["Issue", "Invoicing", "PermanentStorage"]
    model_config = {"extra": "allow"}


class _FiltersBody(BaseModel):
    subjectType: Literal["Subject1", "Subject2", "Subject3", "SubjectAuthorized"]
    dateRange: _DateRangeBody
    model_config = {"extra": "allow"}


class _ExportBody(BaseModel):
    encryption: _EncryptionBody
    filters: _FiltersBody
    # Not ``nullable`` in the spec (``compressionType`` is): an explicit null is 21405.
    onlyMetadata: Annotated[bool | None, NotNull] = None
    compressionType: Literal["Zip", "TarGz"] | None = None


@dataclass(frozen=True)
class ExportFile:
    """One encrypted part on disk, ready to be served."""

    path: Path
    size: int
    encrypted_hash: str


@dataclass
class _Selection:
    rows: list[dict[str, Any]]
    truncated: bool
    hwm: dt.datetime | None


QueryFn = Callable[..., Any]


class ExportsBackend:
    """Export requests, their background build and the status view."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    # -- request ---------------------------------------------------------------------------

    def start(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /invoices/exports`` → 201 ``{referenceNumber}`` (the build is a work item)."""
        req = parse_body(_ExportBody, body)
        raw_filters = body["filters"] if isinstance(body, dict) else {}
        # The whole body is validated (21405) before its key is looked up (21470), as KSeF
        # binds and validates the model before the operation runs.
        self._validate_filters(claims, raw_filters)
        wrapped = b64decode_strict(req.encryption.encryptedSymmetricKey, "encryptedSymmetricKey")
        iv = b64decode_strict(req.encryption.initializationVector, "initializationVector")
        private = self._state.keys.private_key(SYMMETRIC_KEY, req.encryption.publicKeyId)
        subject_type = req.filters.subjectType
        if claims.context_type in _SELLER_ONLY_CONTEXTS and subject_type != "Subject1":
            raise KsefApiError(
                400,
                21181,
                "Nieprawidłowe żądanie eksportu faktur.",
                [
                    "Nie można wyeksportować paczki faktur dla wybranego podmiotu"
                    f" ({subject_type}) i zalogowanego identyfikatora kontekstu"
                    f" ({claims.context_type})."
                ],
            )
        key = self._state.sessions.unwrap_key(private, wrapped, iv)
        limit = self._state.config.export_max_concurrent
        now = self._state.clock.now()
        with self._store.tx():
            running = self._store.one(
                "SELECT COUNT(*) AS n FROM exports WHERE context_type = ? AND context_value = ?"
                " AND subject_value = ? AND status_code = 100",
                (claims.context_type, claims.context_value, claims.subject_value),
            )
            if running is not None and running["n"] >= limit:
                raise KsefApiError(
                    400,
                    21182,
                    "Osiągnięto limit trwających eksportów.",
                    [
                        "Dla uwierzytelnionego podmiotu w bieżącym kontekście osiągnięto"
                        f" maksymalny limit {limit} równoczesnych eksportów faktur."
                        " Spróbuj ponownie później."
                    ],
                )
            reference = self._state.ids.reference("EH", self._state.today())
            self._store.run(
                "INSERT INTO exports (reference_number, context_type, context_value,"
                " subject_value, filters, only_metadata, compression, sym_key, iv, status_code,"
                " status_description, date_created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 100, ?, ?)",
                (
                    reference,
                    claims.context_type,
                    claims.context_value,
                    claims.subject_value,
                    dumps(raw_filters),
                    int(bool(req.onlyMetadata)),
                    req.compressionType or "Zip",
                    key,
                    iv,
                    _DESCRIPTIONS[100],
                    isoformat(now),
                ),
            )
        self._state.processor.kick()
        return {"referenceNumber": reference}

    def _validate_filters(self, claims: Claims, filters: object) -> None:
        """The metadata query's own validation (21405); 21183 waits for the build (420)."""
        try:
            _select(self._state, claims.context_type, claims.context_value, filters, 0)
        except KsefApiError as exc:
            if exc.code != 21183:
                raise

    # -- build -----------------------------------------------------------------------------

    def work(self, cutoff: dt.datetime) -> list[Callable[[], None]]:
        """Exports waiting to be built (requested before ``cutoff``)."""
        rows = self._store.all(
            "SELECT reference_number, date_created FROM exports WHERE status_code = 100"
            " ORDER BY date_created"
        )
        return [
            functools.partial(self._build_guarded, r["reference_number"])
            for r in rows
            if parse_datetime(r["date_created"]) <= cutoff
        ]

    def _build_guarded(self, reference: str) -> None:
        row = self._store.one(
            "SELECT * FROM exports WHERE reference_number = ? AND status_code = 100", (reference,)
        )
        if row is None:
            return
        directory = self.export_dir(reference)
        try:
            self._build(row, directory)
        except KsefApiError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            if exc.code == 21183:
                self._end(
                    reference,
                    420,
                    [
                        "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate"
                        " przy włączonym restrictToPermanentStorageHwmDate."
                    ],
                )
            else:
                self._end(reference, 500, [exc.description, *exc.details])
        except Exception as exc:  # an emulator bug must not leave the export at 100
            shutil.rmtree(directory, ignore_errors=True)
            self._end(reference, 500, [f"{type(exc).__name__}: {exc}"])

    def _end(self, reference: str, code: int, details: list[str] | None = None) -> None:
        self._store.run(
            "UPDATE exports SET status_code = ?, status_description = ?, status_details = ?,"
            " completed_date = ? WHERE reference_number = ?",
            (
                code,
                _DESCRIPTIONS[code],
                dumps(details) if details else None,
                isoformat(self._state.clock.now()),
                reference,
            ),
        )

    def _build(self, row: Any, directory: Path) -> None:
        if row["sym_key"] is None:
            self._end(row["reference_number"], 415)
            return
        cfg = self._state.config
        filters = json.loads(row["filters"])
        date_type = filters["dateRange"]["dateType"]
        selection = _select(
            self._state, row["context_type"], row["context_value"], filters, cfg.export_max_invoices
        )
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        suffix = "zip" if row["compression"] == "Zip" else "tar.gz"
        archive = directory / f"package.{suffix}"
        included, size_cut = self._write_archive(
            archive, selection.rows, bool(row["only_metadata"]), row["compression"] == "Zip"
        )
        truncated = selection.truncated or size_cut
        package: dict[str, Any] = {
            "invoiceCount": len(included),
            "size": archive.stat().st_size,
            "parts": _split_encrypt(
                archive,
                directory,
                f"{row['reference_number']}-{{:03d}}.{suffix}.aes",
                cfg.export_part_size,
                bytes(row["sym_key"]),
                bytes(row["iv"]),
            ),
            "isTruncated": truncated,
        }
        archive.unlink()
        fsync_dir(directory)  # the parts (fsynced one by one) exist before the row says 200
        fsync_dir(directory.parent)
        crash_point("export-build")
        if truncated and included:
            field, source = _LAST_DATE[date_type]
            package[field] = included[-1][source]
        if date_type == "PermanentStorage" and selection.hwm is not None:
            package["permanentStorageHwmDate"] = isoformat(selection.hwm)
        now = self._state.clock.now()
        expires = now + dt.timedelta(seconds=cfg.export_package_lifetime)
        self._store.run(
            "UPDATE exports SET status_code = 200, status_description = ?, completed_date = ?,"
            " package_expiration = ?, package = ?, directory = ? WHERE reference_number = ?",
            (
                _DESCRIPTIONS[200],
                isoformat(now),
                isoformat(expires),
                dumps(package),
                str(directory),
                row["reference_number"],
            ),
        )

    def _write_archive(
        self, path: Path, rows: list[dict[str, Any]], only_metadata: bool, zip_format: bool
    ) -> tuple[list[dict[str, Any]], bool]:
        """Write the archive entry by entry; returns the included rows and the size cut."""
        cap = self._state.config.export_max_size
        included: list[dict[str, Any]] = []
        size_cut = False
        meta_path = path.with_name("_metadata.json")
        with _Archive(path, zip_format) as out:
            if not only_metadata:
                for row in rows:
                    xml = self._invoice_xml(row["ksefNumber"])
                    if included and out.size() + len(xml) > cap:
                        size_cut = True
                        break
                    out.add_bytes(f"{row['ksefNumber']}.xml", xml)
                    included.append(row)
            else:
                included = list(rows)
            with meta_path.open("w", encoding="utf-8") as meta:
                meta.write('{"invoices": [')
                for i, row in enumerate(included):
                    meta.write(("," if i else "") + json.dumps(row, ensure_ascii=False))
                meta.write("]}")
            out.add_file("_metadata.json", meta_path)
        meta_path.unlink()
        return included, size_cut

    def _invoice_xml(self, ksef_number: str) -> bytes:
        row = self._store.one("SELECT xml FROM invoices WHERE ksef_number = ?", (ksef_number,))
        if row is None or row["xml"] is None:
            raise LookupError(f"no XML stored for invoice {ksef_number}")
        return bytes(row["xml"])

    # -- status ----------------------------------------------------------------------------

    def status(self, claims: Claims, reference: str, base_url: str) -> dict[str, Any]:
        """``GET /invoices/exports/{ref}`` → ``InvoiceExportStatusResponse`` (fresh links)."""
        row = self._row(claims, reference)
        now = self._state.clock.now()
        created = parse_datetime(row["date_created"])
        if now - created > dt.timedelta(seconds=self._state.config.export_status_lifetime):
            raise gone("Operacja wygasła i nie jest już dostępna.")
        row = self._expire(row, now)
        status: dict[str, Any] = {
            "code": row["status_code"],
            "description": row["status_description"],
        }
        if row["status_details"]:
            status["details"] = json.loads(row["status_details"])
        out: dict[str, Any] = {"status": status}
        if row["completed_date"]:
            out["completedDate"] = row["completed_date"]
        if row["status_code"] in (200, 210) and row["package_expiration"]:
            out["packageExpirationDate"] = row["package_expiration"]
        if row["status_code"] == 200:
            package = json.loads(row["package"])
            expiry = min(
                now + dt.timedelta(seconds=self._state.config.export_link_lifetime),
                parse_datetime(row["package_expiration"]),
            )
            base = (self._state.config.public_url or base_url).rstrip("/")
            for part in package["parts"]:
                part["url"] = base + self.part_url(reference, part["partName"], expiry)
                part["expirationDate"] = isoformat(expiry)
            out["package"] = package
        return out

    def _row(self, claims: Claims, reference: str) -> Any:
        row = self._store.one(
            "SELECT * FROM exports WHERE reference_number = ? AND context_type = ?"
            " AND context_value = ?",
            (reference, claims.context_type, claims.context_value),
        )
        if row is None:
            raise KsefApiError(
                400,
                21175,
                "Wynik zapytania o podanym identyfikatorze nie istnieje.",
                [f"Eksport o numerze referencyjnym {reference} nie istnieje."],
            )
        return row

    def _expire(self, row: Any, now: dt.datetime) -> Any:
        if row["status_code"] != 200 or now < parse_datetime(row["package_expiration"]):
            return row
        self._store.run(
            "UPDATE exports SET status_code = 210, status_description = ?, package = NULL"
            " WHERE reference_number = ? AND status_code = 200",
            (_DESCRIPTIONS[210], row["reference_number"]),
        )
        shutil.rmtree(self.export_dir(row["reference_number"]), ignore_errors=True)
        return self._store.one(
            "SELECT * FROM exports WHERE reference_number = ?", (row["reference_number"],)
        )

    # -- files and links -------------------------------------------------------------------

    def export_dir(self, reference: str) -> Path:
        """The directory of one export's encrypted parts."""
        return self._state.batch.storage.storage_root() / "exports" / reference

    def wipe_files(self) -> None:
        """Remove every export's files (``reset``)."""
        shutil.rmtree(self._state.batch.storage.storage_root() / "exports", ignore_errors=True)

    def sweep(self) -> int:
        """Remove the directories a killed emulator left behind; returns how many went.

        Only exports at 200 own files; one still at 100 is rebuilt from scratch, one that
        ended or expired (killed before its clean-up) has nothing left to serve.
        """
        root = self._state.batch.storage.storage_root() / "exports"
        if not root.is_dir():
            return 0
        ready = {
            r["reference_number"]
            for r in self._store.all("SELECT reference_number FROM exports WHERE status_code = 200")
        }
        stale = [d for d in root.iterdir() if d.is_dir() and d.name not in ready]
        for directory in stale:
            shutil.rmtree(directory, ignore_errors=True)
        return len(stale)

    def part_url(self, reference: str, part_name: str, expiry: dt.datetime) -> str:
        """The path and SAS-like query of one part's download link."""
        se = expiry.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = {"sv": _SAS_VERSION, "se": se, "sr": "b", "sp": "r"}
        query["sig"] = self._sign(reference, part_name, se, "r")
        return f"/storage/exports/{reference}/{part_name}?" + urllib.parse.urlencode(query)

    def _sign(self, reference: str, part_name: str, se: str, sp: str) -> str:
        message = "\n".join(("export-part", reference, part_name, se, sp)).encode()
        mac = hmac.new(self._state.jwt_secret, message, hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii")

    def part_file(self, reference: str, part_name: str, query: dict[str, str]) -> ExportFile:
        """Check a download link and find its part (:class:`StorageError` otherwise)."""
        if "sig" not in query:
            raise StorageError(
                401,
                "NoAuthenticationInformation",
                "Server failed to authenticate the request. Please refer to the information"
                " in the www-authenticate header.",
            )
        se, sp = query.get("se", ""), query.get("sp", "")
        expected = self._sign(reference, part_name, se, sp)
        if not hmac.compare_digest(expected.encode(), query["sig"].encode()) or "r" not in sp:
            raise _auth_failed("Signature did not match.")
        now = self._state.clock.now()
        try:
            expiry = parse_datetime(se)
        except ValueError:
            raise _auth_failed("Signed expiry time is not a valid date.") from None
        if now >= expiry:
            raise _auth_failed(
                f"Signature not valid in the specified time frame: Expiry [{_http_date(expiry)}]"
                f" - Current [{_http_date(now)}]"
            )
        row = self._store.one(
            "SELECT * FROM exports WHERE reference_number = ? AND status_code = 200",
            (reference,),
        )
        parts = json.loads(row["package"])["parts"] if row is not None else []
        for part in parts:
            if row is not None and part["partName"] == part_name:
                path = Path(row["directory"]) / part_name
                if path.is_file():
                    return ExportFile(path, part["encryptedPartSize"], part["encryptedPartHash"])
        raise StorageError(404, "BlobNotFound", "The specified blob does not exist.")


# -- archive, split, encrypt ---------------------------------------------------------------


class _Archive:
    """A ZIP or tar.gz written to disk entry by entry."""

    def __init__(self, path: Path, zip_format: bool) -> None:
        self._raw = path.open("wb")
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        if zip_format:
            self._zip = zipfile.ZipFile(self._raw, "w", zipfile.ZIP_DEFLATED)
        else:
            self._tar = tarfile.open(fileobj=self._raw, mode="w:gz")  # noqa: SIM115

    def size(self) -> int:
        """Compressed bytes written so far."""
        return self._raw.tell()

    def add_bytes(self, name: str, data: bytes) -> None:
        if self._zip is not None:
            self._zip.writestr(name, data)
        else:
            assert self._tar is not None
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            self._tar.addfile(info, io.BytesIO(data))

    def add_file(self, name: str, path: Path) -> None:
        if self._zip is not None:
            self._zip.write(path, name)
        else:
            assert self._tar is not None
            info = self._tar.gettarinfo(str(path), name)
            with path.open("rb") as f:
                self._tar.addfile(info, f)

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()
        self._raw.close()


def _split_encrypt(
    archive: Path, directory: Path, name_pattern: str, part_size: int, key: bytes, iv: bytes
) -> list[dict[str, Any]]:
    """Cut ``archive`` into parts of ``part_size`` bytes and encrypt each one to a file."""
    total = archive.stat().st_size
    parts: list[dict[str, Any]] = []
    with archive.open("rb") as src:
        ordinal = 0
        while ordinal == 0 or src.tell() < total:
            ordinal += 1
            name = name_pattern.format(ordinal)
            plain_hash, enc_hash = hashlib.sha256(), hashlib.sha256()
            encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            padder = sym_padding.PKCS7(128).padder()
            remaining, plain_size, enc_size = part_size, 0, 0
            with (directory / name).open("wb") as dst:
                while remaining > 0:
                    chunk = src.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    plain_size += len(chunk)
                    plain_hash.update(chunk)
                    data = encryptor.update(padder.update(chunk))
                    enc_hash.update(data)
                    enc_size += len(data)
                    dst.write(data)
                data = encryptor.update(padder.finalize()) + encryptor.finalize()
                enc_hash.update(data)
                enc_size += len(data)
                dst.write(data)
                dst.flush()
                os.fsync(dst.fileno())
            parts.append(
                {
                    "ordinalNumber": ordinal,
                    "partName": name,
                    "method": "GET",
                    "partSize": plain_size,
                    "partHash": base64.b64encode(plain_hash.digest()).decode("ascii"),
                    "encryptedPartSize": enc_size,
                    "encryptedPartHash": base64.b64encode(enc_hash.digest()).decode("ascii"),
                }
            )
    return parts


# -- the invoice query -----------------------------------------------------------------------


def _select(
    state: EmulatorState, context_type: str, context_value: str, filters: object, limit: int
) -> _Selection:
    result = query_invoices(
        state,
        context_type,
        context_value,
        cast("Mapping[str, Any]", filters),
        sort_order="Asc",
        limit=limit,
    )
    return _Selection(list(result.rows), bool(result.truncated), result.hwm)


def _auth_failed(detail: str) -> StorageError:
    return StorageError(
        403,
        "AuthenticationFailed",
        "Server failed to authenticate the request. Make sure the value of Authorization"
        " header is formed correctly including the signature.",
        AuthenticationErrorDetail=detail,
    )


def _http_date(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
