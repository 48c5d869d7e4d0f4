"""Build and sign UPO v4-3 documents for the emulator.

Owns the shape of the UPOs the emulator serves (:func:`build_upo`, element order per
``upo-v4-3.xsd``) and the emulator's signing identity (:class:`UpoSigner`: RSA-2048 key with
a self-signed "Ministerstwo Finansów" certificate, enveloped XAdES-BES via signxml).

The vocabulary (namespace, context element names, page and document records) comes from
:mod:`ksefkit.upo`, the SDK parser, so the two sides cannot disagree.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from ..formcodes import FormCode
from ..upo import (
    CONTEXT_ELEMENTS,
    RECEIVER_NAME,
    UPO_NS,
    UpoEntry,
    UpoPageInfo,
    format_upo_datetime,
)

__all__ = ["UpoAuth", "UpoDocument", "UpoPage", "UpoSigner", "build_upo"]

#: One ``Dokument`` of a UPO (same record the SDK parses into).
UpoDocument = UpoEntry
#: ``OpisPotwierdzenia`` of a session UPO; ``first``/``last`` inclusive (KSEF_API.md §17.3).
UpoPage = UpoPageInfo

_U = f"{{{UPO_NS}}}"
_MODES = frozenset({"Online", "Offline"})
# The UPO namespace as the default one, like the official examples (lxml-stubs do not allow
# the None key lxml uses for that).
_DEFAULT_NSMAP = cast("dict[str, str]", {None: UPO_NS})


@dataclass(frozen=True)
class UpoAuth:
    """``Uwierzytelnienie`` of a UPO: the context and how the session's caller authenticated.

    Exactly one of ``ksef_token_reference`` (KSeF-token authentication) and
    ``auth_document_hash`` (Base64 SHA-256 of the signed AuthTokenRequest, XAdES
    authentication) must be given.

    >>> UpoAuth("Nip", "5265877635", ksef_token_reference="20250819-EC-1ECDD12000-5EE71AE5E3-B7")
    ... # doctest: +ELLIPSIS
    UpoAuth(context_type='Nip', ...)
    """

    context_type: str
    context_value: str
    ksef_token_reference: str | None = None
    auth_document_hash: str | None = None

    def __post_init__(self) -> None:
        if self.context_type not in CONTEXT_ELEMENTS:
            raise ValueError(
                f"unknown context type {self.context_type!r}; "
                f"expected one of {', '.join(CONTEXT_ELEMENTS)}"
            )
        if (self.ksef_token_reference is None) == (self.auth_document_hash is None):
            raise ValueError("give exactly one of ksef_token_reference and auth_document_hash")


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _U + name)
    if text is not None:
        element.text = text
    return element


def build_upo(
    *,
    session_reference: str,
    auth: UpoAuth,
    form_code: FormCode,
    documents: Sequence[UpoDocument],
    receiver_name: str = RECEIVER_NAME,
    page: UpoPage | None = None,
) -> etree._Element:
    """Build an unsigned ``Potwierdzenie`` element (per-invoice or session UPO page).

    ``receiver_name`` may carry an environment suffix, e.g.
    ``"Ministerstwo Finansów - środowisko testowe (TE)"``, like the real TE/TR UPOs.

    >>> tz = datetime.timezone.utc
    >>> doc = UpoDocument("5265877635", "5265877635-20250916-0200A0D6723E-C2", "FA/1",
    ...     datetime.date(2025, 9, 16), datetime.datetime(2025, 9, 16, 9, 5, tzinfo=tz),
    ...     datetime.datetime(2025, 9, 16, 9, 6, tzinfo=tz), "A" * 43 + "=")
    >>> el = build_upo(session_reference="20250916-SO-2C3E6C8000-B675CF5D68-07",
    ...     auth=UpoAuth("Nip", "5265877635", auth_document_hash="B" * 43 + "="),
    ...     form_code=FormCode.FA3, documents=[doc])
    >>> el.findtext("{http://upo.schematy.mf.gov.pl/KSeF/v4-3}KodFormularza")
    'FA (3)'
    """
    if not documents:
        raise ValueError("a UPO lists at least one document")
    if len(documents) > 10_000:
        raise ValueError("a UPO page lists at most 10 000 documents")
    numbers = [d.ksef_number for d in documents]
    if len(set(numbers)) != len(numbers):
        raise ValueError("NumerKSeFDokumentu must be unique within a UPO")
    root = etree.Element(_U + "Potwierdzenie", nsmap=_DEFAULT_NSMAP)
    _sub(root, "NazwaPodmiotuPrzyjmujacego", receiver_name)
    _sub(root, "NumerReferencyjnySesji", session_reference)
    authentication = _sub(root, "Uwierzytelnienie")
    context = _sub(authentication, "IdKontekstu")
    _sub(context, CONTEXT_ELEMENTS[auth.context_type], auth.context_value)
    if auth.ksef_token_reference is not None:
        _sub(authentication, "NumerReferencyjnyTokenaKSeF", auth.ksef_token_reference)
    else:
        assert auth.auth_document_hash is not None
        _sub(authentication, "SkrotDokumentuUwierzytelniajacego", auth.auth_document_hash)
    if page is not None:
        # Inclusive range (the official 2-document example has Od=1, Do=2) although the XSD
        # annotation says "exclusive" — KSEF_API.md §17.3.
        if not (1 <= page.first <= page.last <= page.total and 1 <= page.page <= page.pages):
            raise ValueError(f"inconsistent UPO page {page}")
        description = _sub(root, "OpisPotwierdzenia")
        _sub(description, "Strona", str(page.page))
        _sub(description, "LiczbaStron", str(page.pages))
        _sub(description, "ZakresDokumentowOd", str(page.first))
        _sub(description, "ZakresDokumentowDo", str(page.last))
        _sub(description, "CalkowitaLiczbaDokumentow", str(page.total))
    _sub(root, "NazwaStrukturyLogicznej", form_code.logical_structure_name)
    _sub(root, "KodFormularza", form_code.system_code)
    for doc in documents:
        if doc.mode not in _MODES:
            raise ValueError(f"TrybWysylki must be Online or Offline, not {doc.mode!r}")
        entry = _sub(root, "Dokument")
        _sub(entry, "NipSprzedawcy", doc.seller_nip)
        _sub(entry, "NumerKSeFDokumentu", doc.ksef_number)
        _sub(entry, "NumerFaktury", doc.invoice_number)
        _sub(entry, "DataWystawieniaFaktury", doc.issue_date.isoformat())
        _sub(entry, "DataPrzeslaniaDokumentu", format_upo_datetime(doc.sent_at))
        _sub(entry, "DataNadaniaNumeruKSeF", format_upo_datetime(doc.ksef_number_assigned_at))
        _sub(entry, "SkrotDokumentu", doc.invoice_hash)
        _sub(entry, "TrybWysylki", doc.mode)
    etree.indent(root, space="  ")
    return root


class UpoSigner:
    """The emulator's UPO signing identity: an RSA key and its certificate.

    >>> signer = UpoSigner.generate()  # doctest: +SKIP
    >>> upo_bytes = signer.sign(build_upo(...))  # doctest: +SKIP
    """

    def __init__(self, private_key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self._private_key = private_key
        self.certificate = certificate

    def __repr__(self) -> str:
        # Never show the private key.
        subject = self.certificate.subject.rfc4514_string()
        return f"UpoSigner(certificate={subject!r}, serial={self.certificate.serial_number:x})"

    @classmethod
    def generate(cls, common_name: str = "Ministerstwo Finansów - emulator ksefkit") -> UpoSigner:
        """A fresh RSA-2048 key with a self-signed certificate valid for 10 years."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ministerstwo Finansów"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3652))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def to_pem(self) -> bytes:
        """Key (unencrypted PKCS#8) followed by the certificate, both PEM; see :meth:`from_pem`."""
        key_pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key_pem + self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem(cls, data: bytes) -> UpoSigner:
        """Load a signer saved with :meth:`to_pem`."""
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the UPO signer key must be RSA")
        certificate = x509.load_pem_x509_certificate(data)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        pem = serialization.Encoding.PEM
        if certificate.public_key().public_bytes(pem, spki) != key.public_key().public_bytes(
            pem, spki
        ):
            raise ValueError("the certificate does not belong to the key")
        return cls(key, certificate)

    def sign(self, element: etree._Element) -> bytes:
        """Sign ``element`` with an enveloped XAdES-BES signature; return UTF-8 bytes.

        ``ds:Signature`` becomes the last child of the root. ``element`` is not modified.
        signxml's default inclusive C14N 1.1 is kept on purpose: with exclusive C14N
        signxml 5.2.0 emits a SignedProperties digest no verifier accepts.
        """
        from signxml.algorithms import DigestAlgorithm, SignatureMethod
        from signxml.xades.xades import XAdESSigner

        signer = XAdESSigner(
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
        )
        signed = signer.sign(element, key=self._private_key, cert=[self.certificate])
        data: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        return data
