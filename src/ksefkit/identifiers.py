"""Identifiers KSeF uses and checks: CRC-8, KSeF numbers, reference numbers, NIP, InternalId.

Everything here is pure. The CRC-8 (poly 0x07, init 0, CRC-8/SMBUS) is the checksum of KSeF
invoice numbers (documented) and, as observed in the official examples, of reference numbers.

>>> is_valid_ksef_number("5265877635-20250826-0100001AF629-AF")
True
>>> is_valid_reference_number("20250625-SO-2C3E6C8000-B675CF5D68-07", check_crc=True)
True
"""

from __future__ import annotations

import datetime
import random as _random
import re
import secrets

__all__ = [
    "INTERNAL_ID_RE",
    "KSEF_NUMBER_RE",
    "KSEF_NUMBER_V1_RE",
    "NIP_RE",
    "NIP_VAT_UE_RE",
    "PEPPOL_ID_RE",
    "PESEL_RE",
    "REFERENCE_NUMBER_RE",
    "VAT_UE_RE",
    "crc8",
    "internal_id_check_digit",
    "is_valid_internal_id",
    "is_valid_ksef_number",
    "is_valid_nip",
    "is_valid_reference_number",
    "ksef_number_checksum",
    "make_internal_id",
    "make_ksef_number",
    "make_reference_number",
    "nip_checksum_ok",
    "random_nip",
]

_NIP = r"[1-9]((\d[1-9])|([1-9]\d))\d{7}"
_YEAR = r"(20[2-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})"
_MONTH_DAY = r"(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"

#: ``Nip`` (OAS): 10 digits, no leading zero.
NIP_RE = re.compile(rf"^{_NIP}$")
#: ``Pesel`` (OAS): 11 digits with a plausible (century-encoded) month.
PESEL_RE = re.compile(
    r"^\d{2}(?:0[1-9]|1[0-2]|2[1-9]|3[0-2]|4[1-9]|5[0-2]|6[1-9]|7[0-2]|8[1-9]|9[0-2])\d{7}$"
)
#: ``InternalId`` (OAS): ``{nip}-{5 digits}``; the last digit is a check digit.
INTERNAL_ID_RE = re.compile(rf"^{_NIP}-\d{{5}}$")
#: The EU VAT number part of ``NipVatUe`` (also used by ``vatUeIdentifier`` filters).
VAT_UE_RE = re.compile(
    r"^(ATU\d{8}|BE[01]{1}\d{9}|BG\d{9,10}|CY\d{8}[A-Z]|CZ\d{8,10}|DE\d{9}|DK\d{8}|EE\d{9}"
    r"|EL\d{9}|ES([A-Z]\d{8}|\d{8}[A-Z]|[A-Z]\d{7}[A-Z])|FI\d{8}|FR[A-Z0-9]{2}\d{9}|HR\d{11}"
    r"|HU\d{8}|IE(\d{7}[A-Z]{2}|\d[A-Z0-9+*]\d{5}[A-Z])|IT\d{11}|LT(\d{9}|\d{12})|LU\d{8}"
    r"|LV\d{11}|MT\d{8}|NL[A-Z0-9+*]{12}|PT\d{9}|RO\d{2,10}|SE\d{12}|SI\d{8}|SK\d{10}"
    r"|XI((\d{9}|\d{12})|(GD|HA)\d{3}))$"
)
#: ``NipVatUe`` (OAS): ``{nip}-{EU VAT number}``.
NIP_VAT_UE_RE = re.compile(rf"^{_NIP}-" + VAT_UE_RE.pattern[1:])
#: ``PeppolId`` (OAS): ``P`` + 2 letters + 6 digits.
PEPPOL_ID_RE = re.compile(r"^P[A-Z]{2}[0-9]{6}$")
#: KSeF 2.0 invoice number: NIP-YYYYMMDD-12 hex-2 hex CRC (35 chars).
KSEF_NUMBER_RE = re.compile(rf"^{_NIP}-{_YEAR}{_MONTH_DAY}-[0-9A-F]{{12}}-[0-9A-F]{{2}}$")
#: ``KsefNumber`` (OAS) also accepts the 36-char KSeF 1.0 form.
KSEF_NUMBER_V1_RE = re.compile(
    rf"^({_NIP})-{_YEAR}{_MONTH_DAY}-([0-9A-F]{{6}})-?([0-9A-F]{{6}})-([0-9A-F]{{2}})$"
)
#: ``ReferenceNumber`` (UPO XSD): ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC``.
REFERENCE_NUMBER_RE = re.compile(
    rf"^{_YEAR}{_MONTH_DAY}-[0-9A-Z]{{2}}-[0-9A-F]{{10}}-[0-9A-F]{{10}}-[0-9A-F]{{2}}$"
)

_NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_TYPE_CODE_RE = re.compile(r"^[0-9A-Z]{2}$")
_HEX_RE = re.compile(r"^[0-9A-F]+$")


def _crc8_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        c = byte
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        table.append(c)
    return tuple(table)


_CRC8_TABLE = _crc8_table()


def crc8(data: bytes) -> int:
    """CRC-8 with polynomial 0x07, init 0, no reflection, no final XOR (CRC-8/SMBUS).

    >>> hex(crc8(b"123456789"))
    '0xf4'
    """
    c = 0
    for b in data:
        c = _CRC8_TABLE[c ^ b]
    return c


def ksef_number_checksum(data32: str) -> str:
    """The 2 upper-case hex digits that end a KSeF number, over its first 32 characters.

    >>> ksef_number_checksum("5265877635-20250826-0100001AF629")
    'AF'
    """
    return f"{crc8(data32.encode('ascii')):02X}"


