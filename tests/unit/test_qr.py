"""ksefkit.qr: KOD I / KOD II links against KSEF_API.md §13.3–13.4, signatures checked with
``cryptography`` directly, QR images read back by an independent decoder (zxing-cpp)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import sys
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from PIL import Image

from ksefkit import Environment
from ksefkit.certificates import (
    EnrolledCertificate,
    generate_private_key,
    ksef_certificate_type,
    verify_link_signature,
)
from ksefkit.errors import ConfigurationError
from ksefkit.invoices import generate_fa3
from ksefkit.qr import (
    CertificateLink,
    InvoiceLink,
    certificate_link,
    invoice_hash,
    invoice_link,
    invoice_link_from_xml,
    link_matches_invoice,
    parse_link,
    qr_base_url,
    qr_png,
    qr_svg,
    verify_certificate_link,
)

#: The examples of KSEF_API.md §13.3–13.4.
NIP = "1111111111"
HASH = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
SERIAL = "01F20A5D352AE590"
KOD1 = f"https://qr-test.ksef.mf.gov.pl/invoice/{NIP}/01-02-2026/{HASH}"
SIGNED = f"qr-test.ksef.mf.gov.pl/certificate/Nip/{NIP}/{NIP}/{SERIAL}/{HASH}"
KSEF_NUMBER = "5265877635-20250626-010080DD2B5E-26"


def offline_certificate(
    key_type: str = "ec", serial: int = int(SERIAL, 16), usage: str = "Offline"
) -> EnrolledCertificate:
    """A certificate shaped like a KSeF one (nonRepudiation for Offline)."""
    key = generate_private_key(key_type)  # type: ignore[arg-type]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Faktury offline")])
    now = dt.datetime.now(dt.UTC)
    offline = usage == "Offline"
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(
                digital_signature=not offline,
                content_commitment=offline,
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
    return EnrolledCertificate(cert, key, f"{serial:016X}", "Faktury offline", usage)


def decode(image: Image.Image) -> list[str]:
    return [str(code.text) for code in zxingcpp.read_barcodes(image)]


def png_image(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return Image.open(io.BytesIO(data))


def svg_raster(svg: str, pixels: int = 6) -> Image.Image:
    """Rasterise the module path of our SVG (its only dark shapes) without an SVG library."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    _, _, width, _ = (float(v) for v in root.attrib["viewBox"].split())
    size = int(width)
    path = root.find("s:path", ns)
    assert path is not None
    image = Image.new("L", (size * pixels, size * pixels), 255)
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", path.attrib["d"])
    assert "".join(f"M{x} {y}h{n}v1h-{m}z" for x, y, n, m in runs) == path.attrib["d"]
    for x, y, n, _ in runs:
        x0, y0 = int(x) * pixels, int(y) * pixels
        image.paste(0, (x0, y0, x0 + int(n) * pixels, y0 + pixels))
    return image


# -- links -----------------------------------------------------------------------------------


def test_kod1_is_the_spec_example() -> None:
    assert invoice_link(Environment.TEST, NIP, dt.date(2026, 2, 1), HASH) == KOD1
    # a Base64 (not URL-safe, padded) hash and the other date forms give the same link
    std = base64.b64encode(base64.urlsafe_b64decode(HASH + "=")).decode()
    assert invoice_link("TE", NIP, "2026-02-01", std) == KOD1
    assert invoice_link("test", NIP, "01-02-2026", HASH) == KOD1
    assert invoice_link("TEST", NIP, dt.datetime(2026, 2, 1, 23, 59), HASH) == KOD1


def test_kod1_hashes_the_invoice_file() -> None:
    xml = generate_fa3(
        seller_nip=NIP,
        buyer_nip="7740001454",
        invoice_number="FV/1",
        issue_date=dt.date(2026, 2, 1),
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(xml).digest()).rstrip(b"=").decode()
    assert invoice_hash(xml) == digest and "=" not in digest and len(digest) == 43
    link = invoice_link("PROD", NIP, dt.date(2026, 2, 1), xml)
    assert link == f"https://qr.ksef.mf.gov.pl/invoice/{NIP}/01-02-2026/{digest}"
    assert invoice_link_from_xml("PROD", xml) == link
    assert link_matches_invoice(link, xml)
    assert not link_matches_invoice(link, xml.replace(b"FV/1", b"FV/2"))
    other_day = invoice_link("PROD", NIP, dt.date(2026, 2, 2), xml)
    assert not link_matches_invoice(other_day, xml)


