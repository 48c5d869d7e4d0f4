"""XAdES authentication documents: build ``AuthTokenRequest``, sign it, verify a signature.

Owns the SDK side of ``POST /auth/xades-signature`` (KSEF_API.md §4.4) and the verifier the
emulator calls:

* :func:`build_auth_token_request` — the unsigned ``AuthTokenRequest`` (namespace 2.0 or 2.1)
  as an lxml element; every value goes through lxml, so it is escaped.
* :class:`XadesSigner` — a certificate plus a way to sign: a private key (PEM, encrypted PEM,
  PKCS#12) or a callback, so an HSM or a remote service can sign without the key ever entering
  this process. :meth:`XadesSigner.sign` produces an enveloped XAdES-BES signature in the shape
  the official C# client produces (the one known to be accepted): ``ds:Signature Id="Signature"``
  as the last child of the root, inclusive C14N 1.0 for ``SignedInfo``, exclusive C14N and
  SHA-256 for both references, ``rsa-sha256`` or ``ecdsa-sha256`` (raw ``r‖s``).
* :func:`verify_xades` — an independent verifier written with lxml C14N, hashlib and
  cryptography only (signxml is not trusted here); failures raise
  :class:`~ksefkit.errors.XadesError` with KSeF's code.

The signature is built here rather than by signxml's ``XAdESSigner`` because a callback signer
needs the canonical ``SignedInfo`` bytes, and signxml 5.2.0 cannot emit exclusive C14N
references that verify. The tests check every signature with signxml's ``XAdESVerifier`` and
with ``xmlsec1`` as well as with :func:`verify_xades`.

>>> from ksefkit.testcerts import company_seal
>>> signer = company_seal("5265877635").signer()
>>> request = build_auth_token_request(
...     challenge="20250604-CR-461EA5B000-537A6BA15D-D7",
...     context_type="Nip",
...     context_value="5265877635",
... )
>>> verified = verify_xades(signer.sign(request))
>>> verified.document.findtext(f"{{{AUTH_NS_V20}}}Challenge")
'20250604-CR-461EA5B000-537A6BA15D-D7'
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from .errors import ConfigurationError, XadesError
from .identifiers import INTERNAL_ID_RE, NIP_RE, NIP_VAT_UE_RE, PEPPOL_ID_RE

__all__ = [
    "AUTH_NS_V20",
    "AUTH_NS_V21",
    "CONTEXT_TYPES",
    "DS_NS",
    "SIGNATURE_ALGORITHMS",
    "XADES_NS",
    "PrivateKey",
    "VerifiedXades",
    "XadesSigner",
    "build_auth_token_request",
    "certificate_fingerprint",
    "verify_xades",
]

#: Namespace of ``AuthTokenRequest`` version 2.0 (its XSD does not compile in libxml2, §17.2).
AUTH_NS_V20 = "http://ksef.mf.gov.pl/auth/token/2.0"
#: Namespace of ``AuthTokenRequest`` version 2.1.
AUTH_NS_V21 = "http://ksef.mf.gov.pl/auth/token/2.1"
#: XML-DSig namespace.
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
#: XAdES 1.3.2 namespace.
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
#: ``ContextIdentifier`` types (the child element names) and the format each must have.
CONTEXT_TYPES: dict[str, re.Pattern[str]] = {
    "Nip": NIP_RE,
    "InternalId": INTERNAL_ID_RE,
    "NipVatUe": NIP_VAT_UE_RE,
    "PeppolId": PEPPOL_ID_RE,
}

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_DS = f"{{{DS_NS}}}"
_XADES = f"{{{XADES_NS}}}"
_SUBJECT_TYPES = ("certificateSubject", "certificateFingerprint")
_MAX_IPS = 10
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IP4 = rf"({_OCTET}\.){{3}}{_OCTET}"
_IP_PATTERNS = {
    "Ip4Address": re.compile(rf"^{_IP4}$"),
    "Ip4Range": re.compile(rf"^{_IP4}-{_IP4}$"),
    "Ip4Mask": re.compile(rf"^{_IP4}/(0|[1-9]|[12][0-9]|3[0-2])$"),
}

_SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"
_C14N_URI = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_EXC_C14N_URI = "http://www.w3.org/2001/10/xml-exc-c14n#"
_ENVELOPED_URI = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_XPATH_URI = "http://www.w3.org/TR/1999/REC-xpath-19991116"
_SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_MORE07 = "http://www.w3.org/2007/05/xmldsig-more#"

#: Algorithms :class:`XadesSigner` can produce: name -> (SignatureMethod URI, key kind, hash).
SIGNATURE_ALGORITHMS: dict[str, tuple[str, str, hashes.HashAlgorithm]] = {
    "rsa-sha256": (_MORE + "rsa-sha256", "rsa", hashes.SHA256()),
    "rsa-sha384": (_MORE + "rsa-sha384", "rsa", hashes.SHA384()),
    "rsa-sha512": (_MORE + "rsa-sha512", "rsa", hashes.SHA512()),
    "rsa-pss-sha256": (_MORE07 + "sha256-rsa-MGF1", "rsa", hashes.SHA256()),
    "rsa-pss-sha384": (_MORE07 + "sha384-rsa-MGF1", "rsa", hashes.SHA384()),
    "rsa-pss-sha512": (_MORE07 + "sha512-rsa-MGF1", "rsa", hashes.SHA512()),
    "ecdsa-sha256": (_MORE + "ecdsa-sha256", "ec", hashes.SHA256()),
    "ecdsa-sha384": (_MORE + "ecdsa-sha384", "ec", hashes.SHA384()),
    "ecdsa-sha512": (_MORE + "ecdsa-sha512", "ec", hashes.SHA512()),
}


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, upper-case hex (KSeF's certificate fingerprint).

    >>> from ksefkit.testcerts import company_seal
    >>> len(certificate_fingerprint(company_seal("5265877635", key="ec").certificate))
    64
    """
    return certificate.fingerprint(hashes.SHA256()).hex().upper()


