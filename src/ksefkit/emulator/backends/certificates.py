"""KSeF certificates (``/certificates/*``), subject certificate limits and their test data.

Rules (KSEF_API.md §11.1, §12.3, §13.4, §15; open-api.json 2.7.0). Certificates belong to the
authenticated *subject* (``Nip``/``Pesel``/``Fingerprint`` of the bearer token), never to the
login context, and carry no permissions.

* **Enrollment data** is read from the certificate the caller authenticated with (kept with
  the authentication operation): every DN attribute KSeF names (CN, C, givenName, surname,
  serialNumber, uniqueIdentifier, O, organizationIdentifier), verbatim. A token login has no
  certificate: ``25001`` (data) / ``25002`` (enrollment).
* **Enrollment** (202, status 100) checks, in order: the body (21405), the CSR is PKCS#10 DER
  (25004), the key is RSA 2048 or EC P-256 (25010), the signature algorithm is RSA PKCS#1 v1.5,
  RSA-PSS or ECDSA with SHA-1/256/384/512 (25011), the signature verifies (25004), the CSR
  subject has exactly the enrollment data's attributes and values (25003; compared as a set,
  JSON fixes no order), enrollments made < limit (25006), active certificates < limit (25007).
* **Issuing** (a processor work item): a public key already certified for another subject,
  or the certificate limit reached meanwhile → status 400 "Wniosek odrzucony"; otherwise the
  emulator CA issues an X.509 certificate (serial = 16 hex digits, the subject of the CSR,
  key usage digitalSignature for ``Authentication``, nonRepudiation for ``Offline``) → 200
  with ``certificateSerialNumber``. Statuses are kept 30 days (then 410); unknown → 25005.
* **Status of a certificate**: ``Active``; ``Blocked`` from the revocation request until the
  processor finishes it; ``Revoked``; ``Expired`` (derived: ``validTo`` passed). Revocation is
  for the owner, or a subject tied to it by a NIP–PESEL link (25008 otherwise), only of an
  ``Active`` certificate (25009), never after a KSeF-token login (403
  ``auth-method-not-allowed``).
* **Authentication** with an issued certificate (:meth:`CertificatesBackend.owner_of`,
  :meth:`CertificatesBackend.auth_failure`): the subject is the enrolling subject whatever the
  DN says; an ``Offline`` certificate is "Niepoprawny certyfikat", a revoked one "Certyfikat
  odwołany", a blocked one "Certyfikat zawieszony", one outside its (stored) validity "Nieważny
  certyfikat" — all status 460. Success records ``lastUseDate``.
* **KOD II** (:meth:`CertificatesBackend.verify_link`): the certificate exists, is ``Offline``,
  usable now, the signature verifies, its subject holds ``InvoiceWrite`` in the link's context
  and a ``Nip``/``InternalId`` context names the seller.
* **Limits** per subject type (enrollments / active certificates): Nip 300/100, Pesel 12/6,
  Fingerprint 12/6; ``POST /testdata/limits/subject/certificate`` overrides them for the
  caller, ``DELETE`` restores the defaults.
* ``PUT /testdata/certificates/{serialNumber}`` sets an own certificate's ``validTo``, never
  later than the current one (21405): a way to make it expire.

Decisions where KSeF is silent: certificates are valid two years from ``validFrom`` (a past
``validFrom`` means now); ``uniqueIdentifier`` is a UUID derived from the subject when the
authentication certificate has none; ``retrieve`` returns only the caller's own certificates
and skips unknown serial numbers; name filters are case-insensitive; enrollments count towards
the limit whatever their outcome; ``subjectIdentifierType`` of a limits override must be the
caller's own type (21405 otherwise); NIP–PESEL links (test persons, ``/testdata/person``)
widen revocation only.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pydantic import BaseModel, Field, StringConstraints

from ...certificates import DN_ATTRIBUTES, verify_link_signature
from ..clock import isoformat, parse_datetime
from ..errors import bad_request, forbidden, gone, validation_error
from . import Base64Str, Int32, NotNull, b64decode_strict, dumps, int_query, loads_list, parse_body

if TYPE_CHECKING:
    from ..state import EmulatorState
    from .auth import Claims  # auth imports xades_auth, which imports this module

__all__ = [
    "DEFAULT_LIMITS",
    "INTERNAL_CERTIFICATE",
    "SCHEMA",
    "CertificatesBackend",
    "LinkVerdict",
    "check_serial_number",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS certificate_enrollments (
    reference_number TEXT PRIMARY KEY, subject_type TEXT NOT NULL, subject_value TEXT NOT NULL,
    name TEXT NOT NULL, certificate_type TEXT NOT NULL, csr BLOB NOT NULL, valid_from TEXT,
    request_date TEXT NOT NULL, status_code INTEGER NOT NULL, status_description TEXT NOT NULL,
    status_details TEXT, serial_number TEXT);
CREATE INDEX IF NOT EXISTS certificate_enrollments_subject
    ON certificate_enrollments (subject_type, subject_value);
CREATE TABLE IF NOT EXISTS ksef_certificates (
    serial_number TEXT PRIMARY KEY, enrollment_reference TEXT NOT NULL,
    subject_type TEXT NOT NULL, subject_value TEXT NOT NULL, name TEXT NOT NULL,
    certificate_type TEXT NOT NULL, common_name TEXT NOT NULL, certificate BLOB NOT NULL,
    public_key_hash TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT NOT NULL,
    status TEXT NOT NULL, revocation_reason TEXT, status_changed TEXT NOT NULL,
    request_date TEXT NOT NULL, last_use TEXT);
CREATE INDEX IF NOT EXISTS ksef_certificates_subject
    ON ksef_certificates (subject_type, subject_value, request_date);
CREATE INDEX IF NOT EXISTS ksef_certificates_key ON ksef_certificates (public_key_hash);
CREATE TABLE IF NOT EXISTS subject_certificate_limits (
    subject_type TEXT NOT NULL, subject_value TEXT NOT NULL, max_enrollments INTEGER,
    max_certificates INTEGER, PRIMARY KEY (subject_type, subject_value));
"""