@pytest.mark.parametrize(
    ("target", "base"),
    [
        (Environment.TEST, "https://qr-test.ksef.mf.gov.pl"),
        (Environment.DEMO, "https://qr-demo.ksef.mf.gov.pl"),
        (Environment.PROD, "https://qr.ksef.mf.gov.pl"),
        (Environment.LOCAL, "http://127.0.0.1:8765/qr"),
        ("prd", "https://qr.ksef.mf.gov.pl"),
        ("https://api-demo.ksef.mf.gov.pl/v2", "https://qr-demo.ksef.mf.gov.pl"),
        ("http://127.0.0.1:40123/v2", "http://127.0.0.1:40123/qr"),
        ("https://ksef.example.com/verify/", "https://ksef.example.com/verify"),
    ],
)
def test_every_environment_has_its_qr_base(target: Environment | str, base: str) -> None:
    assert qr_base_url(target) == base
    link = invoice_link(target, NIP, dt.date(2026, 2, 1), HASH)
    assert link == f"{base}/invoice/{NIP}/01-02-2026/{HASH}"
    parsed = parse_link(link)
    assert isinstance(parsed, InvoiceLink) and parsed.base_url == base


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_kod2_signs_exactly_the_spec_string(key_type: str) -> None:
    cert = offline_certificate(key_type)
    link = certificate_link("TEST", "Nip", NIP, NIP, SERIAL, HASH, cert)
    assert link.startswith(f"https://{SIGNED}/")
    parsed = parse_link(link)
    assert isinstance(parsed, CertificateLink) and parsed.signed_data == SIGNED
    raw = base64.urlsafe_b64decode(parsed.signature + "=" * (-len(parsed.signature) % 4))
    key = cert.certificate.public_key()
    data = SIGNED.encode()
    if isinstance(key, rsa.RSAPublicKey):
        assert len(raw) == 256
        key.verify(raw, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        with pytest.raises(InvalidSignature):  # the salt is exactly 32 bytes
            key.verify(raw, data, padding.PSS(padding.MGF1(hashes.SHA256()), 64), hashes.SHA256())
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey) and len(raw) == 64  # P1363 r‖s
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    assert verify_certificate_link(link, cert) and verify_certificate_link(link, cert.certificate)
    # the serial defaults to the certificate's own, in any case
    assert certificate_link("TEST", "Nip", NIP, NIP, None, HASH, cert).startswith(
        f"https://{SIGNED}/"
    )
    assert certificate_link("TEST", "Nip", NIP, NIP, SERIAL.lower(), HASH, cert).startswith(
        f"https://{SIGNED}/"
    )


def test_kod2_ecdsa_der_signatures_verify_too() -> None:
    cert = offline_certificate("ec")
    assert isinstance(cert.private_key, ec.EllipticCurvePrivateKey)
    der = cert.private_key.sign(SIGNED.encode(), ec.ECDSA(hashes.SHA256()))
    signature = base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    assert verify_certificate_link(f"https://{SIGNED}/{signature}", cert)
    assert verify_link_signature(cert.certificate.public_key(), SIGNED, signature)
    assert not verify_link_signature(cert.certificate.public_key(), SIGNED + "x", signature)


def test_kod2_with_a_bare_key_and_other_contexts() -> None:
    key = generate_private_key("ec")
    link = certificate_link("DEMO", "InternalId", "5265877635-00002", NIP, SERIAL, HASH, key)
    parsed = parse_link(link)
    assert isinstance(parsed, CertificateLink)
    assert (parsed.context_type, parsed.context_value) == ("InternalId", "5265877635-00002")
    assert verify_link_signature(key.public_key(), parsed.signed_data, parsed.signature)
    for ctx_type, value in (("NipVatUe", "5265877635-ATU12345678"), ("PeppolId", "PPL123456")):
        parsed = parse_link(certificate_link("PROD", ctx_type, value, NIP, SERIAL, HASH, key))
        assert isinstance(parsed, CertificateLink) and parsed.context_value == value


