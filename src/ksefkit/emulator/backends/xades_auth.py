"""``POST /auth/xades-signature``: verify a signed AuthTokenRequest and start the operation.

Synchronous checks, in order (each a 400 with KSeF's code; KSEF_API.md §4.4, §15.2):

1. the body: empty or not well-formed XML → 21001; not UTF-8, or an XML declaration naming
   another encoding → 21217;
2. the signature, with :func:`ksefkit.xades.verify_xades` → 9101 / 9102 / 9103 / 9105 / 21115;
3. the signed document against the AuthTokenRequest content model, namespace 2.0 or 2.1
   (:mod:`.authrequest`) → 21401;
4. the challenge: known, unused, younger than ``challenge_ttl`` → 21111 (consumed only when the
   request is accepted);
5. the subject: ``certificateSubject`` → the NIP/PESEL of the certificate
   (:func:`ksefkit.testcerts.subject_identifier`; none found → 21115),
   ``certificateFingerprint`` → SHA-256 of the certificate; a ``PeppolId`` context needs a
   Peppol provider seal whose ``CN`` is that PeppolId (subject ``PeppolId``, see
   :mod:`.peppol`), anything else → 21117. A KSeF certificate
   (issued by ``/certificates/enrollments``) authenticates as the subject that enrolled it
   (method ``InternalCertificate``).

Then 202 and the asynchronous verdict (:meth:`XadesAuth.evaluate`, run by the processor):
480 blocked context, 460 certificate outside its validity ("Nieważny certyfikat") or, when
trust is required, not issued by a trusted CA ("Niezaufany łańcuch certyfikatów"), for a KSeF
certificate its type and state (:meth:`.certificates.CertificatesBackend.auth_failure`: an
``Offline`` certificate, revoked, blocked or expired → 460), 415 no permission in the context,
else 200.

**Decision (validity → 460, not 21115):** ``verify_xades`` rejects a certificate outside its
validity with 21115. KSeF's status table reports that as 460 "Nieważny certyfikat", so the
emulator verifies the signature at an instant inside the certificate's validity window and
judges the window itself in the asynchronous step. The SHA-256 (Base64) of the body as
received is kept for the UPO's ``SkrotDokumentuUwierzytelniajacego``.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from ...crypto import sha256_b64
from ...errors import XadesError
from ...testcerts import subject_identifier
from ...xades import DS_NS, VerifiedXades, certificate_fingerprint, verify_xades
from ..ca import chains_to
from ..errors import KsefApiError, bad_request
from .authrequest import AuthTokenRequest, parse_auth_request
from .certificates import INTERNAL_CERTIFICATE
from .peppol import provider_id

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = ["METHOD_INFO", "Verdict", "XadesAuth", "method_info"]

#: ``method_code`` → (``authenticationMethod``, ``displayName``) of AuthenticationMethodInfo.
METHOD_INFO: dict[str, tuple[str, str, str]] = {
    "token.ksef": ("Token", "Token", "Token KSeF"),
    "xades.qualified-seal": ("QualifiedSeal", "XadesSignature", "Pieczęć kwalifikowana"),
    "xades.qualified-signature": (
        "QualifiedSignature",
        "XadesSignature",
        "Podpis kwalifikowany",
    ),
    "xades.self-signed-seal": (
        "QualifiedSeal",
        "XadesSignature",
        "Pieczęć - certyfikat samopodpisany (środowisko testowe)",
    ),
    "xades.self-signed-signature": (
        "QualifiedSignature",
        "XadesSignature",
        "Podpis - certyfikat samopodpisany (środowisko testowe)",
    ),
    # Decision: KSeF publishes no code for a KSeF-certificate login; the method is
    # ``InternalCertificate`` ("Certyfikat KSeF") of the AuthenticationMethod enum.
    "xades.internal-certificate": ("InternalCertificate", "XadesSignature", "Certyfikat KSeF"),
}

_CERT_FAILED = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu"
_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_ORG_ID = x509.ObjectIdentifier("2.5.4.97")


def method_info(code: str | None) -> tuple[str, dict[str, str]]:
    """``(authenticationMethod, authenticationMethodInfo)`` for a stored method code.

    >>> method_info("xades.qualified-seal")[1]["category"]
    'XadesSignature'
    """
    method, category, display = METHOD_INFO.get(code or "token.ksef", METHOD_INFO["token.ksef"])
    return method, {"category": category, "code": code or "token.ksef", "displayName": display}


@dataclass(frozen=True)
class Verdict:
    """The outcome of an authentication: a failed status, or the subject and its rights."""

    code: int
    description: str = "Uwierzytelnianie zakończone sukcesem"
    detail: str | None = None
    subject_type: str | None = None
    subject_value: str | None = None
    permissions: tuple[str, ...] = ()
    token_reference: str | None = None


class XadesAuth:
    """The XAdES half of authentication (the token half lives in :mod:`.auth`)."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store

    def start(self, body: bytes, *, verify_chain: bool) -> dict[str, Any]:
        """Run the synchronous checks; the values of the operation row to insert."""
        root = _read(body)
        now = self._state.clock.now()
        verified = _verify(body, root, now)
        request = parse_auth_request(verified.document)
        certificate = verified.certificate
        # A KSeF certificate carries the identity of the subject that enrolled it, whatever
        # its DN says (a fingerprint subject's certificate names no NIP or PESEL).
        owner = self._state.certificates.owner_of(certificate)
        if owner is not None and request.context_type != "PeppolId":
            (subject_type, subject_value), method_code = owner, INTERNAL_CERTIFICATE
        else:
            subject_type, subject_value = _subject(request, certificate)
            trusted = chains_to(certificate, self._state.trust_anchors(), now)
            method_code = _method_code(certificate, trusted)
        return {
            "request": request,
            "subject_type": subject_type,
            "subject_value": subject_value,
            "method_code": method_code,
            "certificate": certificate.public_bytes(Encoding.DER),
            "verify_chain": int(verify_chain),
            "document_hash": sha256_b64(body),
        }

    def evaluate(self, op: Any) -> Verdict:
        """The asynchronous verdict for a pending XAdES operation row."""
        now = self._state.clock.now()
        cert = x509.load_der_x509_certificate(bytes(op["certificate"]))
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return Verdict(460, _CERT_FAILED, "Nieważny certyfikat")
        must_chain = op["verify_chain"] or self._state.config.require_trusted_certificates
        if must_chain and not chains_to(cert, self._state.trust_anchors(), now):
            return Verdict(460, _CERT_FAILED, "Niezaufany łańcuch certyfikatów")
        internal = op["method_code"] == INTERNAL_CERTIFICATE
        problem = self._state.certificates.auth_failure(cert) if internal else None
        if problem is not None:  # Offline type, revoked, blocked, expired (stored validity)
            return Verdict(460, _CERT_FAILED, problem)
        perms = self._state.rights.permissions(
            op["context_type"], op["context_value"], op["subject_type"], op["subject_value"]
        )
        if not perms:
            return Verdict(
                415, "Uwierzytelnianie zakończone niepowodzeniem", "Brak przypisanych uprawnień"
            )
        if internal:
            self._state.certificates.mark_used(cert)
        return Verdict(
            200,
            subject_type=op["subject_type"],
            subject_value=op["subject_value"],
            permissions=perms,
        )


