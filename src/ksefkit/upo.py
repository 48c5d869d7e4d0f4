"""UPO documents on the SDK side: parse, verify the XAdES signature, validate against the XSD.

Owns the UPO v4-3 vocabulary shared with the emulator (namespace, context element names,
:class:`UpoPageInfo`, :class:`UpoEntry`) so that builder and parser cannot drift apart.

A UPO (*Urzędowe Poświadczenie Odbioru*) is signed by the Ministry of Finance with an enveloped
XAdES signature (``ds:Signature`` as the last child of ``Potwierdzenie``). The XSD declares
neither that signature nor the test-environment suffix of ``NazwaPodmiotuPrzyjmujacego``;
:func:`validate_upo` compensates for both (KSEF_API.md §8, §17.3).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import importlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree

from .errors import IntegrityError, SchemaNotFoundError

__all__ = [
    "CONTEXT_ELEMENTS",
    "RECEIVER_NAME",
    "UPO_NS",
    "UPO_XSD",
    "Upo",
    "UpoEntry",
    "UpoPageInfo",
    "format_upo_datetime",
    "parse_upo",
    "validate_upo",
    "verify_upo_signature",
]

#: Namespace of UPO v4-3 (root element ``Potwierdzenie``).
UPO_NS = "http://upo.schematy.mf.gov.pl/KSeF/v4-3"
#: Path of the UPO XSD relative to the schema store root (mirrors CIRFMF/ksef-docs).
UPO_XSD = "faktury/upo/schemy/upo-v4-3.xsd"
#: The value the XSD fixes for ``NazwaPodmiotuPrzyjmujacego``.
RECEIVER_NAME = "Ministerstwo Finansów"
#: Context identifier type (as used on the wire) -> child element of ``IdKontekstu``.
CONTEXT_ELEMENTS: dict[str, str] = {
    "Nip": "Nip",
    "InternalId": "IdWewnetrzny",
    "NipVatUe": "IdZlozonyVatUE",
    "PeppolId": "IdDostawcyUslugPeppol",
}
_CONTEXT_TYPES = {element: kind for kind, element in CONTEXT_ELEMENTS.items()}

_DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_DS = f"{{{_DS_NS}}}"
_U = f"{{{UPO_NS}}}"
_NSMAP = {"ds": _DS_NS}


@dataclass(frozen=True)
class UpoPageInfo:
    """``OpisPotwierdzenia`` of a session UPO: which slice of the documents this page holds.

    ``first`` and ``last`` are 1-based and both inclusive. The XSD calls
    ``ZakresDokumentowDo`` "exclusive", but the official two-document example says 1..2, so
    ksefkit reads and writes the inclusive form (KSEF_API.md §17.3).

    >>> UpoPageInfo(page=1, pages=1, first=1, last=2, total=2).last
    2
    """

    page: int
    pages: int
    first: int
    last: int
    total: int


@dataclass(frozen=True)
class UpoEntry:
    """One ``Dokument`` of a UPO.

    ``sent_at`` is ``DataPrzeslaniaDokumentu`` (the invoicing date), ``ksef_number_assigned_at``
    is ``DataNadaniaNumeruKSeF`` (the acquisition date); both are timezone-aware.
    ``mode`` is ``TrybWysylki``: ``"Online"`` or ``"Offline"``.
    """

    seller_nip: str
    ksef_number: str
    invoice_number: str
    issue_date: datetime.date
    sent_at: datetime.datetime
    ksef_number_assigned_at: datetime.datetime
    invoice_hash: str
    mode: str = "Online"


@dataclass(frozen=True)
class Upo:
    """A parsed UPO. ``xml`` keeps the exact bytes it was parsed from (signature included)."""

    receiver_name: str
    session_reference: str
    context_type: str
    context_value: str
    ksef_token_reference: str | None
    auth_document_hash: str | None
    page: UpoPageInfo | None
    logical_structure_name: str
    form_code_text: str
    documents: tuple[UpoEntry, ...]
    xml: bytes = field(repr=False)
    schema_version: str | None = None

    def document(self, ksef_number: str) -> UpoEntry | None:
        """The entry for ``ksef_number``, or None if this UPO does not list it."""
        for entry in self.documents:
            if entry.ksef_number == ksef_number:
                return entry
        return None


def format_upo_datetime(value: datetime.datetime) -> str:
    """Serialise a UPO timestamp like KSeF does: ISO 8601, milliseconds, explicit offset.

    >>> tz = datetime.timezone(datetime.timedelta(hours=2))
    >>> format_upo_datetime(datetime.datetime(2025, 9, 16, 11, 29, 41, 524000, tzinfo=tz))
    '2025-09-16T11:29:41.524+02:00'
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("UPO timestamps must be timezone-aware")
    return value.isoformat(timespec="milliseconds")


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe and the emulator is threaded.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _parse_root(xml: bytes) -> etree._Element:
    try:
        return etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"UPO is not well-formed XML: {exc}") from exc