#: Subject type → (enrollments, active certificates) a subject may have (KSEF_API.md §11.1).
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "Nip": (300, 100),
    "Pesel": (12, 6),
    "Fingerprint": (12, 6),
}
#: ``method_code`` of an authentication signed with a KSeF certificate.
INTERNAL_CERTIFICATE = "xades.internal-certificate"

_VALIDITY = dt.timedelta(days=730)
_RETENTION = dt.timedelta(days=30)
_SERIAL_RE = re.compile(r"^[0-9A-F]{16}$")
_NAME_RE = re.compile(r"^[a-zA-Z0-9_\-\ ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]+$")
_UUID_NAMESPACE = uuid.UUID("6f1c3c2e-5d1b-4a7e-9a53-4b5e4d0c9a21")
_ACCEPTED = "Wniosek przyjęty do realizacji"
_ISSUED = "Wniosek obsłużony (certyfikat wygenerowany)"
_REJECTED = "Wniosek odrzucony"
_KEY_TAKEN = "Klucz publiczny został już certyfikowany przez inny podmiot."
_LIMIT_REACHED = "Osiągnięto dopuszczalny limit posiadanych certyfikatów."
#: Signature algorithms KSeF accepts for a CSR (RSA PKCS#1 v1.5, RSA-PSS, ECDSA).
_SIGNATURE_OIDS = {
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
}
_HASHES = ("sha1", "sha256", "sha384", "sha512")

_CertificateType = Literal["Authentication", "Offline"]
_Status = Literal["Active", "Blocked", "Revoked", "Expired"]


class _EnrollBody(BaseModel):
    certificateName: str = Field(min_length=5, max_length=100)
    certificateType: _CertificateType
    csr: Base64Str
    validFrom: str | None = None


#: A serial number in a body: 16 upper-case hex digits (the spec's pattern).
_SerialStr = Annotated[str, StringConstraints(pattern=_SERIAL_RE.pattern)]


class _RetrieveBody(BaseModel):
    certificateSerialNumbers: list[_SerialStr] = Field(min_length=1, max_length=10)


class _QueryBody(BaseModel):
    certificateSerialNumber: _SerialStr | None = None
    name: str | None = None
    type: _CertificateType | None = None
    status: _Status | None = None
    expiresAfter: str | None = None


class _RevokeBody(BaseModel):
    revocationReason: Literal["Unspecified", "Superseded", "KeyCompromise"] | None = None


class _EnrollmentOverride(BaseModel):
    maxEnrollments: Int32 | None = Field(default=None, ge=0)


class _CertificateOverride(BaseModel):
    maxCertificates: Int32 | None = Field(default=None, ge=0)


class _SetLimitsBody(BaseModel):
    subjectIdentifierType: Annotated[Literal["Nip", "Pesel", "Fingerprint"] | None, NotNull] = None
    enrollment: _EnrollmentOverride | None = None
    certificate: _CertificateOverride | None = None


class _UpdateCertificateBody(BaseModel):
    validTo: str


