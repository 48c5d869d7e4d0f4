"""XAdES signature verification for :mod:`ksefkit.xades` (re-exported there; use it from there).

An independent verifier written with lxml C14N, hashlib and cryptography only: it trusts
neither signxml nor the signer. The emulator calls it for ``POST /auth/xades-signature``;
failures raise :class:`~ksefkit.errors.XadesError` with KSeF's code.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from .errors import XadesError

__all__ = [
    "DS_NS",
    "INVALID_CERTIFICATE",
    "INVALID_DOCUMENT",
    "INVALID_SIGNATURE",
    "NO_SIGNATURE",
    "TOO_MANY_SIGNATURES",
    "XADES_NS",
    "VerifiedXades",
    "certificate_fingerprint",
    "verify_xades",
]

#: XML-DSig namespace.
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
#: XAdES 1.3.2 namespace.
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"

_DS = f"{{{DS_NS}}}"
_XADES = f"{{{XADES_NS}}}"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"
C14N_URI = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N_URI = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED_URI = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
MORE_URI = "http://www.w3.org/2001/04/xmldsig-more#"
MORE07_URI = "http://www.w3.org/2007/05/xmldsig-more#"
_XPATH_URI = "http://www.w3.org/TR/1999/REC-xpath-19991116"


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, upper-case hex (KSeF's certificate fingerprint).

    >>> from ksefkit.testcerts import company_seal
    >>> len(certificate_fingerprint(company_seal("5265877635", key="ec").certificate))
    64
    """
    return certificate.fingerprint(hashes.SHA256()).hex().upper()