def _text(parent: etree._Element, name: str) -> str:
    child = parent.find(_U + name)
    if child is None or child.text is None:
        raise ValueError(f"UPO: missing {name} in {etree.QName(parent).localname}")
    return child.text.strip()


def _opt_text(parent: etree._Element, name: str) -> str | None:
    child = parent.find(_U + name)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def _parse_datetime(text: str) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        # xsd:dateTime without an offset is "local, unknown zone"; KSeF always sends one,
        # so treat a missing one as UTC rather than returning a naive value.
        value = value.replace(tzinfo=datetime.UTC)
    return value


def parse_upo(xml: bytes) -> Upo:
    """Parse a UPO v4-3 document (per-invoice or session UPO).

    Does not check the signature; see :func:`verify_upo_signature`.

    >>> upo = parse_upo(open("upo.xml", "rb").read())  # doctest: +SKIP
    >>> upo.documents[0].ksef_number  # doctest: +SKIP
    '5265877635-20250916-0200A0D6723E-C2'
    """
    root = _parse_root(xml)
    if root.tag != _U + "Potwierdzenie":
        raise ValueError(f"not a UPO v4-3 document (root {root.tag})")
    auth = root.find(_U + "Uwierzytelnienie")
    context = auth.find(_U + "IdKontekstu") if auth is not None else None
    if auth is None or context is None or len(context) != 1:
        raise ValueError("UPO: missing or malformed Uwierzytelnienie/IdKontekstu")
    context_el = context[0]
    local = etree.QName(context_el).localname
    if local not in _CONTEXT_TYPES or context_el.text is None:
        raise ValueError(f"UPO: unknown context identifier {local}")
    page: UpoPageInfo | None = None
    desc = root.find(_U + "OpisPotwierdzenia")
    if desc is not None:
        page = UpoPageInfo(
            page=int(_text(desc, "Strona")),
            pages=int(_text(desc, "LiczbaStron")),
            first=int(_text(desc, "ZakresDokumentowOd")),
            last=int(_text(desc, "ZakresDokumentowDo")),
            total=int(_text(desc, "CalkowitaLiczbaDokumentow")),
        )
    documents = tuple(
        UpoEntry(
            seller_nip=_text(doc, "NipSprzedawcy"),
            ksef_number=_text(doc, "NumerKSeFDokumentu"),
            invoice_number=_text(doc, "NumerFaktury"),
            issue_date=datetime.date.fromisoformat(_text(doc, "DataWystawieniaFaktury")),
            sent_at=_parse_datetime(_text(doc, "DataPrzeslaniaDokumentu")),
            ksef_number_assigned_at=_parse_datetime(_text(doc, "DataNadaniaNumeruKSeF")),
            invoice_hash=_text(doc, "SkrotDokumentu"),
            mode=_opt_text(doc, "TrybWysylki") or "Online",
        )
        for doc in root.iterfind(_U + "Dokument")
    )
    return Upo(
        receiver_name=_text(root, "NazwaPodmiotuPrzyjmujacego"),
        session_reference=_text(root, "NumerReferencyjnySesji"),
        context_type=_CONTEXT_TYPES[local],
        context_value=context_el.text.strip(),
        ksef_token_reference=_opt_text(auth, "NumerReferencyjnyTokenaKSeF"),
        auth_document_hash=_opt_text(auth, "SkrotDokumentuUwierzytelniajacego"),
        page=page,
        logical_structure_name=_text(root, "NazwaStrukturyLogicznej"),
        form_code_text=_text(root, "KodFormularza"),
        documents=documents,
        xml=xml,
        schema_version=root.get("wersjaSchemy"),
    )


# --- signature verification --------------------------------------------------------------

_DIGESTS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
_SIGNATURE_HASHES: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", hashes.SHA384()),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", hashes.SHA512()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ec", hashes.SHA256()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ec", hashes.SHA384()),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ec", hashes.SHA512()),
}
# (exclusive, with_comments). C14N 1.1 differs from 1.0 only in how xml:id / xml:base are
# inherited into document subsets; UPOs carry neither, so lxml's 1.0 output is identical.
_C14N: dict[str, tuple[bool, bool]] = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def _c14n(node: etree._Element | etree._ElementTree, algorithm: str) -> bytes:
    if algorithm not in _C14N:
        raise IntegrityError(f"UPO signature: unsupported canonicalisation {algorithm}")
    exclusive, with_comments = _C14N[algorithm]
    return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=with_comments)