def _upper_hex(value: str | None, length: int, what: str) -> str:
    if value is None:
        return secrets.token_hex(length // 2 + 1).upper()[:length]
    value = value.upper()
    if len(value) != length or not _HEX_RE.match(value):
        raise ValueError(f"{what} must be {length} hex characters, got {value!r}")
    return value


def make_ksef_number(seller_nip: str, day: datetime.date, technical: str | None = None) -> str:
    """A KSeF 2.0 invoice number for ``seller_nip`` accepted on ``day``.

    ``technical`` is the 12-hex middle part (random when None).

    >>> make_ksef_number("5265877635", datetime.date(2025, 8, 26), "0100001AF629")
    '5265877635-20250826-0100001AF629-AF'
    """
    if not NIP_RE.match(seller_nip):
        raise ValueError(f"not a NIP: {seller_nip!r}")
    data = f"{seller_nip}-{day:%Y%m%d}-{_upper_hex(technical, 12, 'technical part')}"
    return f"{data}-{ksef_number_checksum(data)}"


def is_valid_ksef_number(value: str) -> bool:
    """True for a 35-char KSeF 2.0 number with a correct CRC, or a 36-char KSeF 1.0 number.

    The checksum comparison is case-insensitive, like the official C# client.

    >>> is_valid_ksef_number("5265877635-20250826-0100001AF629-00")
    False
    """
    if len(value) == 35:
        if not KSEF_NUMBER_RE.match(value[:33] + value[33:].upper()):
            return False
        return ksef_number_checksum(value[:32]) == value[33:].upper()
    return len(value) == 36 and KSEF_NUMBER_V1_RE.match(value) is not None


def make_reference_number(day: datetime.date, type_code: str, random_hex: str | None = None) -> str:
    """A reference number ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC`` (CC = CRC-8 of the rest).

    ``random_hex`` is the 20 hex characters of the two middle groups (random when None).

    >>> make_reference_number(datetime.date(2025, 6, 25), "SO", "2C3E6C8000B675CF5D68")
    '20250625-SO-2C3E6C8000-B675CF5D68-07'
    """
    if not _TYPE_CODE_RE.match(type_code):
        raise ValueError(f"type code must be 2 characters [0-9A-Z], got {type_code!r}")
    hex20 = _upper_hex(random_hex, 20, "random part")
    data = f"{day:%Y%m%d}-{type_code}-{hex20[:10]}-{hex20[10:]}"
    return f"{data}-{crc8(data.encode('ascii')):02X}"


def is_valid_reference_number(value: str, *, check_crc: bool = False) -> bool:
    """True if ``value`` has the reference-number format (and, optionally, a matching CRC).

    The CRC is only observed in the docs' examples (not specified), hence off by default.

    >>> is_valid_reference_number("20250625-SO-2C3E6C8000-B675CF5D68-00")
    True
    >>> is_valid_reference_number("20250625-SO-2C3E6C8000-B675CF5D68-00", check_crc=True)
    False
    """
    if REFERENCE_NUMBER_RE.match(value) is None:
        return False
    return not check_crc or f"{crc8(value[:33].encode('ascii')):02X}" == value[34:]


def nip_checksum_ok(value: str) -> bool:
    """True if the 10th digit of a 10-digit NIP matches its weighted checksum.

    >>> nip_checksum_ok("5265877635"), nip_checksum_ok("5265877636")
    (True, False)
    """
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value, _NIP_WEIGHTS, strict=False)) % 11
    return total != 10 and total == int(value[9])


def is_valid_nip(value: str) -> bool:
    """True if ``value`` matches the ``Nip`` regex and its checksum is correct.

    >>> is_valid_nip("5265877635"), is_valid_nip("0265877635")
    (True, False)
    """
    return NIP_RE.match(value) is not None and nip_checksum_ok(value)


def internal_id_check_digit(first14: str) -> int:
    """The check digit of an InternalId: weights 1,3,1,3,... over 14 digits, sum mod 10.

    ``first14`` is the NIP plus the first 4 suffix digits (a dash is ignored).

    >>> internal_id_check_digit("6824515772-1234")
    3
    """
    digits = first14.replace("-", "")
    if len(digits) != 14 or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"need 14 digits, got {first14!r}")
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10


def make_internal_id(nip: str, suffix4: str) -> str:
    """An InternalId for sub-unit ``suffix4`` (4 digits) of ``nip``, with its check digit.

    >>> make_internal_id("6824515772", "1234")
    '6824515772-12343'
    """
    return f"{nip}-{suffix4}{internal_id_check_digit(nip + suffix4)}"


def is_valid_internal_id(value: str) -> bool:
    """True if ``value`` matches the InternalId regex and its check digit is right.

    >>> is_valid_internal_id("6824515772-12343"), is_valid_internal_id("6824515772-12344")
    (True, False)
    """
    if INTERNAL_ID_RE.match(value) is None:
        return False
    return internal_id_check_digit(value[:15]) == int(value[15])


def random_nip(rng: _random.Random | None = None) -> str:
    """A random NIP that matches the ``Nip`` regex and has a valid checksum.

    >>> is_valid_nip(random_nip(_random.Random(1)))
    True
    """
    r = rng if rng is not None else _random.Random(secrets.randbits(64))
    while True:
        first9 = str(r.randint(100_000_000, 999_999_999))
        check = sum(int(d) * w for d, w in zip(first9, _NIP_WEIGHTS, strict=True)) % 11
        if check == 10:
            continue
        candidate = first9 + str(check)
        if NIP_RE.match(candidate):
            return candidate