_MORE21 = "http://www.w3.org/2021/04/xmldsig-more#"
_DIGESTS: dict[str, str] = {
    DS_NS + "sha1": "sha1",
    SHA256_URI: "sha256",
    MORE_URI + "sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    MORE07_URI + "sha3-256": "sha3_256",
    MORE07_URI + "sha3-384": "sha3_384",
    MORE07_URI + "sha3-512": "sha3_512",
}
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),  # noqa: S303 - KSeF accepts SHA-1 signatures; verify, never sign
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
    "sha3-256": hashes.SHA3_256(),
    "sha3-384": hashes.SHA3_384(),
    "sha3-512": hashes.SHA3_512(),
}
# SignatureMethod URI -> (scheme, hash name); the set KSeF accepts (KSEF_API.md §4.4).
_METHODS: dict[str, tuple[str, str]] = {
    DS_NS + "rsa-sha1": ("rsa", "sha1"),
    **{MORE_URI + f"rsa-{h}": ("rsa", h) for h in ("sha256", "sha384", "sha512")},
    **{
        MORE07_URI + f"{h}-rsa-MGF1": ("pss", h)
        for h in ("sha1", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512")
    },
    **{MORE_URI + f"ecdsa-{h}": ("ec", h) for h in ("sha1", "sha256", "sha384", "sha512")},
    **{_MORE21 + f"ecdsa-{h}": ("ec", h) for h in ("sha3-256", "sha3-384", "sha3-512")},
}
# C14N URI -> (exclusive, with_comments). C14N 1.1 differs from 1.0 only in how xml:id,
# xml:base and friends are inherited into document subsets; lxml has no 1.1, and signed
# KSeF documents carry none of those attributes, so 1.0 gives the same octets.
_C14N: dict[str, tuple[bool, bool]] = {
    C14N_URI: (False, False),
    C14N_URI + "#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    EXC_C14N_URI: (True, False),
    EXC_C14N_URI + "WithComments": (True, True),
}
_XPATH_ENVELOPED = "not(ancestor-or-self::ds:Signature)"
_MIN_RSA_BITS = 2048
_MIN_EC_BITS = 256

INVALID_DOCUMENT = 9101
NO_SIGNATURE = 9102
TOO_MANY_SIGNATURES = 9103
INVALID_SIGNATURE = 9105
INVALID_CERTIFICATE = 21115


@dataclass(frozen=True)
class VerifiedXades:
    """What :func:`verify_xades` proved: who signed, when, and the signed document.

    ``document`` is a copy of the signed root without the ``ds:Signature`` (for an
    enveloping signature: the element inside ``ds:Object``).
    """

    certificate: x509.Certificate
    signing_time: datetime.datetime
    document: etree._Element

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signing certificate's DER, upper-case hex."""
        return certificate_fingerprint(self.certificate)


def verify_xades(
    xml: bytes, *, now: datetime.datetime | None = None, max_clock_skew: float = 300
) -> VerifiedXades:
    """Verify an enveloped (or enveloping) XAdES signature with lxml, hashlib, cryptography.

    Checks: the document parses safely (no DTD, no entities, no network); it holds exactly
    one ``ds:Signature``; the signature covers the whole document (detached is rejected)
    and a ``xades:SignedProperties`` inside it; every reference digest, recomputed with the
    declared transforms; the ``SignatureValue`` over the canonical ``SignedInfo`` with the
    embedded certificate's key (RSA PKCS#1 v1.5 or PSS, ECDSA raw ``r‖s``); the
    ``SigningCertificate`` digest names that certificate; the certificate is valid at
    ``now`` (RSA ≥ 2048 bits, curve ≥ 256 bits); ``SigningTime`` is present and not more
    than ``max_clock_skew`` seconds in the future. The certificate's trust is **not**
    checked: compare it (or its subject) with what you accept.

    Raises :class:`~ksefkit.errors.XadesError` with ``code`` 9101 (invalid document),
    9102 (no signature), 9103 (too many signatures), 9105 (invalid signature) or 21115
    (invalid certificate).

    >>> verify_xades(b"<AuthTokenRequest/>")
    Traceback (most recent call last):
    ...
    ksefkit.errors.XadesError: 9102: no signature
    """
    at = _aware(now or datetime.datetime.now(datetime.UTC))
    skew = datetime.timedelta(seconds=max_clock_skew)
    root = _parse(xml)
    signature = _the_signature(root)
    signed_info = _child(signature, "SignedInfo")
    signed_properties, document = _check_references(root, signature, signed_info)
    certificate = _signing_certificate(signature, signed_properties, at, skew)
    _check_signature_value(signature, signed_info, certificate)
    signing_time = _signing_time(signed_properties)
    if signing_time > at + skew:
        raise XadesError(
            INVALID_SIGNATURE, f"SigningTime {signing_time.isoformat()} is in the future"
        )
    return VerifiedXades(certificate=certificate, signing_time=signing_time, document=document)


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def _parse(xml: bytes) -> etree._Element:
    # A fresh parser per call: lxml parsers are not thread-safe and the emulator is threaded.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    if not isinstance(xml, bytes | bytearray):
        raise XadesError(INVALID_DOCUMENT, "the signed document must be given as bytes")
    try:
        root = etree.fromstring(bytes(xml), parser)
    except (etree.XMLSyntaxError, ValueError, TypeError) as exc:
        raise XadesError(INVALID_DOCUMENT, f"not well-formed XML: {exc}") from None
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack doctype/internalDTD
    if docinfo.doctype or docinfo.internalDTD is not None:
        # A DTD could declare ID attributes or defaults that change what a reference means.
        raise XadesError(INVALID_DOCUMENT, "documents with a DOCTYPE are not accepted")
    return root


def _the_signature(root: etree._Element) -> etree._Element:
    signatures = list(root.iter(_DS + "Signature"))
    if not signatures:
        raise XadesError(NO_SIGNATURE, "no signature")
    if len(signatures) > 1:
        raise XadesError(TOO_MANY_SIGNATURES, f"too many signatures ({len(signatures)})")
    return signatures[0]


def _child(parent: etree._Element, name: str, ns: str = _DS) -> etree._Element:
    found = parent.findall(ns + name)
    if len(found) != 1:
        raise XadesError(
            INVALID_SIGNATURE, f"expected one {name} in {etree.QName(parent).localname}"
        )
    return found[0]


def _canonical(
    node: etree._Element | etree._ElementTree, method: etree._Element, *, comments: bool
) -> bytes:
    """Canonicalise ``node`` with the algorithm of ``method`` (a Transform or C14N method)."""
    algorithm = method.get("Algorithm", "")
    if algorithm not in _C14N:
        raise XadesError(INVALID_SIGNATURE, f"unsupported canonicalisation {algorithm}")
    exclusive, with_comments = _C14N[algorithm]
    prefixes = None
    inclusive = method.find(f"{{{EXC_C14N_URI}}}InclusiveNamespaces")
    if exclusive and inclusive is not None:
        prefixes = inclusive.get("PrefixList", "").split()
    data: bytes = etree.tostring(
        node,
        method="c14n",
        exclusive=exclusive,
        with_comments=with_comments and comments,
        inclusive_ns_prefixes=prefixes,
    )
    return data


def _remove_keeping_tail(element: etree._Element) -> None:
    # The enveloped transform removes the Signature node only; text after it stays.
    parent = element.getparent()
    if parent is None:
        raise XadesError(INVALID_SIGNATURE, "an enveloped signature cannot be the root")
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
        raise XadesError(INVALID_SIGNATURE, f"reference #{ident} matches {len(found)} elements")
    return found[0]


def _is_inside(element: etree._Element, ancestor: etree._Element) -> bool:
    return any(node is ancestor for node in element.iterancestors())


def _without_signature(root: etree._Element) -> etree._Element:
    copied = copy.deepcopy(root)
    _remove_keeping_tail(next(copied.iter(_DS + "Signature")))
    return copied


def _reference_data(
    root: etree._Element, signature: etree._Element, reference: etree._Element
) -> tuple[bytes, etree._Element | None]:
    """The octets a reference digests, and the element it points to (None for ``URI=""``)."""
    uri = reference.get("URI")
    c14n_methods: list[etree._Element] = []
    enveloped = False
    for transform in reference.iterfind(f"{_DS}Transforms/{_DS}Transform"):
        algorithm = transform.get("Algorithm", "")
        xpath = " ".join((transform.findtext(_DS + "XPath") or "").split())
        xpath_enveloped = xpath == _XPATH_ENVELOPED and transform.nsmap.get("ds") == DS_NS
        if algorithm == ENVELOPED_URI or (algorithm == _XPATH_URI and xpath_enveloped):
            enveloped = True
        elif algorithm in _C14N and not c14n_methods:
            c14n_methods.append(transform)
        else:
            raise XadesError(INVALID_SIGNATURE, f"unsupported transform {algorithm or '?'}")
    # Without an explicit C14N transform the node-set is serialised with inclusive C14N 1.0.
    method = c14n_methods[0] if c14n_methods else etree.Element("m", Algorithm=C14N_URI)
    if uri == "":
        if not enveloped:
            raise XadesError(
                INVALID_SIGNATURE, 'the URI="" reference lacks the enveloped transform'
            )
        return _canonical(_without_signature(root).getroottree(), method, comments=False), None
    if uri is None or not uri.startswith("#") or uri.startswith("#xpointer("):
        raise XadesError(
            INVALID_SIGNATURE, f"reference {uri!r}: detached signatures are not accepted"
        )
    if enveloped:
        raise XadesError(INVALID_SIGNATURE, "enveloped transform on a fragment reference")
    target = _by_id(root, uri[1:])
    return _canonical(target, method, comments=False), target


def _check_references(
    root: etree._Element, signature: etree._Element, signed_info: etree._Element
) -> tuple[etree._Element, etree._Element]:
    """Check every digest; return (SignedProperties, the signed document without signature)."""
    signed_properties: etree._Element | None = None
    document: etree._Element | None = None
    references = signed_info.findall(_DS + "Reference")
    if not references:
        raise XadesError(INVALID_SIGNATURE, "SignedInfo has no Reference")
    for reference in references:
        data, target = _reference_data(root, signature, reference)
        method = _child(reference, "DigestMethod").get("Algorithm", "")
        if method not in _DIGESTS:
            raise XadesError(INVALID_SIGNATURE, f"unsupported digest method {method}")
        expected = _b64(_child(reference, "DigestValue").text, "DigestValue")
        if hashlib.new(_DIGESTS[method], data).digest() != expected:
            uri = reference.get("URI")
            raise XadesError(INVALID_SIGNATURE, f"digest mismatch for reference {uri!r}")
        if target is None:
            document = _without_signature(root)
        elif target.tag == _XADES + "SignedProperties" and _is_inside(target, signature):
            signed_properties = target
        elif root is signature and (content := _enveloping_content(target, signature)) is not None:
            if document is not None:
                raise XadesError(INVALID_SIGNATURE, "the signature covers more than one document")
            document = content
    if signed_properties is None:
        raise XadesError(INVALID_SIGNATURE, "no reference to xades:SignedProperties (not XAdES)")
    if document is None:
        raise XadesError(
            INVALID_SIGNATURE,
            "the signature does not cover the document (detached signatures are not accepted)",
        )
    return signed_properties, document


def _enveloping_content(target: etree._Element, signature: etree._Element) -> etree._Element | None:
    """The signed document of an enveloping signature: a ``ds:Object`` child (or its content).

    None when ``target`` is something else inside the signature (``KeyInfo``, the XAdES
    properties), which a signature may reference too.
    """
    parent = target.getparent()
    if target.tag == _DS + "Object" and parent is signature:
        children = [child for child in target if isinstance(child.tag, str)]
        if any(child.tag == _XADES + "QualifyingProperties" for child in children):
            return None
        if len(children) != 1:
            raise XadesError(INVALID_SIGNATURE, "the signed ds:Object must hold one element")
        return copy.deepcopy(children[0])
    if parent is None or parent.tag != _DS + "Object" or parent.getparent() is not signature:
        return None
    if target.tag == _XADES + "QualifyingProperties":
        return None
    return copy.deepcopy(target)


def _b64(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except ValueError:
        raise XadesError(INVALID_SIGNATURE, f"{what} is not Base64") from None


def _signing_certificate(
    signature: etree._Element,
    signed_properties: etree._Element,
    at: datetime.datetime,
    skew: datetime.timedelta,
) -> x509.Certificate:
    embedded = signature.findall(f"{_DS}KeyInfo/{_DS}X509Data/{_DS}X509Certificate")
    if not embedded:
        raise XadesError(INVALID_CERTIFICATE, "no X509Certificate in KeyInfo")
    try:
        certificates = [
            x509.load_der_x509_certificate(_b64(el.text, "certificate")) for el in embedded
        ]
    except (ValueError, XadesError):
        raise XadesError(INVALID_CERTIFICATE, "unreadable X509Certificate") from None
    properties = _child(signed_properties, "SignedSignatureProperties", _XADES)
    certs = properties.findall(f"{_XADES}SigningCertificate/{_XADES}Cert") + properties.findall(
        f"{_XADES}SigningCertificateV2/{_XADES}Cert"
    )
    if not certs:
        raise XadesError(INVALID_SIGNATURE, "no xades:SigningCertificate")
    cert_digest = _child(certs[0], "CertDigest", _XADES)
    method = _child(cert_digest, "DigestMethod").get("Algorithm", "")
    if method not in _DIGESTS:
        raise XadesError(INVALID_SIGNATURE, f"unsupported CertDigest method {method}")
    expected = _b64(_child(cert_digest, "DigestValue").text, "CertDigest")
    der = serialization.Encoding.DER
    matching = [
        c
        for c in certificates
        if hashlib.new(_DIGESTS[method], c.public_bytes(der)).digest() == expected
    ]
    if not matching:
        raise XadesError(
            INVALID_CERTIFICATE, "SigningCertificate digest does not match the embedded certificate"
        )
    certificate = matching[0]
    serial = certs[0].findtext(f"{_XADES}IssuerSerial/{_DS}X509SerialNumber")
    if serial is not None and serial.strip() != str(certificate.serial_number):
        raise XadesError(INVALID_CERTIFICATE, "SigningCertificate serial number does not match")
    _check_certificate(certificate, at, skew)
    return certificate


def _check_certificate(
    certificate: x509.Certificate, at: datetime.datetime, skew: datetime.timedelta
) -> None:
    if at + skew < certificate.not_valid_before_utc:
        raise XadesError(INVALID_CERTIFICATE, "the certificate is not valid yet")
    if at > certificate.not_valid_after_utc:
        raise XadesError(INVALID_CERTIFICATE, "the certificate has expired")
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < _MIN_RSA_BITS:
            raise XadesError(INVALID_CERTIFICATE, f"RSA key of {key.key_size} bits (< 2048)")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < _MIN_EC_BITS:
            raise XadesError(INVALID_CERTIFICATE, f"EC curve of {key.curve.key_size} bits (< 256)")
    else:
        raise XadesError(INVALID_CERTIFICATE, "the certificate key is neither RSA nor EC")


def _check_signature_value(
    signature: etree._Element, signed_info: etree._Element, certificate: x509.Certificate
) -> None:
    algorithm = _child(signed_info, "SignatureMethod").get("Algorithm", "")
    if algorithm not in _METHODS:
        raise XadesError(INVALID_SIGNATURE, f"unsupported signature method {algorithm}")
    scheme, hash_name = _METHODS[algorithm]
    hash_alg = _HASHES[hash_name]
    data = _canonical(signed_info, _child(signed_info, "CanonicalizationMethod"), comments=True)
    value = _b64(_child(signature, "SignatureValue").text, "SignatureValue")
    key = certificate.public_key()
    try:
        if scheme in ("rsa", "pss") and isinstance(key, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if scheme == "rsa"
                else padding.PSS(padding.MGF1(hash_alg), hash_alg.digest_size)
            )
            key.verify(value, data, pad, hash_alg)
        elif scheme == "ec" and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                raise XadesError(INVALID_SIGNATURE, "ECDSA SignatureValue is not raw r||s")
            r, s = int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_alg))
        else:
            raise XadesError(INVALID_SIGNATURE, "the certificate key does not fit SignatureMethod")
    except InvalidSignature:
        raise XadesError(INVALID_SIGNATURE, "SignatureValue does not verify") from None


def _signing_time(signed_properties: etree._Element) -> datetime.datetime:
    text = signed_properties.findtext(f"{_XADES}SignedSignatureProperties/{_XADES}SigningTime")
    if not text or not text.strip():
        raise XadesError(INVALID_SIGNATURE, "no xades:SigningTime")
    try:
        return _aware(datetime.datetime.fromisoformat(text.strip()))
    except ValueError:
        raise XadesError(INVALID_SIGNATURE, f"SigningTime {text!r} is not a dateTime") from None