@dataclass(frozen=True)
class LinkVerdict:
    """What a KOD II scan would show: whether the link checks out and why not.

    ``certificate`` is the certificate's list item (``CertificateListItem`` fields) when the
    link names a certificate this emulator issued.
    """

    valid: bool
    detail: str
    serial_number: str | None = None
    certificate: dict[str, Any] | None = None


def check_serial_number(value: str, field: str) -> str:
    """``value`` if it is a certificate serial number (16 upper-case hex digits); else 21405.

    >>> check_serial_number("018209160C631F1E", "certificateSerialNumber")
    '018209160C631F1E'
    >>> check_serial_number("0182", "serialNumber")
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    if not _SERIAL_RE.fullmatch(value):
        raise validation_error(
            f"{field}: {value[:40]!r} nie jest numerem seryjnym certyfikatu"
            " (16 znaków szesnastkowych, wielkie litery)."
        )
    return value


class CertificatesBackend:
    """KSeF certificates, enrollments and subject certificate limits over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    # -- limits ----------------------------------------------------------------------------

    def limits(self, claims: Claims) -> dict[str, Any]:
        """``GET /certificates/limits`` (``CertificateLimitsResponse``)."""
        subject = _subject(claims)
        max_enrollments, max_certificates = self._limits(subject)
        enrollments = self._enrollment_count(subject)
        active = self._active_count(subject)
        left_enrollments = max(0, max_enrollments - enrollments)
        left_certificates = max(0, max_certificates - active)
        return {
            "canRequest": left_enrollments > 0 and left_certificates > 0,
            "enrollment": {"remaining": left_enrollments, "limit": max_enrollments},
            "certificate": {"remaining": left_certificates, "limit": max_certificates},
        }

    def subject_limits(self, claims: Claims) -> dict[str, Any]:
        """``GET /limits/subject`` (``EffectiveSubjectLimits``)."""
        max_enrollments, max_certificates = self._limits(_subject(claims))
        return {
            "enrollment": {"maxEnrollments": max_enrollments},
            "certificate": {"maxCertificates": max_certificates},
        }

    def set_limits(self, claims: Claims, body: object) -> None:
        """``POST /testdata/limits/subject/certificate``: override the caller's limits."""
        req = parse_body(_SetLimitsBody, body)
        subject = _subject(claims)
        if req.subjectIdentifierType not in (None, subject[0]):
            raise validation_error(
                f"subjectIdentifierType: {req.subjectIdentifierType} nie jest typem"
                f" identyfikatora bieżącego podmiotu ({subject[0]})."
            )
        enrollments = req.enrollment.maxEnrollments if req.enrollment else None
        certificates = req.certificate.maxCertificates if req.certificate else None
        with self._store.tx():
            row = self._store.one(
                "SELECT * FROM subject_certificate_limits WHERE subject_type = ?"
                " AND subject_value = ?",
                subject,
            )
            if row is not None:
                enrollments = row["max_enrollments"] if enrollments is None else enrollments
                certificates = row["max_certificates"] if certificates is None else certificates
            self._store.run(
                "INSERT OR REPLACE INTO subject_certificate_limits VALUES (?, ?, ?, ?)",
                (*subject, enrollments, certificates),
            )

    def reset_limits(self, claims: Claims) -> None:
        """``DELETE /testdata/limits/subject/certificate``: back to the defaults."""
        self._store.run(
            "DELETE FROM subject_certificate_limits WHERE subject_type = ? AND subject_value = ?",
            _subject(claims),
        )

    def _limits(self, subject: tuple[str, str]) -> tuple[int, int]:
        enrollments, certificates = DEFAULT_LIMITS.get(subject[0], DEFAULT_LIMITS["Fingerprint"])
        row = self._store.one(
            "SELECT * FROM subject_certificate_limits WHERE subject_type = ? AND subject_value = ?",
            subject,
        )
        if row is not None:
            if row["max_enrollments"] is not None:
                enrollments = int(row["max_enrollments"])
            if row["max_certificates"] is not None:
                certificates = int(row["max_certificates"])
        return enrollments, certificates

    def _enrollment_count(self, subject: tuple[str, str]) -> int:
        row = self._store.one(
            "SELECT COUNT(*) AS n FROM certificate_enrollments WHERE subject_type = ?"
            " AND subject_value = ?",
            subject,
        )
        return int(row["n"]) if row is not None else 0

    def _active_count(self, subject: tuple[str, str]) -> int:
        row = self._store.one(
            "SELECT COUNT(*) AS n FROM ksef_certificates WHERE subject_type = ?"
            " AND subject_value = ? AND status = 'Active' AND valid_to > ?",
            (*subject, isoformat(self._state.clock.now())),
        )
        return int(row["n"]) if row is not None else 0

    # -- enrollment ------------------------------------------------------------------------

    def enrollment_data(self, claims: Claims) -> dict[str, str]:
        """``GET /certificates/enrollments/data`` (``CertificateEnrollmentDataResponse``)."""
        return self._enrollment_data(claims, 25001)

    def _enrollment_data(self, claims: Claims, code: int) -> dict[str, str]:
        certificate = self._auth_certificate(claims)
        if certificate is None:
            raise bad_request(
                code,
                "Dane do wniosku certyfikacyjnego pochodzą z certyfikatu użytego do"
                " uwierzytelnienia; uwierzytelnij się podpisem XAdES (nie tokenem KSeF).",
            )
        return _data_from(certificate, _subject(claims))

    def _auth_certificate(self, claims: Claims) -> x509.Certificate | None:
        if claims.method_category == "Token":
            return None
        row = self._store.one(
            "SELECT certificate FROM auth_operations WHERE reference_number = ?",
            (claims.reference_number,),
        )
        if row is None or row["certificate"] is None:
            return None
        return x509.load_der_x509_certificate(bytes(row["certificate"]))

    def enroll(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /certificates/enrollments`` → 202 ``{referenceNumber, timestamp}``."""
        # The body is bound and validated first (21405), as KSeF's model binding does, and
        # only then may the operation's own rules refuse it.
        req = parse_body(_EnrollBody, body)
        if not _NAME_RE.fullmatch(req.certificateName):
            raise validation_error("certificateName: dozwolone litery, cyfry, spacja, '_' i '-'.")
        valid_from = _datetime(req.validFrom, "validFrom") if req.validFrom is not None else None
        der = b64decode_strict(req.csr, "csr")
        if claims.method_category == "Token":
            raise bad_request(
                25002,
                "Wniosek certyfikacyjny można złożyć po uwierzytelnieniu podpisem XAdES.",
            )
        expected = self._enrollment_data(claims, 25002)
        _check_csr(der, expected)
        subject = _subject(claims)
        now = self._state.clock.now()
        with self._store.tx():
            max_enrollments, max_certificates = self._limits(subject)
            if self._enrollment_count(subject) >= max_enrollments:
                raise bad_request(
                    25006, f"Limit wniosków certyfikacyjnych podmiotu: {max_enrollments}."
                )
            if self._active_count(subject) >= max_certificates:
                raise bad_request(
                    25007, f"Limit aktywnych certyfikatów podmiotu: {max_certificates}."
                )
            reference = self._state.ids.reference("EH", self._state.today())
            self._store.run(
                "INSERT INTO certificate_enrollments (reference_number, subject_type,"
                " subject_value, name, certificate_type, csr, valid_from, request_date,"
                " status_code, status_description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 100, ?)",
                (
                    reference,
                    *subject,
                    req.certificateName,
                    req.certificateType,
                    der,
                    None if valid_from is None else isoformat(valid_from),
                    isoformat(now),
                    _ACCEPTED,
                ),
            )
        self._state.processor.kick()
        return {"referenceNumber": reference, "timestamp": isoformat(now)}

    def enrollment_status(self, claims: Claims, reference: str) -> dict[str, Any]:
        """``GET /certificates/enrollments/{referenceNumber}``."""
        row = self._store.one(
            "SELECT * FROM certificate_enrollments WHERE reference_number = ?"
            " AND subject_type = ? AND subject_value = ?",
            (reference, *_subject(claims)),
        )
        if row is None:
            raise bad_request(
                25005, f"Wniosek certyfikacyjny {reference} nie istnieje dla tego podmiotu."
            )
        if self._state.clock.now() - parse_datetime(row["request_date"]) > _RETENTION:
            raise gone(f"Status wniosku certyfikacyjnego {reference} wygasł.")
        status: dict[str, Any] = {
            "code": row["status_code"],
            "description": row["status_description"],
        }
        details = loads_list(row["status_details"])
        if details:
            status["details"] = details
        body: dict[str, Any] = {"requestDate": row["request_date"], "status": status}
        if row["serial_number"]:
            body["certificateSerialNumber"] = row["serial_number"]
        return body

    # -- processing ------------------------------------------------------------------------

    def work(self, cutoff: dt.datetime) -> list[Callable[[], None]]:
        """Enrollments to issue and revocations to finish (requested before ``cutoff``)."""
        items: list[Callable[[], None]] = []
        for row in self._store.all(
            "SELECT reference_number, request_date FROM certificate_enrollments"
            " WHERE status_code = 100 ORDER BY request_date"
        ):
            if parse_datetime(row["request_date"]) <= cutoff:
                items.append(functools.partial(self._issue, row["reference_number"]))
        for row in self._store.all(
            "SELECT serial_number, status_changed FROM ksef_certificates WHERE status = 'Blocked'"
        ):
            if parse_datetime(row["status_changed"]) <= cutoff:
                items.append(functools.partial(self._finish_revocation, row["serial_number"]))
        return items

    def _issue(self, reference: str) -> None:
        with self._store.tx():
            row = self._store.one(
                "SELECT * FROM certificate_enrollments WHERE reference_number = ?"
                " AND status_code = 100",
                (reference,),
            )
            if row is None:
                return
            subject = (row["subject_type"], row["subject_value"])
            csr = x509.load_der_x509_csr(bytes(row["csr"]))
            key_hash = _key_hash(csr.public_key())
            taken = self._store.one(
                "SELECT 1 FROM ksef_certificates WHERE public_key_hash = ?"
                " AND NOT (subject_type = ? AND subject_value = ?)",
                (key_hash, *subject),
            )
            if taken is not None:
                self._end(reference, 400, _REJECTED, _KEY_TAKEN)
                return
            if self._active_count(subject) >= self._limits(subject)[1]:
                self._end(reference, 400, _REJECTED, _LIMIT_REACHED)
                return
            now = self._state.clock.now()
            requested = parse_datetime(row["valid_from"]) if row["valid_from"] else now
            start = max(now, requested).replace(microsecond=0)
            end = start + _VALIDITY
            serial = self._new_serial()
            certificate = self._state.ca.issue(
                csr.subject,
                csr.public_key(),
                now=now,
                valid_from=start,
                valid_to=end,
                serial_number=int(serial, 16),
                key_usage=_key_usage(row["certificate_type"]),
            )
            self._store.run(
                "INSERT INTO ksef_certificates (serial_number, enrollment_reference,"
                " subject_type, subject_value, name, certificate_type, common_name, certificate,"
                " public_key_hash, valid_from, valid_to, status, status_changed, request_date)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Active', ?, ?)",
                (
                    serial,
                    reference,
                    *subject,
                    row["name"],
                    row["certificate_type"],
                    _common_name(csr.subject),
                    certificate.public_bytes(serialization.Encoding.DER),
                    key_hash,
                    isoformat(start),
                    isoformat(end),
                    isoformat(now),
                    row["request_date"],
                ),
            )
            self._store.run(
                "UPDATE certificate_enrollments SET status_code = 200, status_description = ?,"
                " serial_number = ? WHERE reference_number = ?",
                (_ISSUED, serial, reference),
            )

    def _end(self, reference: str, code: int, description: str, detail: str) -> None:
        self._store.run(
            "UPDATE certificate_enrollments SET status_code = ?, status_description = ?,"
            " status_details = ? WHERE reference_number = ?",
            (code, description, dumps([detail]), reference),
        )

    def _new_serial(self) -> str:
        while True:
            serial = self._state.ids.hex(16)
            # A positive 8-byte DER integer (top bit clear), never zero, never reused.
            if serial[0] not in "01234567" or not int(serial, 16):
                continue
            if self._store.one(
                "SELECT 1 FROM ksef_certificates WHERE serial_number = ?", (serial,)
            ):
                continue
            return serial

    def _finish_revocation(self, serial: str) -> None:
        self._store.run(
            "UPDATE ksef_certificates SET status = 'Revoked', status_changed = ?"
            " WHERE serial_number = ? AND status = 'Blocked'",
            (isoformat(self._state.clock.now()), serial),
        )

    # -- certificates ----------------------------------------------------------------------

    def retrieve(self, claims: Claims, body: object) -> dict[str, Any]:
        """``POST /certificates/retrieve``: the caller's certificates among the serials."""
        req = parse_body(_RetrieveBody, body)
        wanted = list(dict.fromkeys(req.certificateSerialNumbers))
        marks = ", ".join("?" for _ in wanted)
        rows = self._store.all(
            f"SELECT * FROM ksef_certificates WHERE serial_number IN ({marks})"  # noqa: S608
            " AND subject_type = ? AND subject_value = ?",
            (*wanted, *_subject(claims)),
        )
        by_serial = {r["serial_number"]: r for r in rows}
        return {
            "certificates": [
                {
                    "certificate": base64.b64encode(bytes(row["certificate"])).decode("ascii"),
                    "certificateName": row["name"],
                    "certificateSerialNumber": row["serial_number"],
                    "certificateType": row["certificate_type"],
                }
                for serial in wanted
                if (row := by_serial.get(serial)) is not None
            ]
        }

    def query(
        self, claims: Claims, body: object, page_size: str | None, page_offset: str | None
    ) -> dict[str, Any]:
        """``POST /certificates/query``: filters, newest request first, page-number paging."""
        req = parse_body(_QueryBody, body)
        size = int_query(page_size, "pageSize", default=10, low=10, high=50)
        offset = int_query(page_offset, "pageOffset", default=0, low=0, high=None)
        expires_after = (
            _datetime(req.expiresAfter, "expiresAfter") if req.expiresAfter is not None else None
        )
        now = self._state.clock.now()
        rows = self._store.all(
            "SELECT * FROM ksef_certificates WHERE subject_type = ? AND subject_value = ?"
            " ORDER BY request_date DESC, serial_number DESC",
            _subject(claims),
        )
        name = req.name.lower() if req.name else None
        items = [
            row
            for row in rows
            if (req.certificateSerialNumber in (None, row["serial_number"]))
            and (name is None or name in row["name"].lower())
            and (req.type in (None, row["certificate_type"]))
            and (req.status in (None, _status(row, now)))
            and (expires_after is None or parse_datetime(row["valid_to"]) > expires_after)
        ]
        page = items[offset * size : (offset + 1) * size]
        return {
            "certificates": [_list_item(row, now) for row in page],
            "hasMore": len(items) > (offset + 1) * size,
        }

    def revoke(self, claims: Claims, serial: str, body: object) -> None:
        """``POST /certificates/{certificateSerialNumber}/revoke``: Active → Blocked → Revoked."""
        if claims.method_category == "Token":
            raise forbidden(
                "auth-method-not-allowed",
                "Ta operacja nie jest dostępna dla użytej metody uwierzytelnienia.",
                {"authenticationMethodCategory": claims.method_category},
            )
        req = parse_body(_RevokeBody, body)
        with self._store.tx():
            row = self._own(claims, serial, linked=True)
            status = _status(row, self._state.clock.now())
            if status != "Active":
                raise bad_request(25009, f"Certyfikat {serial} ma status {status}.")
            self._store.run(
                "UPDATE ksef_certificates SET status = 'Blocked', revocation_reason = ?,"
                " status_changed = ? WHERE serial_number = ?",
                (
                    req.revocationReason or "Unspecified",
                    isoformat(self._state.clock.now()),
                    serial,
                ),
            )
        self._state.processor.kick()

    def update_validity(self, claims: Claims, serial: str, body: object) -> None:
        """``PUT /testdata/certificates/{serialNumber}``: an earlier ``validTo``."""
        req = parse_body(_UpdateCertificateBody, body)
        valid_to = _datetime(req.validTo, "validTo")
        with self._store.tx():
            row = self._own(claims, serial)
            current = parse_datetime(row["valid_to"])
            if valid_to > current:
                raise validation_error(
                    f"validTo: nowa data ważności nie może być późniejsza niż obecna"
                    f" ({row['valid_to']})."
                )
            self._store.run(
                "UPDATE ksef_certificates SET valid_to = ? WHERE serial_number = ?",
                (isoformat(valid_to), serial),
            )

    def _own(self, claims: Claims, serial: str, *, linked: bool = False) -> Any:
        """The caller's certificate ``serial`` (with ``linked``: also one of a subject tied to
        the caller by a NIP–PESEL link, as revocation allows); 25008 otherwise."""
        row = self._store.one("SELECT * FROM ksef_certificates WHERE serial_number = ?", (serial,))
        subject = _subject(claims)
        allowed = self._linked(subject) if linked else [subject]
        if row is None or (row["subject_type"], row["subject_value"]) not in allowed:
            raise bad_request(25008, f"Certyfikat {serial} nie istnieje dla tego podmiotu.")
        return row

    def _linked(self, subject: tuple[str, str]) -> list[tuple[str, str]]:
        """``subject`` and the subjects a test person's NIP–PESEL link ties it to."""
        if subject[0] == "Pesel":
            nips = self._state.testdata.linked_nips(subject[1])
            return [subject, *(("Nip", nip) for nip in nips)]
        if subject[0] == "Nip":
            rows = self._store.all("SELECT pesel FROM test_persons WHERE nip = ?", (subject[1],))
            return [subject, *(("Pesel", str(r["pesel"])) for r in rows)]
        return [subject]

    # -- authentication and KOD II ---------------------------------------------------------

    def _issued(self, certificate: x509.Certificate) -> Any:
        """The row of a certificate this emulator issued (the exact DER), or None."""
        serial = format(certificate.serial_number, "X").rjust(16, "0")
        row = self._store.one("SELECT * FROM ksef_certificates WHERE serial_number = ?", (serial,))
        der = certificate.public_bytes(serialization.Encoding.DER)
        return row if row is not None and bytes(row["certificate"]) == der else None

    def owner_of(self, certificate: x509.Certificate) -> tuple[str, str] | None:
        """The subject a KSeF certificate was issued to (None: not a KSeF certificate)."""
        row = self._issued(certificate)
        return None if row is None else (row["subject_type"], row["subject_value"])

    def auth_failure(self, certificate: x509.Certificate) -> str | None:
        """Why a KSeF certificate cannot authenticate now (a 460 detail), or None if it can."""
        row = self._issued(certificate)
        if row is None:
            return "Niepoprawny certyfikat"
        if row["certificate_type"] != "Authentication":
            return "Niepoprawny certyfikat"  # Offline: KOD II only (§12.3)
        return _unusable(row, self._state.clock.now())

    def mark_used(self, certificate: x509.Certificate) -> None:
        """Record a successful authentication (``lastUseDate``)."""
        serial = format(certificate.serial_number, "X").rjust(16, "0")
        self._store.run(
            "UPDATE ksef_certificates SET last_use = ? WHERE serial_number = ?",
            (isoformat(self._state.clock.now()), serial),
        )

    def verify_link(self, link: str) -> LinkVerdict:
        """Check a KOD II link as a scan would (KSEF_API.md §13.4).

        ``{scheme}://{base}/certificate/{ctxType}/{ctxValue}/{sellerNip}/{serial}/{hash}/{sig}``
        (any base: a KSeF QR host or the emulator's ``/qr``), in order: the link's format, the
        certificate exists, is ``Offline`` and usable now (not blocked, revoked, expired or
        not yet valid), the signature verifies with its key, its subject holds
        ``InvoiceWrite`` in the context, and the context may issue for the seller (its own
        NIP, or a seller that authorized it, as the invoice pipeline's 410 rule; ``NipVatUe``
        and ``PeppolId`` contexts are not tied to one seller NIP).
        """
        from ...qr import CertificateLink, parse_link  # qr imports ksefkit.certificates only

        try:
            parsed = parse_link(link)
        except ValueError:
            parsed = None
        if not isinstance(parsed, CertificateLink):
            return LinkVerdict(False, "Nieprawidłowy format linku weryfikacyjnego")
        serial = parsed.certificate_serial
        row = self._store.one("SELECT * FROM ksef_certificates WHERE serial_number = ?", (serial,))
        if row is None:
            return LinkVerdict(False, "Certyfikat nie istnieje", serial)
        item = _list_item(row, self._state.clock.now())
        if row["certificate_type"] != "Offline":
            return LinkVerdict(False, "Certyfikat nie jest certyfikatem typu Offline", serial, item)
        problem = _unusable(row, self._state.clock.now())
        if problem is not None:
            return LinkVerdict(False, problem, serial, item)
        certificate = x509.load_der_x509_certificate(bytes(row["certificate"]))
        if not verify_link_signature(
            certificate.public_key(), parsed.signed_data, parsed.signature
        ):
            return LinkVerdict(False, "Nieprawidłowy podpis", serial, item)
        ctx_type, ctx_value, seller = parsed.context_type, parsed.context_value, parsed.seller_nip
        held = self._state.rights.permissions(
            ctx_type, ctx_value, row["subject_type"], row["subject_value"]
        )
        if "InvoiceWrite" not in held:
            return LinkVerdict(
                False, "Wystawca nie ma uprawnienia InvoiceWrite w kontekście", serial, item
            )
        if ctx_type in ("Nip", "InternalId") and not self._state.permissions.may_issue_for(
            seller, (ctx_type, ctx_value)
        ):
            return LinkVerdict(False, "Kontekst nie może wystawiać faktur sprzedawcy", serial, item)
        return LinkVerdict(True, "Certyfikat wystawcy zweryfikowany", serial, item)


# -- helpers ---------------------------------------------------------------------------------


def _subject(claims: Claims) -> tuple[str, str]:
    value = claims.subject_value
    return claims.subject_type, value.upper() if claims.subject_type == "Fingerprint" else value


def _data_from(certificate: x509.Certificate, subject: tuple[str, str]) -> dict[str, str]:
    """The enrollment data KSeF derives from an authentication certificate."""
    data: dict[str, str] = {}
    for name, oid in DN_ATTRIBUTES:
        values = [_text(a.value) for a in certificate.subject.get_attributes_for_oid(oid)]
        values = [v for v in values if v]
        if values:
            data[name] = " ".join(values)  # givenName may repeat; the schema has one string
    data.setdefault("countryName", "PL")
    data.setdefault("commonName", data.get("organizationName") or f"{subject[0]} {subject[1]}")
    data.setdefault(
        "uniqueIdentifier", str(uuid.uuid5(_UUID_NAMESPACE, f"{subject[0]}:{subject[1]}"))
    )
    return {name: data[name] for name, _ in DN_ATTRIBUTES if name in data}


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.hex()


def _check_csr(der: bytes, expected: dict[str, str]) -> None:
    try:
        csr = x509.load_der_x509_csr(der)
    except ValueError:
        raise bad_request(25004, "csr: to nie jest żądanie PKCS#10 w formacie DER.") from None
    try:
        key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise bad_request(25010, "Nieobsługiwany typ klucza publicznego.") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size != 2048:
            raise bad_request(25010, f"Klucz RSA ma {key.key_size} bitów (wymagane 2048).")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise bad_request(25010, f"Krzywa {key.curve.name} (wymagana P-256 / secp256r1).")
    else:
        raise bad_request(25010, "Dozwolone klucze: RSA 2048 lub EC P-256.")
    oid = csr.signature_algorithm_oid.dotted_string
    if oid not in _SIGNATURE_OIDS:
        raise bad_request(25011, f"Algorytm podpisu {oid} jest niedozwolony.")
    try:
        digest = csr.signature_hash_algorithm
    except UnsupportedAlgorithm:
        digest = None
    if digest is None or digest.name not in _HASHES:
        raise bad_request(25011, "Dozwolone funkcje skrótu: SHA1, SHA256, SHA384, SHA512.")
    if not _signature_valid(csr, key, digest):
        raise bad_request(25004, "Podpis CSR jest niepoprawny.")
    got = sorted((a.oid.dotted_string, _text(a.value)) for a in csr.subject)
    want = sorted(
        (oid.dotted_string, expected[name]) for name, oid in DN_ATTRIBUTES if name in expected
    )
    if got != want:
        missing = [f"{o}={v}" for o, v in want if (o, v) not in got]
        extra = [f"{o}={v}" for o, v in got if (o, v) not in want]
        raise bad_request(
            25003,
            f"Brakujące atrybuty: {missing or '-'}; nadmiarowe atrybuty: {extra or '-'}.",
        )


def _signature_valid(
    csr: x509.CertificateSigningRequest, key: Any, digest: hashes.HashAlgorithm
) -> bool:
    """The CSR's self-signature, verified by hand: ``is_signature_valid`` refuses SHA-1,
    which KSeF allows."""
    data, signature = csr.tbs_certrequest_bytes, csr.signature
    try:
        scheme = csr.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey) and isinstance(
            scheme, (padding.PKCS1v15, padding.PSS)
        ):
            key.verify(signature, data, scheme, digest)
            return True
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(scheme, ec.ECDSA):
            key.verify(signature, data, ec.ECDSA(digest))
            return True
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        return False
    return False  # e.g. an RSA signature algorithm over an EC key