def _signature_of(root: etree._Element) -> etree._Element:
    signatures = root.findall(_DS + "Signature")
    if len(signatures) != 1:
        raise IntegrityError(f"UPO: expected one enveloped ds:Signature, found {len(signatures)}")
    return signatures[0]


def _remove_keeping_tail(element: etree._Element) -> None:
    # The enveloped-signature transform removes the Signature node only; the text after it
    # belongs to the parent and stays. lxml's remove() would drop it with the element.
    parent = element.getparent()
    assert parent is not None
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _by_id(root: etree._Element, ident: str) -> etree._Element:
    found = [el for el in root.iter() if ident in (el.get("Id"), el.get("ID"), el.get("id"))]
    if len(found) != 1:
        raise IntegrityError(f"UPO signature: reference #{ident} matches {len(found)} elements")
    return found[0]


def _recheck_digests(xml: bytes, certificate: x509.Certificate) -> None:
    """Check every reference digest and the SignatureValue with lxml C14N + hashlib only."""
    root = _parse_root(xml)
    signature = _signature_of(root)
    signed_info = signature.find(_DS + "SignedInfo")
    if signed_info is None:
        raise IntegrityError("UPO signature: no SignedInfo")
    covers_document = False
    for reference in signed_info.iterfind(_DS + "Reference"):
        uri = reference.get("URI")
        transforms = [
            t.get("Algorithm", "") for t in reference.iterfind(f"{_DS}Transforms/{_DS}Transform")
        ]
        c14n_algs = [t for t in transforms if t != _ENVELOPED]
        if len(c14n_algs) > 1:
            raise IntegrityError("UPO signature: unsupported transform chain")
        c14n_alg = c14n_algs[0] if c14n_algs else "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
        if uri == "":
            if _ENVELOPED not in transforms:
                raise IntegrityError("UPO signature: whole-document reference is not enveloped")
            # A second parse gives an independent tree to strip the signature from.
            doc_root = _parse_root(xml)
            _remove_keeping_tail(_signature_of(doc_root))
            data = _c14n(doc_root.getroottree(), c14n_alg)
            covers_document = True
        elif uri is not None and uri.startswith("#"):
            if _ENVELOPED in transforms:
                raise IntegrityError("UPO signature: enveloped transform on a fragment")
            data = _c14n(_by_id(root, uri[1:]), c14n_alg)
        else:
            raise IntegrityError(f"UPO signature: unsupported reference URI {uri!r}")
        method = reference.find(_DS + "DigestMethod")
        digest_value = reference.findtext(_DS + "DigestValue")
        algorithm = method.get("Algorithm") if method is not None else None
        if algorithm not in _DIGESTS or digest_value is None:
            raise IntegrityError(f"UPO signature: unsupported digest {algorithm}")
        actual = hashlib.new(_DIGESTS[algorithm], data).digest()
        if base64.b64decode("".join(digest_value.split())) != actual:
            raise IntegrityError(f"UPO signature: digest mismatch for reference {uri!r}")
    if not covers_document:
        raise IntegrityError('UPO signature does not cover the document (no URI="" reference)')
    _recheck_signature_value(signature, signed_info, certificate)


def _recheck_signature_value(
    signature: etree._Element, signed_info: etree._Element, certificate: x509.Certificate
) -> None:
    c14n_method = signed_info.find(_DS + "CanonicalizationMethod")
    sig_method = signed_info.find(_DS + "SignatureMethod")
    value = signature.findtext(_DS + "SignatureValue")
    if c14n_method is None or sig_method is None or value is None:
        raise IntegrityError("UPO signature: incomplete SignedInfo")
    kind_hash = _SIGNATURE_HASHES.get(sig_method.get("Algorithm", ""))
    if kind_hash is None:
        raise IntegrityError(f"UPO signature: unsupported method {sig_method.get('Algorithm')}")
    kind, hash_alg = kind_hash
    data = _c14n(signed_info, c14n_method.get("Algorithm", ""))
    raw = base64.b64decode("".join(value.split()))
    key = certificate.public_key()
    try:
        if kind == "rsa" and isinstance(key, rsa.RSAPublicKey):
            key.verify(raw, data, padding.PKCS1v15(), hash_alg)
        elif kind == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

            half = len(raw) // 2
            der = encode_dss_signature(
                int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            )
            key.verify(der, data, ec.ECDSA(hash_alg))
        else:
            raise IntegrityError("UPO signature: key type does not match the signature method")
    except InvalidSignature as exc:
        raise IntegrityError("UPO signature: SignatureValue does not verify") from exc


