"""Tests of ksefkit.xades: AuthTokenRequest, XAdES signing from every key source, verification.

Every signature is checked by three verifiers: ksefkit's own :func:`verify_xades`, signxml's
``XAdESVerifier`` and ``xmlsec1`` (libxmlsec1 + OpenSSL) in a subprocess.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from ksefkit.errors import ConfigurationError, KsefError, XadesError
from ksefkit.testcerts import TestCertificate, company_seal, person_by_pesel
from ksefkit.xades import (
    AUTH_NS_V20,
    AUTH_NS_V21,
    XadesSigner,
    build_auth_token_request,
    certificate_fingerprint,
    verify_xades,
)

DS = "{http://www.w3.org/2000/09/xmldsig#}"
XADES = "{http://uri.etsi.org/01903/v1.3.2#}"
CHALLENGE = "20250604-CR-461EA5B000-537A6BA15D-D7"
NIP = "5265877635"
AUTH_XSD = Path("auth") / "schemy"
UTC = datetime.UTC


@cache
def cert_of(kind: str) -> TestCertificate:
    return (
        company_seal(NIP, key=kind) if kind == "rsa" else person_by_pesel("90010112345", key="ec")
    )  # type: ignore[arg-type]


def request(**overrides: object) -> etree._Element:
    args: dict[str, object] = {
        "challenge": CHALLENGE,
        "context_type": "Nip",
        "context_value": NIP,
    }
    args.update(overrides)
    return build_auth_token_request(**args)  # type: ignore[arg-type]


def callback_for(tc: TestCertificate, seen: list[bytes]) -> Callable[[bytes], bytes]:
    key = tc.private_key

    def sign(data: bytes) -> bytes:
        seen.append(data)
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def signer_from(source: str, tc: TestCertificate, tmp_path: Path) -> XadesSigner:
    cert_pem = tc.certificate.public_bytes(serialization.Encoding.PEM)
    if source == "keys":
        return XadesSigner.from_keys(tc.certificate, tc.private_key)
    if source == "pem":
        key_pem = tc.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return XadesSigner.from_pem(cert_pem, key_pem)
    if source == "encrypted-pem-files":
        cert_path, key_path = tc.save(tmp_path, password="zaq1@WSX")
        assert b"ENCRYPTED" in key_path.read_bytes()
        return XadesSigner.from_files(cert_path, key_path, password="zaq1@WSX")
    if source == "pkcs12":
        return XadesSigner.from_pkcs12(tc.to_pkcs12("p12-pass"), b"p12-pass")
    if source == "pkcs12-file":
        path = tmp_path / "bundle.p12"
        path.write_bytes(tc.to_pkcs12(None))
        return XadesSigner.from_pkcs12_file(path, None)
    assert source == "callback"
    algorithm = "rsa-sha256" if isinstance(tc.private_key, rsa.RSAPrivateKey) else "ecdsa-sha256"
    return XadesSigner.from_callback(tc.certificate, callback_for(tc, []), algorithm=algorithm)


def xmlsec1_verify(xml: bytes, certificate: x509.Certificate, tmp_path: Path) -> tuple[int, str]:
    binary = shutil.which("xmlsec1")
    assert binary, "xmlsec1 must be installed (apt-get install xmlsec1); the suite skips nothing"
    doc = tmp_path / "signed.xml"
    cert = tmp_path / "trusted.pem"
    doc.write_bytes(xml)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    cmd = [binary, "--verify", "--enabled-key-data", "x509", "--trusted-pem", str(cert)]
    done = subprocess.run([*cmd, str(doc)], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr


def signxml_verify(xml: bytes, certificate: x509.Certificate, references: int = 2) -> None:
    config = XAdESSignatureConfiguration(expect_references=references)
    results = XAdESVerifier().verify(xml, x509_cert=certificate, expect_config=config)
    assert etree.QName(results[0].signed_xml).localname == "AuthTokenRequest"


# --- signing from every key source, three verifiers -------------------------------------

SOURCES = ["keys", "pem", "encrypted-pem-files", "pkcs12", "pkcs12-file", "callback"]


@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("source", SOURCES)
def test_every_key_source_verifies_three_ways(kind: str, source: str, tmp_path: Path) -> None:
    tc = cert_of(kind)
    signer = signer_from(source, tc, tmp_path)
    assert signer.certificate == tc.certificate
    xml = signer.sign(request(allowed_ips=["10.0.0.1"]))

    verified = verify_xades(xml)
    assert verified.certificate == tc.certificate
    assert verified.fingerprint == tc.fingerprint
    assert verified.document.findtext(f"{{{AUTH_NS_V20}}}Challenge") == CHALLENGE
    assert verified.document.find(f".//{DS}Signature") is None
    signxml_verify(xml, tc.certificate)
    code, stderr = xmlsec1_verify(xml, tc.certificate, tmp_path)
    assert code == 0, stderr
    assert "SignedInfo References (ok/all): 2/2" in stderr


def test_the_independent_verifiers_reject_a_tampered_document(tmp_path: Path) -> None:
    # Guards the three-verifier test: each verifier can say no.
    tc = cert_of("ec")
    xml = tc.signer().sign(request()).replace(NIP.encode(), b"5265877636")
    code, _stderr = xmlsec1_verify(xml, tc.certificate, tmp_path)
    assert code != 0
    with pytest.raises(Exception, match=r"[Dd]igest mismatch"):
        signxml_verify(xml, tc.certificate)
    with pytest.raises(XadesError):
        verify_xades(xml)


def test_callback_receives_the_canonical_signed_info() -> None:
    tc = cert_of("rsa")
    seen: list[bytes] = []
    signer = XadesSigner.from_callback(tc.certificate, callback_for(tc, seen))
    xml = signer.sign(request())
    assert len(seen) == 1
    assert seen[0].startswith(b"<ds:SignedInfo xmlns=")  # inclusive C14N: inherited namespaces
    root = etree.fromstring(xml)
    signed_info = root.find(f"{DS}Signature/{DS}SignedInfo")
    assert signed_info is not None
    assert etree.tostring(signed_info, method="c14n") == seen[0]
    value = base64.b64decode(root.findtext(f"{DS}Signature/{DS}SignatureValue") or "")
    public = tc.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(value, seen[0], padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("algorithm", ["rsa-pss-sha256", "rsa-sha512"])
def test_callback_with_other_rsa_methods(algorithm: str) -> None:
    tc = cert_of("rsa")
    key = tc.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    hash_alg: hashes.HashAlgorithm = hashes.SHA256() if "256" in algorithm else hashes.SHA512()
    pad: padding.AsymmetricPadding = (
        padding.PSS(padding.MGF1(hash_alg), hash_alg.digest_size)
        if "pss" in algorithm
        else padding.PKCS1v15()
    )
    signer = XadesSigner.from_callback(
        tc.certificate, lambda data: key.sign(data, pad, hash_alg), algorithm=algorithm
    )
    xml = signer.sign(request())
    assert verify_xades(xml).certificate == tc.certificate
    signxml_verify(xml, tc.certificate)  # xmlsec1 1.2.37 has no RSA-PSS


def test_ecdsa_signature_value_is_raw_r_s() -> None:
    xml = cert_of("ec").signer().sign(request())
    value = etree.fromstring(xml).findtext(f"{DS}Signature/{DS}SignatureValue")
    assert len(base64.b64decode(value or "")) == 64


def test_signature_shape_follows_the_official_client() -> None:
    tc = cert_of("rsa")
    document = request()
    when = datetime.datetime(2025, 6, 4, 10, 0, tzinfo=UTC)
    root = etree.fromstring(tc.signer().sign(document, signing_time=when))
    assert document.find(f"{DS}Signature") is None  # the input is not modified
    signature = root[-1]
    assert signature.tag == f"{DS}Signature"
    assert signature.get("Id") == "Signature"
    refs = signature.findall(f"{DS}SignedInfo/{DS}Reference")
    assert [r.get("URI") for r in refs] == ["", "#SignedProperties"]
    assert refs[1].get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    transforms = [t.get("Algorithm") for t in refs[0].iter(f"{DS}Transform")]
    assert transforms == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ]
    props = signature.find(f"{DS}Object/{XADES}QualifyingProperties")
    assert props is not None and props.get("Target") == "#Signature"
    sp = f"{XADES}SignedProperties/{XADES}SignedSignatureProperties"
    assert props.findtext(f"{sp}/{XADES}SigningTime") == "2025-06-04T10:00:00Z"
    cert = f"{sp}/{XADES}SigningCertificate/{XADES}Cert"
    der = tc.certificate.public_bytes(serialization.Encoding.DER)
    digest = props.findtext(f"{cert}/{XADES}CertDigest/{DS}DigestValue")
    assert digest == base64.b64encode(hashlib.sha256(der).digest()).decode()
    serial = props.findtext(f"{cert}/{XADES}IssuerSerial/{DS}X509SerialNumber")
    assert serial == str(tc.certificate.serial_number)
    embedded = signature.findtext(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    assert base64.b64decode(embedded or "") == der


def test_default_signing_time_is_a_minute_ago() -> None:
    before = datetime.datetime.now(UTC)
    verified = verify_xades(cert_of("ec").signer().sign(request()))
    lag = before - verified.signing_time
    assert datetime.timedelta(seconds=58) <= lag <= datetime.timedelta(seconds=62)


def test_signxml_made_xades_verifies_with_verify_xades() -> None:
    # Interop: a signature from another producer (3 references, SigningCertificateV2, C14N 1.1).
    from signxml.algorithms import SignatureMethod
    from signxml.xades.xades import XAdESSigner

    tc = cert_of("rsa")
    signed = XAdESSigner(signature_algorithm=SignatureMethod.RSA_SHA256).sign(
        request(), key=tc.private_key, cert=[tc.certificate]
    )
    verified = verify_xades(etree.tostring(signed))
    assert verified.certificate == tc.certificate
    assert verified.document.findtext(f"{{{AUTH_NS_V20}}}Challenge") == CHALLENGE


# --- verify_xades failures ---------------------------------------------------------------


def signed_rsa() -> bytes:
    return cert_of("rsa").signer().sign(request())


def codes(xml: bytes, **kwargs: object) -> int:
    with pytest.raises(XadesError) as info:
        verify_xades(xml, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, KsefError) and isinstance(info.value, ValueError)
    return info.value.code


def test_tampered_challenge_fails() -> None:
    assert codes(signed_rsa().replace(b"537A6BA15D", b"537A6BA15E")) == 9105


def test_tampered_context_identifier_fails() -> None:
    xml = signed_rsa().replace(b"<Nip>5265877635</Nip>", b"<Nip>1111111111</Nip>")
    assert codes(xml) == 9105
    renamed = signed_rsa().replace(
        b"<Nip>5265877635</Nip>", b"<InternalId>5265877635-12345</InternalId>"
    )
    assert codes(renamed) == 9105


def test_tampered_signing_time_fails() -> None:
    xml = signed_rsa()
    new = re.sub(rb"<xades:SigningTime>[^<]+<", b"<xades:SigningTime>2020-01-01T00:00:00Z<", xml)
    assert new != xml
    assert codes(new) == 9105


def test_replaced_certificate_fails_as_invalid_certificate() -> None:
    xml = signed_rsa()
    other = company_seal(NIP).certificate.public_bytes(serialization.Encoding.DER)
    new = re.sub(
        rb"<ds:X509Certificate>[^<]+<",
        b"<ds:X509Certificate>" + base64.b64encode(other) + b"<",
        xml,
    )
    assert new != xml
    assert codes(new) == 21115


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_tampered_signature_value_fails(kind: str) -> None:
    xml = cert_of(kind).signer().sign(request())
    root = etree.fromstring(xml)
    value_el = root.find(f"{DS}Signature/{DS}SignatureValue")
    assert value_el is not None and value_el.text
    value = bytearray(base64.b64decode(value_el.text))
    value[10] ^= 0x01
    value_el.text = base64.b64encode(bytes(value)).decode()
    assert codes(etree.tostring(root)) == 9105


def test_no_signature() -> None:
    xml = etree.tostring(request())
    with pytest.raises(XadesError, match="no signature") as info:
        verify_xades(xml)
    assert info.value.code == 9102


def test_two_signatures() -> None:
    once = etree.fromstring(signed_rsa())
    twice = cert_of("ec").signer().sign(once)
    with pytest.raises(XadesError, match="too many signatures") as info:
        verify_xades(twice)
    assert info.value.code == 9103


@pytest.mark.parametrize(
    "xml",
    [b"<AuthTokenRequest><Challenge>", b"", b"not xml at all", "<a/>"],
)
def test_malformed_xml(xml: bytes) -> None:
    assert codes(xml) == 9101


def test_doctype_is_rejected() -> None:
    xml = signed_rsa().replace(
        b"<AuthTokenRequest", b'<!DOCTYPE AuthTokenRequest [<!ENTITY x "y">]><AuthTokenRequest', 1
    )
    assert codes(xml) == 9101


def resign(root: etree._Element, tc: TestCertificate) -> bytes:
    """Recompute the SignatureValue after editing SignedInfo (a validly signed variant)."""
    signed_info = root.find(f"{DS}Signature/{DS}SignedInfo")
    assert signed_info is not None
    key = tc.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    value = key.sign(
        etree.tostring(signed_info, method="c14n"), padding.PKCS1v15(), hashes.SHA256()
    )
    value_el = root.find(f"{DS}Signature/{DS}SignatureValue")
    assert value_el is not None
    value_el.text = base64.b64encode(value).decode()
    return etree.tostring(root)


def test_signature_not_covering_the_document_is_rejected() -> None:
    tc = cert_of("rsa")
    root = etree.fromstring(tc.signer().sign(request()))
    signed_info = root.find(f"{DS}Signature/{DS}SignedInfo")
    assert signed_info is not None
    signed_info.remove(signed_info.findall(f"{DS}Reference")[0])
    with pytest.raises(XadesError, match="detached") as info:
        verify_xades(resign(root, tc))
    assert info.value.code == 9105


def test_detached_reference_is_rejected() -> None:
    tc = cert_of("rsa")
    root = etree.fromstring(tc.signer().sign(request()))
    reference = root.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference")
    assert reference is not None
    reference.set("URI", "https://example.com/invoice.xml")
    with pytest.raises(XadesError, match="detached") as info:
        verify_xades(resign(root, tc))
    assert info.value.code == 9105


def test_signing_time_in_the_future() -> None:
    tc = cert_of("ec")
    soon = datetime.datetime.now(UTC) + datetime.timedelta(minutes=2)
    assert verify_xades(
        tc.signer().sign(request(), signing_time=soon)
    ).signing_time == soon.replace(microsecond=0)
    later = datetime.datetime.now(UTC) + datetime.timedelta(minutes=10)
    with pytest.raises(XadesError, match="future") as info:
        verify_xades(tc.signer().sign(request(), signing_time=later))
    assert info.value.code == 9105
    assert verify_xades(tc.signer().sign(request(), signing_time=later), max_clock_skew=3600)


def test_expired_and_not_yet_valid_certificates() -> None:
    past = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    expired = company_seal(
        NIP, key="ec", not_before=past, not_after=past + datetime.timedelta(days=1)
    )
    xml = expired.signer().sign(request(), signing_time=past + datetime.timedelta(hours=1))
    with pytest.raises(XadesError, match="expired") as info:
        verify_xades(xml)
    assert info.value.code == 21115
    assert (
        verify_xades(xml, now=past + datetime.timedelta(hours=2)).certificate == expired.certificate
    )
    with pytest.raises(XadesError, match="not valid yet") as info:
        verify_xades(signed_rsa(), now=past)
    assert info.value.code == 21115


def test_weak_rsa_key_is_an_invalid_certificate() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "weak")])
    now = datetime.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    xml = XadesSigner.from_keys(cert, key).sign(request())
    signxml_verify(xml, cert)  # the signature itself is fine
    with pytest.raises(XadesError, match="2048") as info:
        verify_xades(xml)
    assert info.value.code == 21115


def test_missing_signing_certificate_property() -> None:
    xml = signed_rsa()
    new = re.sub(rb"<xades:SigningCertificate>.*</xades:SigningCertificate>", b"", xml)
    assert new != xml
    assert codes(new) == 9105


# --- AuthTokenRequest ------------------------------------------------------------------


@cache
def auth_schema(spec_dir: Path, *, patched: bool = False) -> etree.XMLSchema:
    text = (spec_dir / AUTH_XSD / "schemat_auth_v2-1.xsd").read_text(encoding="utf-8")
    if patched:
        # KSEF_API.md §17.2: the NipVatUe / PeppolId patterns carry ^ and $, which are literal
        # characters in XSD regexes; KSeF evidently reads them .NET-style as anchors.
        text = text.replace('value="^', 'value="').replace('$"/>', '"/>')
    return etree.XMLSchema(etree.fromstring(text.encode()))


def unsigned(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    for signature in root.findall(f"{DS}Signature"):
        root.remove(signature)  # the XSD declares no ds:Signature
    return root


@pytest.mark.parametrize(
    ("context_type", "value"), [("Nip", NIP), ("InternalId", "5265877635-12345")]
)
def test_request_validates_against_the_v2_1_xsd(
    spec_dir: Path, context_type: str, value: str
) -> None:
    schema = auth_schema(spec_dir)
    doc = request(
        context_type=context_type,
        context_value=value,
        namespace=AUTH_NS_V21,
        subject_identifier_type="certificateFingerprint",
        allowed_ips=[f"10.0.0.{i}" for i in range(10)],
        allowed_ranges=["222.111.0.1-222.111.0.255"],
        allowed_masks=["192.168.1.0/24"],
    )
    assert schema.validate(doc), schema.error_log
    signed = unsigned(cert_of("rsa").signer().sign(doc))
    assert schema.validate(signed), schema.error_log
    bare = request(context_type=context_type, context_value=value, namespace=AUTH_NS_V21)
    assert schema.validate(bare), schema.error_log
    assert bare.find(f"{{{AUTH_NS_V21}}}AuthorizationPolicy") is None


@pytest.mark.parametrize(
    ("context_type", "value"),
    [("NipVatUe", "5265877635-ATU12345678"), ("PeppolId", "PPL123456")],
)
def test_nip_vat_ue_and_peppol_need_the_patched_xsd(
    spec_dir: Path, context_type: str, value: str
) -> None:
    doc = request(context_type=context_type, context_value=value, namespace=AUTH_NS_V21)
    assert not auth_schema(spec_dir).validate(doc)  # the literal ^/$ of the official XSD
    patched = auth_schema(spec_dir, patched=True)
    assert patched.validate(doc), patched.error_log


def test_v2_0_namespace(spec_dir: Path) -> None:
    with pytest.raises(etree.XMLSchemaParseError):  # §17.2: "\b" is not an XSD regex
        etree.XMLSchema(etree.parse(str(spec_dir / AUTH_XSD / "schemat_auth_v2-0.xsd")))
    doc = request(allowed_ips=["1.2.3.4"])
    assert doc.nsmap == {None: AUTH_NS_V20}
    # Same structure as 2.1: the v2-1 schema accepts it once the namespace is swapped.
    swapped = etree.tostring(doc).replace(AUTH_NS_V20.encode(), AUTH_NS_V21.encode())
    assert auth_schema(spec_dir).validate(etree.fromstring(swapped))


def test_request_element_order_and_escaping() -> None:
    doc = request(challenge="a<b&c", allowed_masks=["10.0.0.0/8"], allowed_ips=["1.1.1.1"])
    names = [etree.QName(el).localname for el in doc.iter()]
    assert names == [
        "AuthTokenRequest",
        "Challenge",
        "ContextIdentifier",
        "Nip",
        "SubjectIdentifierType",
        "AuthorizationPolicy",
        "AllowedIps",
        "Ip4Address",
        "Ip4Mask",
    ]
    assert b"<Challenge>a&lt;b&amp;c</Challenge>" in etree.tostring(doc)


@pytest.mark.parametrize(
    "overrides",
    [
        {"context_type": "Pesel"},
        {"context_type": "nip"},
        {"context_value": "0123456789"},
        {"context_value": "5265877635 "},
        {"context_type": "InternalId", "context_value": NIP},
        {"context_type": "PeppolId", "context_value": "P123456789"},
        {"subject_identifier_type": "certificateSerial"},
        {"namespace": "http://ksef.mf.gov.pl/auth/token/3.0"},
        {"challenge": ""},
        {"challenge": " " + CHALLENGE},
        {"allowed_ips": [f"10.0.0.{i}" for i in range(11)]},
        {"allowed_ranges": [f"10.0.0.{i}-10.0.0.200" for i in range(11)]},
        {"allowed_masks": [f"10.0.{i}.0/24" for i in range(11)]},
        {"allowed_ips": ["256.1.1.1"]},
        {"allowed_ips": "1.2.3.4"},
        {"allowed_ranges": ["1.2.3.4–1.2.3.5"]},  # en-dash, as in the OAS example
        {"allowed_masks": ["1.2.3.0/33"]},
    ],
)
def test_request_rejects_bad_input(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        request(**overrides)


def test_ten_ips_are_allowed() -> None:
    doc = request(allowed_ips=[f"10.0.0.{i}" for i in range(10)])
    assert len(doc.findall(f".//{{{AUTH_NS_V20}}}Ip4Address")) == 10


# --- XadesSigner ------------------------------------------------------------------------


def test_repr_and_attributes_hide_the_key() -> None:
    tc = cert_of("rsa")
    signer = tc.signer()
    text = repr(signer)
    assert "Firma Testowa" in text and "rsa-sha256" in text
    key = tc.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    assert str(key.private_numbers().d)[:20] not in text
    assert not hasattr(signer, "__dict__")
    assert not any(isinstance(getattr(signer, n), rsa.RSAPrivateKey) for n in signer.__slots__)


def test_fingerprint() -> None:
    tc = cert_of("ec")
    der = tc.certificate.public_bytes(serialization.Encoding.DER)
    expected = hashlib.sha256(der).hexdigest().upper()
    assert tc.signer().fingerprint == expected == certificate_fingerprint(tc.certificate)


def test_key_must_belong_to_the_certificate() -> None:
    with pytest.raises(ConfigurationError, match="does not belong"):
        XadesSigner.from_keys(cert_of("rsa").certificate, cert_of("ec").private_key)


def test_wrong_pem_password_does_not_leak_it(tmp_path: Path) -> None:
    cert_path, key_path = cert_of("ec").save(tmp_path, password="correct-horse")
    with pytest.raises(ConfigurationError) as info:
        XadesSigner.from_files(cert_path, key_path, password="battery-staple")
    assert "battery-staple" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(ConfigurationError):
        XadesSigner.from_files(cert_path, key_path)  # encrypted, no password
    with pytest.raises(ConfigurationError):
        XadesSigner.from_pem(b"junk", key_path.read_bytes(), "correct-horse")


def test_wrong_pkcs12_password() -> None:
    with pytest.raises(ConfigurationError):
        XadesSigner.from_pkcs12(cert_of("ec").to_pkcs12("right"), "wrong")


def test_callback_algorithm_must_fit_the_certificate() -> None:
    with pytest.raises(ConfigurationError, match="EC key"):
        XadesSigner.from_callback(cert_of("rsa").certificate, bytes, algorithm="ecdsa-sha256")
    with pytest.raises(ConfigurationError, match="algorithm must be one of"):
        XadesSigner.from_callback(cert_of("rsa").certificate, bytes, algorithm="rsa-md5")


def test_naive_signing_time_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        cert_of("ec").signer().sign(request(), signing_time=datetime.datetime(2025, 1, 1))


@pytest.mark.parametrize("method", ["enveloping", "detached"])
def test_enveloping_accepted_detached_rejected(method: str) -> None:
    from signxml import methods
    from signxml.algorithms import SignatureMethod
    from signxml.xades.xades import XAdESSigner

    tc = cert_of("rsa")
    signer = XAdESSigner(
        method=getattr(methods, method), signature_algorithm=SignatureMethod.RSA_SHA256
    )
    xml = etree.tostring(signer.sign(request(), key=tc.private_key, cert=[tc.certificate]))
    if method == "detached":
        assert codes(xml) == 9105
        return
    verified = verify_xades(xml)
    assert etree.QName(verified.document).localname == "AuthTokenRequest"
    assert verified.document.findtext(f"{{{AUTH_NS_V20}}}Challenge") == CHALLENGE
    assert codes(xml.replace(CHALLENGE.encode(), CHALLENGE[:-1].encode() + b"E")) == 9105


def test_xpath_filter_instead_of_enveloped_transform(tmp_path: Path) -> None:
    tc = cert_of("rsa")
    root = etree.fromstring(tc.signer().sign(request()))
    transform = root.find(
        f"{DS}Signature/{DS}SignedInfo/{DS}Reference/{DS}Transforms/{DS}Transform"
    )
    assert transform is not None
    transform.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    etree.SubElement(transform, f"{DS}XPath").text = "not(ancestor-or-self::ds:Signature)"
    xml = resign(root, tc)
    assert verify_xades(xml).certificate == tc.certificate
    code, stderr = xmlsec1_verify(xml, tc.certificate, tmp_path)
    assert code == 0, stderr
    other = etree.fromstring(xml)
    xpath = other.find(f".//{DS}XPath")
    assert xpath is not None
    xpath.text = "not(ancestor-or-self::Signature)"
    assert codes(resign(other, tc)) == 9105