def test_local_kod2_signs_without_the_http_scheme() -> None:
    cert = offline_certificate()
    link = certificate_link("http://127.0.0.1:9000/v2", "Nip", NIP, NIP, None, HASH, cert)
    assert link.startswith("http://127.0.0.1:9000/qr/certificate/Nip/")
    parsed = parse_link(link)
    assert isinstance(parsed, CertificateLink)
    assert parsed.signed_data == f"127.0.0.1:9000/qr/certificate/Nip/{NIP}/{NIP}/{SERIAL}/{HASH}"
    assert verify_certificate_link(link, cert)


def test_forged_kod2_links_do_not_verify() -> None:
    cert = offline_certificate("rsa")
    link = certificate_link("TEST", "Nip", NIP, NIP, None, HASH, cert)
    parsed = parse_link(link)
    assert isinstance(parsed, CertificateLink)
    other_hash = base64.urlsafe_b64encode(hashlib.sha256(b"x").digest()).rstrip(b"=").decode()
    forgeries = [
        link.replace(HASH, other_hash),  # another invoice under the same signature
        link.replace(f"/{NIP}/{SERIAL}", f"/7740001454/{SERIAL}"),  # another seller
        link.replace("qr-test.", "qr-demo."),  # another environment
        link[:-2] + ("AA" if not link.endswith("AA") else "BB"),  # a tampered signature
    ]
    for forged in forgeries:
        assert not verify_certificate_link(forged, cert), forged
    # the right signature, checked against another certificate (same serial, other key)
    assert not verify_certificate_link(link, offline_certificate("rsa"))
    # another certificate's serial
    assert not verify_certificate_link(link, offline_certificate("rsa", serial=5))
    with pytest.raises(ConfigurationError):
        verify_certificate_link(KOD1, cert)


def test_kod2_refuses_an_authentication_certificate_and_bad_input() -> None:
    login = offline_certificate(usage="Authentication")
    with pytest.raises(ConfigurationError, match="Offline"):
        certificate_link("TEST", "Nip", NIP, NIP, None, HASH, login)
    cert = offline_certificate()
    bad = [
        dict(context_type="Pesel"),
        dict(context_value="123"),
        dict(seller_nip="0123456789"),
        dict(certificate_serial="0182"),
        dict(certificate_serial="0123456789ABCDEF"),  # not the signer's serial
        dict(invoice="not a hash"),
        dict(invoice=base64.b64encode(b"x" * 31).decode()),
    ]
    for change in bad:
        args = dict(
            environment="TEST",
            context_type="Nip",
            context_value=NIP,
            seller_nip=NIP,
            certificate_serial=None,
            invoice=HASH,
            signer=cert,
        )
        args.update(change)
        with pytest.raises(ConfigurationError):
            certificate_link(**args)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="required"):
        certificate_link("TEST", "Nip", NIP, NIP, None, HASH, generate_private_key())


def test_certificate_type_comes_from_key_usage(tmp_path) -> None:
    offline, login = offline_certificate(), offline_certificate(usage="Authentication")
    assert ksef_certificate_type(offline.certificate) == "Offline"
    assert ksef_certificate_type(login.certificate) == "Authentication"
    cert_path, key_path = offline.save(tmp_path)
    loaded = EnrolledCertificate.load(cert_path, key_path)
    assert loaded.certificate_type == "Offline"  # PEM files do not carry KSeF's type
    assert verify_certificate_link(
        certificate_link("TEST", "Nip", NIP, NIP, None, HASH, loaded), offline
    )


