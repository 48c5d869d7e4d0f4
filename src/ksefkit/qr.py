"""KSeF verification links (KOD I, KOD II) and their QR codes (KSEF_API.md §13.3–13.4).

Every invoice shown outside KSeF (PDF, print, e-mail) carries QR codes that point at KSeF's
verification pages:

* **KOD I** — :func:`invoice_link`: ``{qr}/invoice/{sellerNip}/{P_1 DD-MM-YYYY}/{hash}``
  where ``hash`` is the Base64URL (no padding) SHA-256 of the invoice file. Every invoice
  gets one; its label is the KSeF number once known, else ``OFFLINE``.
* **KOD II** — :func:`certificate_link`: ``{qr}/certificate/{ctxType}/{ctxValue}/{sellerNip}/
  {certSerial}/{hash}/{signature}``, only on invoices issued offline. The signature covers the
  link without its scheme and without the signature segment, made with the key of a KSeF
  certificate of type ``Offline`` (RSASSA-PSS SHA-256 salt 32, or ECDSA P-256 as P1363
  ``r‖s``; :func:`ksefkit.certificates.sign_link`). Its label is ``CERTYFIKAT``.

``{qr}`` is the QR base of the environment (:func:`qr_base_url`): ``https://qr-test.ksef.mf.gov.pl``,
``https://qr-demo.ksef.mf.gov.pl``, ``https://qr.ksef.mf.gov.pl``; the ksefkit emulator serves
the same pages under its own ``/qr`` path (``http://127.0.0.1:8765/qr`` for
``Environment.LOCAL``; any other API URL ending in ``/v2`` — an emulator on another port —
maps to ``<root>/qr``). For such plain-HTTP links the signed string drops ``http://`` the way
KSeF's drops ``https://``.

:func:`parse_link` reads a link back (:class:`InvoiceLink` / :class:`CertificateLink`);
:func:`verify_certificate_link` checks a KOD II signature against the issuer's certificate;
:func:`link_matches_invoice` checks that a link belongs to an invoice file.

Images: :func:`qr_png` and :func:`qr_svg` (the ``qr`` extra: segno + Pillow) draw the code
with error correction level M (raised to Q/H when that fits the same symbol size), a quiet
zone of 4 modules (ISO/IEC 18004) and the required label under the code.

>>> link = invoice_link(Environment.TEST, "1111111111", dt.date(2026, 2, 1),
...                     "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE")
>>> link
'https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE'
>>> parse_link(link).issue_date
datetime.date(2026, 2, 1)
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509

from ._config import Environment
from .certificates import EnrolledCertificate, serial_number_hex, sign_link, verify_link_signature
from .errors import ConfigurationError
from .identifiers import (
    INTERNAL_ID_RE,
    NIP_RE,
    NIP_VAT_UE_RE,
    PEPPOL_ID_RE,
    is_valid_ksef_number,
)

if TYPE_CHECKING:
    from .xades import PrivateKey

__all__ = [
    "CERTIFICATE_LABEL",
    "CONTEXT_TYPES",
    "OFFLINE_LABEL",
    "CertificateLink",
    "ContextType",
    "InvoiceLink",
    "certificate_link",
    "invoice_hash",
    "invoice_link",
    "invoice_link_from_xml",
    "link_matches_invoice",
    "parse_link",
    "qr_base_url",
    "qr_png",
    "qr_svg",
    "verify_certificate_link",
]

ContextType = Literal["Nip", "InternalId", "NipVatUe", "PeppolId"]

#: KOD I label while the invoice has no KSeF number yet (§13.3).
OFFLINE_LABEL = "OFFLINE"
#: KOD II label (§13.4).
CERTIFICATE_LABEL = "CERTYFIKAT"
#: Login-context types a KOD II link may name, and the pattern of each one's value.
CONTEXT_TYPES: dict[str, re.Pattern[str]] = {
    "Nip": NIP_RE,
    "InternalId": INTERNAL_ID_RE,
    "NipVatUe": NIP_VAT_UE_RE,
    "PeppolId": PEPPOL_ID_RE,
}

_SERIAL_RE = re.compile(r"^[0-9A-F]{16}$")
_DATE_RE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
#: Base64 / Base64URL of a SHA-256 digest, padding optional.
_HASH_RE = re.compile(r"^[A-Za-z0-9+/_-]{43}=?$")
_API_SUFFIX = "/v2"
#: Smallest quiet zone ISO/IEC 18004 allows around a QR code, in modules.
_MIN_BORDER = 4


@dataclass(frozen=True)
class InvoiceLink:
    """A parsed KOD I link. ``invoice_hash`` is Base64URL as in the link."""

    url: str
    base_url: str
    seller_nip: str
    issue_date: dt.date
    invoice_hash: str

    kind = "invoice"

    @property
    def invoice_hash_base64(self) -> str:
        """The hash the way the KSeF API writes it (Base64 with padding)."""
        return _standard_b64(self.invoice_hash)


@dataclass(frozen=True)
class CertificateLink:
    """A parsed KOD II link; ``signed_data`` is the string the signature covers."""

    url: str
    base_url: str
    context_type: str
    context_value: str
    seller_nip: str
    certificate_serial: str
    invoice_hash: str
    signature: str

    kind = "certificate"

    @property
    def invoice_hash_base64(self) -> str:
        """The hash the way the KSeF API writes it (Base64 with padding)."""
        return _standard_b64(self.invoice_hash)

    @property
    def signed_data(self) -> str:
        """The link without its scheme and without ``/{signature}`` (§13.4)."""
        unsigned = self.url[: -(len(self.signature) + 1)]
        return unsigned.split("://", 1)[1]


# -- environments ----------------------------------------------------------------------------


def qr_base_url(target: Environment | str) -> str:
    """The base the verification links of ``target`` start with (no trailing ``/``).

    ``target`` is an :class:`Environment`, its name, an API URL (``client.base_url``: a KSeF
    one maps to its QR host, any other ending in ``/v2`` — an emulator — to ``<root>/qr``), or
    a QR base URL used as given.

    >>> qr_base_url(Environment.PROD), qr_base_url("demo")
    ('https://qr.ksef.mf.gov.pl', 'https://qr-demo.ksef.mf.gov.pl')
    >>> qr_base_url("https://api-test.ksef.mf.gov.pl/v2"), qr_base_url("http://127.0.0.1:9000/v2/")
    ('https://qr-test.ksef.mf.gov.pl', 'http://127.0.0.1:9000/qr')
    """
    if isinstance(target, Environment):
        return target.qr_url
    if "://" not in target:
        return Environment.parse(target).qr_url
    scheme = target.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ConfigurationError(f"not an http(s) URL: {target!r}")
    url = target.rstrip("/")
    for env in Environment:
        if url == env.api_url:
            return env.qr_url
    if url.endswith(_API_SUFFIX):
        return url[: -len(_API_SUFFIX)] + "/qr"
    return url


# -- links -----------------------------------------------------------------------------------


def invoice_hash(xml: bytes) -> str:
    """Base64URL (no padding) SHA-256 of an invoice file, as links carry it.

    >>> invoice_hash(b"")
    '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU'
    """
    return _b64url(hashlib.sha256(xml).digest())


def invoice_link(
    environment: Environment | str,
    seller_nip: str,
    issue_date: dt.date | str,
    invoice: bytes | str,
) -> str:
    """KOD I: the verification link of an invoice (§13.3).

    ``issue_date`` is ``P_1`` (a date, ``YYYY-MM-DD`` or ``DD-MM-YYYY``); ``invoice`` is the
    invoice file (bytes, hashed here) or its SHA-256 as Base64 or Base64URL text.

    >>> invoice_link("TEST", "1111111111", "2026-02-01", b"<Faktura/>")  # doctest: +ELLIPSIS
    'https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/...'
    """
    base = qr_base_url(environment)
    nip = _nip(seller_nip, "seller_nip")
    day = _as_date(issue_date)
    return f"{base}/invoice/{nip}/{day:%d-%m-%Y}/{_hash_of(invoice)}"


def invoice_link_from_xml(environment: Environment | str, xml: bytes) -> str:
    """KOD I of an invoice file, with the seller NIP and ``P_1`` read from it.

    >>> from ksefkit.invoices import generate_fa3
    >>> xml = generate_fa3(seller_nip="1111111111", buyer_nip="7740001454",
    ...                    invoice_number="FV/1", issue_date=dt.date(2026, 2, 1))
    >>> invoice_link_from_xml("PROD", xml).startswith("https://qr.ksef.mf.gov.pl/invoice/111")
    True
    """
    from .invoices.facts import extract_facts

    facts = extract_facts(xml)
    if facts.seller_nip is None or facts.issue_date is None:
        raise ConfigurationError("the invoice has no seller NIP or no issue date (P_1)")
    return invoice_link(environment, facts.seller_nip, facts.issue_date, xml)


def certificate_link(
    environment: Environment | str,
    context_type: ContextType | str,
    context_value: str,
    seller_nip: str,
    certificate_serial: str | None,
    invoice: bytes | str,
    signer: EnrolledCertificate | PrivateKey,
) -> str:
    """KOD II: the signed certificate link of an offline invoice (§13.4).

    ``context_type``/``context_value`` name the issuer's login context; ``signer`` is the
    ``Offline`` KSeF certificate with its key (an :class:`EnrolledCertificate`; its serial is
    used when ``certificate_serial`` is None) or a bare private key (then the serial is
    required and the caller answers for the certificate being of type ``Offline``). An
    ``Authentication`` certificate is refused: KSeF rejects its links.

    >>> cert = client.certificates.enroll_and_wait(  # doctest: +SKIP
    ...     "QR codes", certificate_type="Offline")
    >>> certificate_link("TEST", "Nip", nip, nip, None, xml, cert)  # doctest: +SKIP
    'https://qr-test.ksef.mf.gov.pl/certificate/Nip/.../...'
    """
    base = qr_base_url(environment)
    if context_type not in CONTEXT_TYPES:
        choices = ", ".join(CONTEXT_TYPES)
        raise ConfigurationError(f"context_type must be one of {choices}, not {context_type!r}")
    if not CONTEXT_TYPES[context_type].match(context_value):
        raise ConfigurationError(f"{context_value!r} is not a valid {context_type}")
    nip = _nip(seller_nip, "seller_nip")
    serial = _serial(certificate_serial, signer)
    unsigned = (
        f"{base}/certificate/{context_type}/{context_value}/{nip}/{serial}/{_hash_of(invoice)}"
    )
    data = unsigned.split("://", 1)[1]
    if isinstance(signer, EnrolledCertificate):
        signature = signer.sign_link(data)  # refuses a certificate that is not Offline
    else:
        signature = sign_link(signer, data)
    return f"{unsigned}/{signature}"


def parse_link(url: str) -> InvoiceLink | CertificateLink:
    """Read a KOD I or KOD II link back; ConfigurationError if it is neither.

    The path is read from its end, so any base works (a KSeF QR host or the emulator's
    ``/qr``). Every segment is checked: NIPs, the date, the hash (32 bytes), the context
    identifier, the serial number (16 upper-case hex digits) and the signature's encoding.

    >>> parse_link("https://qr.ksef.mf.gov.pl/invoice/1111111111/31-02-2026/x")
    Traceback (most recent call last):
    ...
    ksefkit.errors.ConfigurationError: not a KSeF verification link: bad issue date '31-02-2026'
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        raise _not_a_link("no http(s) scheme")
    parts = rest.split("/")
    if len(parts) >= 8 and parts[-7] == "certificate":
        ctx_type, ctx_value, nip, serial, hash_, signature = parts[-6:]
        if ctx_type not in CONTEXT_TYPES:
            raise _not_a_link(f"unknown context type {ctx_type[:20]!r}")
        if not CONTEXT_TYPES[ctx_type].match(ctx_value):
            raise _not_a_link(f"{ctx_value[:40]!r} is not a valid {ctx_type}")
        if not _SERIAL_RE.match(serial):
            raise _not_a_link(f"bad certificate serial number {serial[:40]!r}")
        if not (_B64URL_RE.match(signature) and _b64url_bytes(signature)):
            raise _not_a_link("the signature is not Base64URL")
        return CertificateLink(
            url,
            f"{scheme}://{'/'.join(parts[:-7])}",
            ctx_type,
            ctx_value,
            _link_nip(nip),
            serial,
            _link_hash(hash_),
            signature,
        )
    if len(parts) >= 5 and parts[-4] == "invoice":
        nip, day, hash_ = parts[-3:]
        return InvoiceLink(
            url,
            f"{scheme}://{'/'.join(parts[:-4])}",
            _link_nip(nip),
            _link_date(day),
            _link_hash(hash_),
        )
    raise _not_a_link("neither /invoice/… nor /certificate/…")