def _read(body: bytes) -> etree._Element:
    if not body.strip():
        raise bad_request(21001, "Treść żądania jest pusta.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request(21217, "Treść żądania nie jest poprawnym UTF-8.") from None
    declared = _ENCODING_RE.match(body)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        name = declared.group(1).decode("ascii")
        raise bad_request(21217, f"Deklarowane kodowanie {name} zamiast UTF-8.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise bad_request(21001, f"Dokument XML nie jest poprawnie zbudowany: {exc}") from None


def _verify(body: bytes, root: etree._Element, now: dt.datetime) -> VerifiedXades:
    at, skew = _verification_instant(root, now)
    try:
        return verify_xades(body, now=at, max_clock_skew=skew)
    except XadesError as exc:
        code = exc.code if exc.code in (9101, 9102, 9103, 9105, 21115) else 9105
        raise bad_request(code, exc.message) from None


def _verification_instant(root: etree._Element, now: dt.datetime) -> tuple[dt.datetime, float]:
    """``now`` clamped into the embedded certificate's validity, and the matching skew.

    The validity window is judged later (status 460); an unreadable certificate is left for
    ``verify_xades`` to reject.
    """
    element = root.find(f".//{{{DS_NS}}}X509Certificate")
    try:
        der = base64.b64decode("".join((element.text or "").split()) if element is not None else "")
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return now, 300.0
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    at = min(max(now, start), end)
    return at, 300.0 + max(0.0, (now - at).total_seconds())


def _subject(request: AuthTokenRequest, cert: x509.Certificate) -> tuple[str, str]:
    if request.context_type == "PeppolId":
        # A Peppol provider's seal names its PeppolId in CN (see .peppol).
        if provider_id(cert) != request.context_value:
            raise bad_request(
                21117,
                "Kontekst PeppolId wymaga certyfikatu dostawcy usług Peppol z CN równym"
                f" {request.context_value}.",
            )
        return "PeppolId", request.context_value
    if request.subject_identifier_type == "certificateFingerprint":
        return "Fingerprint", certificate_fingerprint(cert)
    try:
        kind, value = subject_identifier(cert)
    except (ValueError, KsefApiError, XadesError):
        raise bad_request(
            21115, "Podmiot certyfikatu nie zawiera numeru NIP ani PESEL (2.5.4.97 / 2.5.4.5)."
        ) from None
    return kind, value


def _method_code(cert: x509.Certificate, trusted: bool) -> str:
    seal = bool(cert.subject.get_attributes_for_oid(_ORG_ID))
    if trusted:
        return "xades.qualified-seal" if seal else "xades.qualified-signature"
    return "xades.self-signed-seal" if seal else "xades.self-signed-signature"
