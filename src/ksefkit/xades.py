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
  :class:`~ksefkit.errors.XadesError` with KSeF's code. It lives in
  :mod:`ksefkit._xades_verify` (module size) and is re-exported here.

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
from typing import TypeAlias, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from ._xades_verify import (
    C14N_URI,
    DS_NS,
    ENVELOPED_URI,
    EXC_C14N_URI,
    MORE07_URI,
    MORE_URI,
    SHA256_URI,
    SIGNED_PROPERTIES_TYPE,
    XADES_NS,
    VerifiedXades,
    certificate_fingerprint,
    verify_xades,
)
from .errors import ConfigurationError
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


#: Algorithms :class:`XadesSigner` can produce: name -> (SignatureMethod URI, key kind, hash).
SIGNATURE_ALGORITHMS: dict[str, tuple[str, str, hashes.HashAlgorithm]] = {
    "rsa-sha256": (MORE_URI + "rsa-sha256", "rsa", hashes.SHA256()),
    "rsa-sha384": (MORE_URI + "rsa-sha384", "rsa", hashes.SHA384()),
    "rsa-sha512": (MORE_URI + "rsa-sha512", "rsa", hashes.SHA512()),
    "rsa-pss-sha256": (MORE07_URI + "sha256-rsa-MGF1", "rsa", hashes.SHA256()),
    "rsa-pss-sha384": (MORE07_URI + "sha384-rsa-MGF1", "rsa", hashes.SHA384()),
    "rsa-pss-sha512": (MORE07_URI + "sha512-rsa-MGF1", "rsa", hashes.SHA512()),
    "ecdsa-sha256": (MORE_URI + "ecdsa-sha256", "ec", hashes.SHA256()),
    "ecdsa-sha384": (MORE_URI + "ecdsa-sha384", "ec", hashes.SHA384()),
    "ecdsa-sha512": (MORE_URI + "ecdsa-sha512", "ec", hashes.SHA512()),
}


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
    _sub(reference, _DS + "DigestMethod", Algorithm=SHA256_URI)
    _sub(reference, _DS + "DigestValue", digest)


def _signature_skeleton(
    method_uri: str, document_digest: str, certificate: x509.Certificate, when: datetime.datetime
) -> etree._Element:
    signature = etree.Element(_DS + "Signature", {"Id": "Signature"}, nsmap={"ds": DS_NS})
    signed_info = _sub(signature, _DS + "SignedInfo")
    _sub(signed_info, _DS + "CanonicalizationMethod", Algorithm=C14N_URI)
    _sub(signed_info, _DS + "SignatureMethod", Algorithm=method_uri)
    _reference(signed_info, "", [ENVELOPED_URI, EXC_C14N_URI], document_digest)
    _reference(signed_info, "#SignedProperties", [EXC_C14N_URI], "", Type=SIGNED_PROPERTIES_TYPE)
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
    _sub(cert_digest, _DS + "DigestMethod", Algorithm=SHA256_URI)
    _sub(cert_digest, _DS + "DigestValue", base64.b64encode(hashlib.sha256(der).digest()).decode())
    issuer_serial = _sub(cert, _XADES + "IssuerSerial")
    _sub(issuer_serial, _DS + "X509IssuerName", certificate.issuer.rfc4514_string())
    _sub(issuer_serial, _DS + "X509SerialNumber", str(certificate.serial_number))
    return signature