# --- the unsigned document ----------------------------------------------------------------


def build_auth_token_request(
    *,
    challenge: str,
    context_type: str,
    context_value: str,
    subject_identifier_type: str = "certificateSubject",
    allowed_ips: Sequence[str] = (),
    allowed_ranges: Sequence[str] = (),
    allowed_masks: Sequence[str] = (),
    namespace: str = AUTH_NS_V20,
) -> etree._Element:
    """Build the unsigned ``AuthTokenRequest`` for ``POST /auth/xades-signature``.

    ``context_type`` is ``Nip``, ``InternalId``, ``NipVatUe`` or ``PeppolId``; the value must
    have that type's format. The optional ``AuthorizationPolicy/AllowedIps`` lists take at
    most 10 entries each (``Ip4Address`` ``1.2.3.4``, ``Ip4Range`` ``1.2.3.4-1.2.3.9``,
    ``Ip4Mask`` ``1.2.3.0/24``). Raises :class:`~ksefkit.errors.ConfigurationError`.

    >>> root = build_auth_token_request(
    ...     challenge="20250604-CR-461EA5B000-537A6BA15D-D7",
    ...     context_type="InternalId",
    ...     context_value="5265877635-12345",
    ...     allowed_ips=["192.168.0.1"],
    ...     namespace=AUTH_NS_V21,
    ... )
    >>> [etree.QName(child).localname for child in root]
    ['Challenge', 'ContextIdentifier', 'SubjectIdentifierType', 'AuthorizationPolicy']
    """
    if namespace not in (AUTH_NS_V20, AUTH_NS_V21):
        raise ConfigurationError(f"unknown AuthTokenRequest namespace {namespace!r}")
    if not challenge or challenge != challenge.strip():
        raise ConfigurationError("challenge must be a non-empty string without surrounding spaces")
    pattern = CONTEXT_TYPES.get(context_type)
    if pattern is None:
        raise ConfigurationError(
            f"context_type must be one of {', '.join(CONTEXT_TYPES)}, not {context_type!r}"
        )
    if not pattern.match(context_value):
        raise ConfigurationError(f"{context_value!r} is not a valid {context_type}")
    if subject_identifier_type not in _SUBJECT_TYPES:
        raise ConfigurationError(
            f"subject_identifier_type must be one of {', '.join(_SUBJECT_TYPES)}"
        )
    ips = {"Ip4Address": allowed_ips, "Ip4Range": allowed_ranges, "Ip4Mask": allowed_masks}
    _check_ips(ips)
    ns = f"{{{namespace}}}"
    nsmap = cast("dict[str, str]", {None: namespace})  # lxml-stubs reject the None prefix
    root = etree.Element(ns + "AuthTokenRequest", nsmap=nsmap)
    etree.SubElement(root, ns + "Challenge").text = challenge
    context = etree.SubElement(root, ns + "ContextIdentifier")
    etree.SubElement(context, ns + context_type).text = context_value
    etree.SubElement(root, ns + "SubjectIdentifierType").text = subject_identifier_type
    if any(ips.values()):
        allowed = etree.SubElement(
            etree.SubElement(root, ns + "AuthorizationPolicy"), ns + "AllowedIps"
        )
        for name, values in ips.items():
            for value in values:
                etree.SubElement(allowed, ns + name).text = value
    return root