def _embedded_certificate(xml: bytes) -> x509.Certificate:
    root = _parse_root(xml)
    text = _signature_of(root).findtext(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
    if not text:
        raise IntegrityError("UPO signature carries no X509Certificate")
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except ValueError as exc:
        raise IntegrityError(f"UPO signature: unreadable certificate: {exc}") from exc


def verify_upo_signature(
    xml: bytes, certificate: x509.Certificate | None = None
) -> x509.Certificate:
    """Verify the enveloped XAdES signature of a UPO; return the signing certificate.

    Two independent checks must both pass: signxml's ``XAdESVerifier`` (signature value,
    references, ``SigningCertificateV2`` digest) and a re-computation of every reference
    digest and of the ``SignatureValue`` with plain lxml C14N + hashlib + cryptography.

    With ``certificate=None`` the certificate embedded in ``KeyInfo`` is used. That only
    proves the document was not changed after signing, **not** who signed it: compare the
    returned certificate with one you trust (or pass that one in) to prove origin.

    >>> cert = verify_upo_signature(upo_bytes, certificate=mf_cert)  # doctest: +SKIP

    Raises :class:`~ksefkit.errors.IntegrityError` on any failure.
    """
    from signxml.exceptions import InvalidInput, SignXMLException
    from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

    cert = certificate if certificate is not None else _embedded_certificate(xml)
    # Any number of references: MF's signer may omit the KeyInfo reference signxml adds.
    # Coverage of the whole document is enforced below and again in the recheck.
    config = XAdESSignatureConfiguration(expect_references=True)
    try:
        results = XAdESVerifier().verify(xml, x509_cert=cert, expect_config=config)
    except (SignXMLException, InvalidInput, ValueError) as exc:
        raise IntegrityError(f"UPO signature does not verify: {exc}") from exc
    covered = [r for r in results if etree.QName(r.signed_xml).localname == "Potwierdzenie"]
    if not covered:
        raise IntegrityError("UPO signature does not cover the Potwierdzenie element")
    _recheck_digests(xml, cert)
    return cert


# --- XSD validation -----------------------------------------------------------------------


def _load_upo_schema(store: object | None) -> etree.XMLSchema:
    if store is None:
        try:
            schemas = importlib.import_module("ksefkit.schemas")
        except ImportError:
            schemas = None
        default_store = getattr(schemas, "default_store", None)
        if callable(default_store):
            store = default_store()
    schema_method = getattr(store, "schema", None)
    if callable(schema_method):
        result = schema_method(UPO_XSD)
        if isinstance(result, etree.XMLSchema):
            return result
    root = os.environ.get("KSEFKIT_SCHEMA_DIR")
    if not root or not (Path(root) / UPO_XSD).is_file():
        raise SchemaNotFoundError(
            f"{UPO_XSD} not found; set KSEFKIT_SCHEMA_DIR to a copy of the KSeF schemas"
        )
    return _schema_from_file(str(Path(root) / UPO_XSD))


_SCHEMA_CACHE: dict[str, etree.XMLSchema] = {}


def _schema_from_file(path: str) -> etree.XMLSchema:
    if path not in _SCHEMA_CACHE:
        _SCHEMA_CACHE[path] = etree.XMLSchema(etree.parse(path, _parser()))
    return _SCHEMA_CACHE[path]


def validate_upo(xml: bytes, store: object | None = None) -> list[str]:
    """Validate a UPO against ``upo-v4-3.xsd``; return the problems (empty list = valid).

    Before validating, the ``ds:Signature`` the XSD does not declare is removed and a
    test-environment suffix of ``NazwaPodmiotuPrzyjmujacego`` (``" - środowisko testowe
    (TE)"``) is cut, since the XSD fixes that value to ``"Ministerstwo Finansów"``.

    ``store`` is anything with ``schema(relative_path) -> lxml.etree.XMLSchema`` (the
    :mod:`ksefkit.schemas` store); by default :func:`ksefkit.schemas.default_store` is used
    when available, else ``$KSEFKIT_SCHEMA_DIR``.

    >>> validate_upo(upo_bytes)  # doctest: +SKIP
    []
    """
    try:
        root = _parse_root(xml)
    except ValueError as exc:
        return [str(exc)]
    for signature in root.findall(_DS + "Signature"):
        _remove_keeping_tail(signature)
    receiver = root.find(_U + "NazwaPodmiotuPrzyjmujacego")
    if receiver is not None and receiver.text and receiver.text.strip().startswith(RECEIVER_NAME):
        receiver.text = RECEIVER_NAME
    schema = _load_upo_schema(store)
    if schema.validate(root):
        return []
    errors = cast("Iterable[Any]", schema.error_log)
    return [f"line {e.line}: {e.message}" for e in errors]