def verify_certificate_link(url: str, certificate: x509.Certificate | EnrolledCertificate) -> bool:
    """Whether a KOD II link names ``certificate`` and its signature verifies with the
    certificate's public key (RSA-PSS, or ECDSA as P1363 or DER). Raises ConfigurationError
    when ``url`` is not a KOD II link at all.

    It checks the cryptography only; validity, revocation and the issuer's permissions are
    what KSeF's page adds (the emulator's ``/qr/certificate/...`` does the same).

    >>> verify_certificate_link(link, offline.certificate)  # doctest: +SKIP
    True
    """
    link = parse_link(url)
    if not isinstance(link, CertificateLink):
        raise ConfigurationError("not a KOD II (certificate) link")
    cert = certificate.certificate if isinstance(certificate, EnrolledCertificate) else certificate
    if link.certificate_serial != serial_number_hex(cert):
        return False
    return verify_link_signature(cert.public_key(), link.signed_data, link.signature)


def link_matches_invoice(url: str, xml: bytes) -> bool:
    """Whether a KOD I or KOD II link belongs to this invoice file: same SHA-256, same
    seller NIP and (KOD I) the same issue date ``P_1``.

    >>> from ksefkit.invoices import generate_fa3
    >>> xml = generate_fa3(seller_nip="1111111111", buyer_nip="7740001454",
    ...                    invoice_number="FV/1", issue_date=dt.date(2026, 2, 1))
    >>> link_matches_invoice(invoice_link_from_xml("TEST", xml), xml)
    True
    >>> link_matches_invoice(invoice_link_from_xml("TEST", xml), xml + b" ")
    False
    """
    from .invoices.facts import extract_facts

    link = parse_link(url)
    if link.invoice_hash != invoice_hash(xml):
        return False
    facts = extract_facts(xml)
    if facts.seller_nip != link.seller_nip:
        return False
    return not isinstance(link, InvoiceLink) or facts.issue_date == link.issue_date