def _key_hash(key: Any) -> str:
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def _key_usage(certificate_type: str) -> x509.KeyUsage:
    authentication = certificate_type == "Authentication"
    return x509.KeyUsage(
        digital_signature=authentication,
        content_commitment=not authentication,  # nonRepudiation: Offline (KOD II) only
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return _text(values[0].value) if values else ""


def _status(row: Any, now: dt.datetime) -> str:
    status = str(row["status"])
    if status == "Active" and parse_datetime(row["valid_to"]) <= now:
        return "Expired"
    return status


def _unusable(row: Any, now: dt.datetime) -> str | None:
    """The 460 detail for a certificate that cannot be used now, or None."""
    status = _status(row, now)
    if status == "Revoked":
        return "Certyfikat odwołany"
    if status == "Blocked":
        return "Certyfikat zawieszony"
    if status == "Expired" or parse_datetime(row["valid_from"]) > now:
        return "Nieważny certyfikat"
    return None


def _list_item(row: Any, now: dt.datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        "certificateSerialNumber": row["serial_number"],
        "name": row["name"],
        "type": row["certificate_type"],
        "commonName": row["common_name"],
        "status": _status(row, now),
        "subjectIdentifier": {"type": row["subject_type"], "value": row["subject_value"]},
        "validFrom": row["valid_from"],
        "validTo": row["valid_to"],
        "requestDate": row["request_date"],
    }
    if row["last_use"]:
        item["lastUseDate"] = row["last_use"]
    return item


def _datetime(text: str, field: str) -> dt.datetime:
    try:
        value = parse_datetime(text)
    except ValueError:
        raise validation_error(f"{field}: {text[:40]!r} nie jest datą ISO 8601.") from None
    return value.astimezone(dt.UTC)