def _check_ips(ips: dict[str, Sequence[str]]) -> None:
    for name, values in ips.items():
        if isinstance(values, str):
            raise ConfigurationError(f"{name} values must be a sequence of strings, not a string")
        if len(values) > _MAX_IPS:
            raise ConfigurationError(f"at most {_MAX_IPS} {name} entries are allowed")
        for value in values:
            if not _IP_PATTERNS[name].match(value):
                raise ConfigurationError(f"{value!r} is not a valid {name}")


# --- signing ------------------------------------------------------------------------------


class XadesSigner:
    """A certificate plus a way to sign with its key; produces enveloped XAdES-BES.

    Build one with a factory (:meth:`from_keys`, :meth:`from_pem`, :meth:`from_pkcs12`,
    :meth:`from_files`, :meth:`from_pkcs12_file`, :meth:`from_callback`). The key is held in
    a closure only: it is not an attribute, and ``repr`` shows the subject and algorithm.

    >>> from ksefkit.testcerts import person_by_pesel
    >>> signer = person_by_pesel("90010112345", key="ec").signer()
    >>> signer.algorithm
    'ecdsa-sha256'
    """

    __slots__ = ("_algorithm", "_certificate", "_sign")

    def __init__(
        self, certificate: x509.Certificate, sign: Callable[[bytes], bytes], algorithm: str
    ) -> None:
        if algorithm not in SIGNATURE_ALGORITHMS:
            raise ConfigurationError(
                f"algorithm must be one of {', '.join(SIGNATURE_ALGORITHMS)}, not {algorithm!r}"
            )
        kind = SIGNATURE_ALGORITHMS[algorithm][1]
        public = certificate.public_key()
        wanted = rsa.RSAPublicKey if kind == "rsa" else ec.EllipticCurvePublicKey
        if not isinstance(public, wanted):
            raise ConfigurationError(f"{algorithm} needs a certificate with an {kind.upper()} key")
        self._certificate = certificate
        self._sign = sign
        self._algorithm = algorithm

    def __repr__(self) -> str:
        subject = self._certificate.subject.rfc4514_string()
        return f"XadesSigner(subject={subject!r}, algorithm={self._algorithm!r})"

    @property
    def certificate(self) -> x509.Certificate:
        """The signing certificate (embedded in ``KeyInfo`` and bound in ``SigningCertificate``)."""
        return self._certificate

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER, upper-case hex (``certificateFingerprint`` auth)."""
        return certificate_fingerprint(self._certificate)

    @property
    def algorithm(self) -> str:
        """The algorithm name, e.g. ``"rsa-sha256"`` (see :data:`SIGNATURE_ALGORITHMS`)."""
        return self._algorithm

    @classmethod
    def from_keys(cls, certificate: x509.Certificate, private_key: PrivateKey) -> XadesSigner:
        """Sign with an in-process key: RSA → ``rsa-sha256``, EC → ``ecdsa-sha256``.

        >>> from ksefkit.testcerts import company_seal
        >>> seal = company_seal("5265877635")
        >>> XadesSigner.from_keys(seal.certificate, seal.private_key).algorithm
        'rsa-sha256'
        """
        _check_pair(certificate, private_key)
        if isinstance(private_key, rsa.RSAPrivateKey):
            rsa_key = private_key

            def sign_rsa(data: bytes) -> bytes:
                return rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

            return cls(certificate, sign_rsa, "rsa-sha256")
        ec_key = private_key
        size = (ec_key.curve.key_size + 7) // 8

        def sign_ec(data: bytes) -> bytes:
            r, s = decode_dss_signature(ec_key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

        return cls(certificate, sign_ec, "ecdsa-sha256")

    @classmethod
    def from_pem(
        cls, cert_pem: bytes, key_pem: bytes, password: bytes | str | None = None
    ) -> XadesSigner:
        """Sign with a PEM certificate and a PEM private key (encrypted when ``password``).

        >>> signer = XadesSigner.from_pem(cert_pem, key_pem, password="secret")  # doctest: +SKIP
        """
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as exc:
            raise ConfigurationError("the certificate is not a readable PEM certificate") from exc
        try:
            key = serialization.load_pem_private_key(key_pem, password=_password(password))
        except (ValueError, TypeError) as exc:
            # cryptography's message may say "wrong password"; it never contains the password.
            raise ConfigurationError(f"cannot load the private key: {exc}") from None
        return cls.from_keys(certificate, _supported_key(key))

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | str | None) -> XadesSigner:
        """Sign with the key and certificate of a PKCS#12 (``.p12`` / ``.pfx``) bundle.

        >>> signer = XadesSigner.from_pkcs12(p12_bytes, "secret")  # doctest: +SKIP
        """
        try:
            key, certificate, _chain = pkcs12.load_key_and_certificates(data, _password(password))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"cannot load the PKCS#12 bundle: {exc}") from None
        if key is None or certificate is None:
            raise ConfigurationError(
                "the PKCS#12 bundle must hold a private key and its certificate"
            )
        return cls.from_keys(certificate, _supported_key(key))

    @classmethod
    def from_files(
        cls,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        password: bytes | str | None = None,
    ) -> XadesSigner:
        """:meth:`from_pem` with the two PEM files read from disk.

        >>> signer = XadesSigner.from_files("seal.pem", "seal.key", "secret")  # doctest: +SKIP
        """
        with open(cert_path, "rb") as cert_file, open(key_path, "rb") as key_file:
            return cls.from_pem(cert_file.read(), key_file.read(), password)

    @classmethod
    def from_pkcs12_file(
        cls, path: str | os.PathLike[str], password: bytes | str | None
    ) -> XadesSigner:
        """:meth:`from_pkcs12` with the bundle read from disk.

        >>> signer = XadesSigner.from_pkcs12_file("seal.p12", "secret")  # doctest: +SKIP
        """
        with open(path, "rb") as file:
            return cls.from_pkcs12(file.read(), password)

    @classmethod
    def from_callback(
        cls,
        certificate: x509.Certificate,
        sign: Callable[[bytes], bytes],
        *,
        algorithm: str = "rsa-sha256",
    ) -> XadesSigner:
        """Sign through ``sign(data) -> signature``: the key never enters this process.

        ``data`` is the canonical ``SignedInfo`` (not a hash). Return the raw signature value:
        for ``rsa-sha*`` a PKCS#1 v1.5 signature; for ``rsa-pss-sha*`` RSASSA-PSS with MGF1 of
        the same hash and a salt as long as the hash (RFC 6931); for ``ecdsa-sha*`` the
        fixed-width ``r‖s`` (64 bytes for P-256), not DER. See :data:`SIGNATURE_ALGORITHMS`.

        >>> XadesSigner.from_callback(cert, hsm.sign, algorithm="ecdsa-sha256")  # doctest: +SKIP
        """
        return cls(certificate, sign, algorithm)

    def sign(
        self, document: etree._Element, *, signing_time: datetime.datetime | None = None
    ) -> bytes:
        """Sign a copy of ``document`` (enveloped XAdES-BES); return the UTF-8 XML bytes.

        ``SigningTime`` defaults to one minute ago, like the official client, so that a
        server whose clock lags slightly does not see a signature from the future.
        ``document`` itself is not modified.

        >>> signed = signer.sign(build_auth_token_request(...))  # doctest: +SKIP
        """
        when = signing_time or datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
        if when.tzinfo is None:
            raise ConfigurationError("signing_time must be timezone-aware")
        root = copy.deepcopy(document)
        root.tail = None
        document_digest = _digest(_c14n(root.getroottree(), exclusive=True))
        method_uri, _kind, _hash = SIGNATURE_ALGORITHMS[self._algorithm]
        signature = _signature_skeleton(method_uri, document_digest, self._certificate, when)
        root.append(signature)
        signed_properties = signature.find(
            f"{_DS}Object/{_XADES}QualifyingProperties/{_XADES}SignedProperties"
        )
        assert signed_properties is not None
        properties_digest = _digest(_c14n(signed_properties, exclusive=True))
        signed_info = signature.find(_DS + "SignedInfo")
        assert signed_info is not None
        signed_info[3].find(_DS + "DigestValue").text = properties_digest  # type: ignore[union-attr]
        value = self._sign(_c14n(signed_info, exclusive=False))
        signature.find(_DS + "SignatureValue").text = base64.b64encode(value).decode()  # type: ignore[union-attr]
        data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        return data


def _password(password: bytes | str | None) -> bytes | None:
    return password.encode() if isinstance(password, str) else password


def _supported_key(key: object) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return key
    raise ConfigurationError("XAdES for KSeF needs an RSA or EC private key")


def _check_pair(certificate: x509.Certificate, private_key: PrivateKey) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if certificate.public_key().public_bytes(der, spki) != private_key.public_key().public_bytes(
        der, spki
    ):
        raise ConfigurationError("the private key does not belong to the certificate")


def _c14n(node: etree._Element | etree._ElementTree, *, exclusive: bool) -> bytes:
    data: bytes = etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=False)
    return data


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _reference(
    signed_info: etree._Element, uri: str, transforms: Sequence[str], digest: str, **attrs: str
) -> None:
    reference = _sub(signed_info, _DS + "Reference", URI=uri, **attrs)
    transforms_el = _sub(reference, _DS + "Transforms")
    for algorithm in transforms:
        _sub(transforms_el, _DS + "Transform", Algorithm=algorithm)
    _sub(reference, _DS + "DigestMethod", Algorithm=_SHA256_URI)
    _sub(reference, _DS + "DigestValue", digest)


def _signature_skeleton(
    method_uri: str, document_digest: str, certificate: x509.Certificate, when: datetime.datetime
) -> etree._Element:
    signature = etree.Element(_DS + "Signature", {"Id": "Signature"}, nsmap={"ds": DS_NS})
    signed_info = _sub(signature, _DS + "SignedInfo")
    _sub(signed_info, _DS + "CanonicalizationMethod", Algorithm=_C14N_URI)
    _sub(signed_info, _DS + "SignatureMethod", Algorithm=method_uri)
    _reference(signed_info, "", [_ENVELOPED_URI, _EXC_C14N_URI], document_digest)
    _reference(signed_info, "#SignedProperties", [_EXC_C14N_URI], "", Type=_SIGNED_PROPERTIES_TYPE)
    _sub(signature, _DS + "SignatureValue")
    der = certificate.public_bytes(serialization.Encoding.DER)
    x509_data = _sub(_sub(signature, _DS + "KeyInfo"), _DS + "X509Data")
    _sub(x509_data, _DS + "X509Certificate", base64.b64encode(der).decode())
    qualifying = etree.SubElement(
        _sub(signature, _DS + "Object"),
        _XADES + "QualifyingProperties",
        {"Target": "#Signature"},
        nsmap={"xades": XADES_NS},
    )
    signed_properties = _sub(qualifying, _XADES + "SignedProperties", Id="SignedProperties")
    properties = _sub(signed_properties, _XADES + "SignedSignatureProperties")
    stamp = when.astimezone(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    _sub(properties, _XADES + "SigningTime", stamp)
    cert = _sub(_sub(properties, _XADES + "SigningCertificate"), _XADES + "Cert")
    cert_digest = _sub(cert, _XADES + "CertDigest")
    _sub(cert_digest, _DS + "DigestMethod", Algorithm=_SHA256_URI)
    _sub(cert_digest, _DS + "DigestValue", base64.b64encode(hashlib.sha256(der).digest()).decode())
    issuer_serial = _sub(cert, _XADES + "IssuerSerial")
    _sub(issuer_serial, _DS + "X509IssuerName", certificate.issuer.rfc4514_string())
    _sub(issuer_serial, _DS + "X509SerialNumber", str(certificate.serial_number))
    return signature


# --- verification -------------------------------------------------------------------------

_MORE21 = "http://www.w3.org/2021/04/xmldsig-more#"
_DIGESTS: dict[str, str] = {
    DS_NS + "sha1": "sha1",
    _SHA256_URI: "sha256",
    _MORE + "sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    _MORE07 + "sha3-256": "sha3_256",
    _MORE07 + "sha3-384": "sha3_384",
    _MORE07 + "sha3-512": "sha3_512",
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
    **{_MORE + f"rsa-{h}": ("rsa", h) for h in ("sha256", "sha384", "sha512")},
    **{
        _MORE07 + f"{h}-rsa-MGF1": ("pss", h)
        for h in ("sha1", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512")
    },
    **{_MORE + f"ecdsa-{h}": ("ec", h) for h in ("sha1", "sha256", "sha384", "sha512")},
    **{_MORE21 + f"ecdsa-{h}": ("ec", h) for h in ("sha3-256", "sha3-384", "sha3-512")},
}
# C14N URI -> (exclusive, with_comments). C14N 1.1 differs from 1.0 only in how xml:id,
# xml:base and friends are inherited into document subsets; lxml has no 1.1, and signed
# KSeF documents carry none of those attributes, so 1.0 gives the same octets.
_C14N: dict[str, tuple[bool, bool]] = {
    _C14N_URI: (False, False),
    _C14N_URI + "#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    _EXC_C14N_URI: (True, False),
    _EXC_C14N_URI + "WithComments": (True, True),
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
    inclusive = method.find(f"{{{_EXC_C14N_URI}}}InclusiveNamespaces")
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
        if algorithm == _ENVELOPED_URI or (algorithm == _XPATH_URI and xpath == _XPATH_ENVELOPED):
            enveloped = True
        elif algorithm in _C14N and not c14n_methods:
            c14n_methods.append(transform)
        else:
            raise XadesError(INVALID_SIGNATURE, f"unsupported transform {algorithm or '?'}")
    # Without an explicit C14N transform the node-set is serialised with inclusive C14N 1.0.
    method = c14n_methods[0] if c14n_methods else etree.Element("m", Algorithm=_C14N_URI)
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