@pytest.mark.parametrize(
    "url",
    [
        "qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + HASH,  # no scheme
        "ftp://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + HASH,
        "https://qr-test.ksef.mf.gov.pl/faktura/1111111111/01-02-2026/" + HASH,
        "https://qr-test.ksef.mf.gov.pl/invoice/111111111/01-02-2026/" + HASH,  # 9 digits
        "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/2026-02-01/" + HASH,
        "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/30-02-2026/" + HASH,
        "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + HASH[:-1],
        "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/" + HASH + "=",
        f"https://{SIGNED.replace('/Nip/', '/Pesel/')}/c2ln",
        f"https://{SIGNED.replace(SERIAL, SERIAL.lower())}/c2ln",
        f"https://{SIGNED}/c2!n",
        f"https://{SIGNED}/",
    ],
)
def test_malformed_links_are_not_parsed(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not a KSeF verification link"):
        parse_link(url)


def test_parse_link_reads_every_field() -> None:
    parsed = parse_link(KOD1)
    assert parsed == InvoiceLink(
        KOD1, "https://qr-test.ksef.mf.gov.pl", NIP, dt.date(2026, 2, 1), HASH
    )
    assert (
        parsed.invoice_hash_base64
        == base64.b64encode(base64.urlsafe_b64decode(HASH + "=")).decode()
    )
    kod2 = parse_link(f"https://{SIGNED}/c2ln")
    assert isinstance(kod2, CertificateLink)
    assert (kod2.context_type, kod2.context_value, kod2.seller_nip) == ("Nip", NIP, NIP)
    assert (kod2.certificate_serial, kod2.invoice_hash, kod2.signature) == (SERIAL, HASH, "c2ln")


# -- images ----------------------------------------------------------------------------------


def test_png_codes_decode_to_the_exact_links() -> None:
    cert = offline_certificate("rsa")
    kod2 = certificate_link("TEST", "Nip", NIP, NIP, None, HASH, cert)
    for link, label in ((KOD1, KSEF_NUMBER), (KOD1, None), (kod2, None), (kod2, "CERTYFIKAT")):
        image = png_image(qr_png(link, label))
        [code] = zxingcpp.read_barcodes(image)
        assert code.text == link
        assert code.format == zxingcpp.BarcodeFormat.QRCode
        assert code.ec_level in ("M", "Q", "H")


def test_png_keeps_the_quiet_zone_and_puts_the_label_below() -> None:
    scale = 4
    image = png_image(qr_png(KOD1, KSEF_NUMBER, scale=scale, border=4))
    pixels = image.convert("L").load()
    width, height = image.size
    assert height > width  # the label is under the square symbol
    quiet = 4 * scale
    for y in [*range(quiet), *range(width - quiet, width)]:
        assert all(pixels[x, y] == 255 for x in range(width)), y
    for x in [*range(quiet), *range(width - quiet, width)]:
        assert all(pixels[x, y] == 255 for y in range(width)), x
    label_rows = [y for y in range(width, height) if any(pixels[x, y] < 128 for x in range(width))]
    assert label_rows, "the label is drawn"
    # a wider quiet zone and a bigger scale still decode
    assert decode(png_image(qr_png(KOD1, scale=10, border=8))) == [KOD1]


def test_svg_codes_decode_to_the_exact_links_and_carry_the_label() -> None:
    cert = offline_certificate("ec")
    kod2 = certificate_link("DEMO", "Nip", NIP, NIP, None, HASH, cert)
    for link, label, shown in (
        (KOD1, KSEF_NUMBER, KSEF_NUMBER),
        (KOD1, None, "OFFLINE"),
        (kod2, None, "CERTYFIKAT"),
    ):
        svg = qr_svg(link, label)
        assert decode(svg_raster(svg)) == [link]
        root = ET.fromstring(svg)
        text = root.find("{http://www.w3.org/2000/svg}text")
        assert text is not None and text.text == shown
        assert root.find("{http://www.w3.org/2000/svg}title").text == link  # type: ignore[union-attr]


def test_svg_and_png_draw_the_same_symbol() -> None:
    scale = 6
    png = png_image(qr_png(KOD1, scale=scale)).convert("L")
    svg = svg_raster(qr_svg(KOD1, scale=scale), pixels=scale)
    size = svg.size[0]
    assert png.crop((0, 0, size, size)).tobytes() == svg.tobytes()


def test_labels_follow_the_rules() -> None:
    kod2 = certificate_link("TEST", "Nip", NIP, NIP, None, HASH, offline_certificate())
    with pytest.raises(ConfigurationError, match="CERTYFIKAT"):
        qr_png(kod2, KSEF_NUMBER)
    with pytest.raises(ConfigurationError, match="KSeF number"):
        qr_svg(KOD1, "FV/1/2026")
    with pytest.raises(ConfigurationError, match="quiet zone"):
        qr_png(KOD1, border=2)
    with pytest.raises(ConfigurationError, match="not a KSeF verification link"):
        qr_png("https://example.com/")


def test_missing_qr_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "segno", None)
    with pytest.raises(ConfigurationError, match=r"ksefkit\[qr\]"):
        qr_svg(KOD1)
    monkeypatch.delitem(sys.modules, "segno")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ConfigurationError, match="Pillow"):
        qr_png(KOD1)