# -- images ----------------------------------------------------------------------------------


def qr_png(link: str, label: str | None = None, *, scale: int = 6, border: int = 4) -> bytes:
    """The QR code of ``link`` as a PNG with its label underneath (the ``qr`` extra).

    ``label`` defaults to what the rules require: ``OFFLINE`` for KOD I (pass the KSeF number
    once the invoice has one) and ``CERTYFIKAT`` for KOD II, which allows nothing else.
    ``scale`` is pixels per module, ``border`` the quiet zone in modules (at least 4).

    >>> png = qr_png(link, ksef_number)  # doctest: +SKIP
    """
    text = _label(link, label)
    rows = _matrix(link, border)
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise _missing_extra("Pillow") from None
    if scale < 1:
        raise ConfigurationError("scale must be at least 1 pixel per module")
    size = len(rows)
    modules = Image.frombytes(
        "L", (size, size), bytes(0 if dark else 255 for row in rows for dark in row)
    )
    width = size * scale
    font: Any = None
    for px in range(max(3 * scale, 12), 7, -1):  # the largest font the width takes
        font = ImageFont.load_default(size=px)
        left, _, right, _ = font.getbbox(text)
        if right - left <= width - 2 * scale:
            break
    left, top, right, bottom = font.getbbox(text)
    # the ink starts where the quiet zone ends (never inside it), a margin below
    label_height = bottom - top + max(scale, 4)
    image = Image.new("L", (width, width + label_height), 255)
    image.paste(modules.resize((width, width), Image.Resampling.NEAREST), (0, 0))
    draw = ImageDraw.Draw(image)
    draw.text(((width - (right - left)) / 2 - left, width - top), text, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def qr_svg(link: str, label: str | None = None, *, scale: int = 6, border: int = 4) -> str:
    """The QR code of ``link`` as an SVG document with its label underneath (the ``qr``
    extra). Same rules as :func:`qr_png`; dark modules are one ``<path>`` of unit squares
    (``M{x} {y}h{run}v1h-{run}z`` per horizontal run, in module units), the label a
    ``<text>`` element.

    >>> svg = qr_svg(link)  # doctest: +SKIP
    """
    text = _label(link, label)
    rows = _matrix(link, border)
    if scale < 1:
        raise ConfigurationError("scale must be at least 1 pixel per module")
    size = len(rows)
    # sans-serif glyphs average ~0.6 em: pick the font size that fits the symbol's width
    font = min(2.5, (size - 2) / (0.6 * len(text)))
    # capitals and digits only: ascent ~0.75 em above the baseline, nothing below it
    baseline = size + font * 0.8
    height = baseline + font * 0.4
    runs: list[str] = []
    for y, row in enumerate(rows):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (
        '<svg xmlns="http://www.w3.org/2000/svg"'
        f' width="{size * scale}" height="{_num(height * scale)}"'
        f' viewBox="0 0 {size} {_num(height)}">'
        f"<title>{escape(link)}</title>"
        '<rect width="100%" height="100%" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/>'
        f'<text x="{_num(size / 2)}" y="{_num(baseline)}" text-anchor="middle"'
        f' font-family="Arial, Helvetica, sans-serif" font-size="{_num(font)}"'
        f" data-label={quoteattr(text)}>{escape(text)}</text>"
        "</svg>\n"
    )


def _label(link: str, label: str | None) -> str:
    parsed = parse_link(link)
    if isinstance(parsed, CertificateLink):
        if label not in (None, CERTIFICATE_LABEL):
            raise ConfigurationError(
                f"a KOD II code is labelled {CERTIFICATE_LABEL}, not {label!r}"
            )
        return CERTIFICATE_LABEL
    if label is None or label == OFFLINE_LABEL:
        return OFFLINE_LABEL
    if not is_valid_ksef_number(label):
        raise ConfigurationError(
            f"a KOD I code is labelled with the KSeF number or {OFFLINE_LABEL}, not {label!r}"
        )
    return label


def _matrix(link: str, border: int) -> list[list[bool]]:
    try:
        import segno
    except ImportError:
        raise _missing_extra("segno") from None
    if border < _MIN_BORDER:
        raise ConfigurationError(f"the quiet zone must be at least {_MIN_BORDER} modules")
    code = segno.make(link, error="m", micro=False)
    return [[bool(v) for v in row] for row in code.matrix_iter(scale=1, border=border)]


def _missing_extra(package: str) -> ConfigurationError:
    return ConfigurationError(
        f"QR images need {package}: install the qr extra (pip install 'ksefkit[qr]')"
    )


def _num(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


# -- helpers ---------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_bytes(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def _standard_b64(b64url: str) -> str:
    return base64.b64encode(_b64url_bytes(b64url)).decode("ascii")


def _hash_of(invoice: bytes | str) -> str:
    """Base64URL SHA-256 from an invoice file or a Base64/Base64URL hash."""
    if isinstance(invoice, bytes | bytearray | memoryview):
        return invoice_hash(bytes(invoice))
    text = invoice.strip()
    if _HASH_RE.match(text):
        raw = _b64url_bytes(text.replace("+", "-").replace("/", "_"))
        if len(raw) == 32:
            return _b64url(raw)
    raise ConfigurationError(
        "invoice must be the invoice file (bytes) or its SHA-256 as Base64/Base64URL text"
    )


def _nip(value: str, field: str) -> str:
    if not NIP_RE.match(value):
        raise ConfigurationError(f"{field}: {value!r} is not a NIP (10 digits)")
    return value


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        if _DATE_RE.match(value):
            return dt.datetime.strptime(value, "%d-%m-%Y").date()
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"issue_date: {value!r} is not a date") from None


def _serial(serial: str | None, signer: object) -> str:
    own = signer.serial_number if isinstance(signer, EnrolledCertificate) else None
    if serial is None:
        if own is None:
            raise ConfigurationError("certificate_serial is required when signing with a bare key")
        serial = own
    serial = serial.upper()
    if not _SERIAL_RE.match(serial):
        raise ConfigurationError(f"{serial!r} is not a KSeF certificate serial (16 hex digits)")
    if own is not None and own.upper() != serial:
        raise ConfigurationError(f"certificate_serial {serial} is not the signer's ({own})")
    return serial


def _not_a_link(reason: str) -> ConfigurationError:
    return ConfigurationError(f"not a KSeF verification link: {reason}")


def _link_nip(value: str) -> str:
    if not NIP_RE.match(value):
        raise _not_a_link(f"bad seller NIP {value[:20]!r}")
    return value


def _link_date(value: str) -> dt.date:
    try:
        if not _DATE_RE.match(value):
            raise ValueError(value)
        return dt.datetime.strptime(value, "%d-%m-%Y").date()
    except ValueError:
        raise _not_a_link(f"bad issue date {value[:20]!r}") from None


def _link_hash(value: str) -> str:
    if not (_B64URL_RE.match(value) and len(value) == 43 and len(_b64url_bytes(value)) == 32):
        raise _not_a_link(f"bad invoice hash {value[:50]!r}")
    return value
