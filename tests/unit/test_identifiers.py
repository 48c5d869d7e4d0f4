"""Tests of ksefkit.identifiers against the examples published by the Ministry."""

from __future__ import annotations

import datetime
import doctest
import random
import re

import pytest

import ksefkit.identifiers as ids
from ksefkit.identifiers import (
    INTERNAL_ID_RE,
    NIP_RE,
    NIP_VAT_UE_RE,
    PEPPOL_ID_RE,
    PESEL_RE,
    crc8,
    internal_id_check_digit,
    is_valid_internal_id,
    is_valid_ksef_number,
    is_valid_nip,
    is_valid_reference_number,
    ksef_number_checksum,
    make_internal_id,
    make_ksef_number,
    make_reference_number,
    nip_checksum_ok,
    random_nip,
)

# KSeF numbers from ksef-docs, open-api.json and the UPO examples.
DOC_KSEF_NUMBERS = [
    "5265877635-20250626-010080DD2B5E-26",
    "5265877635-20250826-0100001AF629-AF",
    "5265877635-20250925-010020A0A242-0A",
    "5555555555-20250828-010080615740-E4",
]
# Reference numbers from the docs whose trailing CRC matches (most of them do).
DOC_REFERENCE_NUMBERS = [
    "20250514-AU-2DFC46C000-3AC6D5877F-D4",
    "20250514-CR-226FB7B000-3ACF9BE4C0-10",
    "20250625-SO-2C3E6C8000-B675CF5D68-07",
    "20250626-SB-213D593000-4DE10D80A5-E9",
    "20250626-EG-333C814000-C529F710D8-D2",
    "20250925-EH-2D2C11B000-E9C9ED8340-EE",
    "20251010-EC-1DCE3E3000-12ECB5B36E-45",
]


def bitwise_crc8(data: bytes) -> int:
    """The reference algorithm from KSEF_API.md §2.2, bit by bit."""
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


def test_doctests() -> None:
    result = doctest.testmod(ids)
    assert result.attempted > 10
    assert result.failed == 0


def test_crc8_known_vectors() -> None:
    assert crc8(b"") == 0
    assert crc8(b"123456789") == 0xF4  # CRC-8/SMBUS check value
    rng = random.Random(7)
    for _ in range(50):
        data = rng.randbytes(rng.randint(0, 40))
        assert crc8(data) == bitwise_crc8(data)


@pytest.mark.parametrize("number", DOC_KSEF_NUMBERS)
def test_doc_ksef_numbers_valid(number: str) -> None:
    assert is_valid_ksef_number(number)
    assert ksef_number_checksum(number[:32]) == number[33:]
    # lower-case checksum accepted like the C# client
    assert is_valid_ksef_number(number[:33] + number[33:].lower())


@pytest.mark.parametrize(
    "number",
    [
        "5265877635-20250826-0100001AF629-AE",  # wrong CRC
        "5265877635-20250826-0100001AF628-AF",  # altered data
        "0265877635-20250826-0100001AF629-AF",  # NIP starting with 0
        "5265877635-20251326-0100001AF629-AF",  # month 13
        "5265877635-20250826-0100001af629-AF",  # lower-case technical part
        "5265877635-20250826-0100001AF629",
        "",
    ],
)
def test_bad_ksef_numbers(number: str) -> None:
    assert not is_valid_ksef_number(number)


def test_ksef_number_v1_form_accepted_by_regex() -> None:
    assert is_valid_ksef_number("5265877635-20230908-16B994-91C78B-3D")
    assert not is_valid_ksef_number("5265877635-20230908-16B994-91C78G-3D")


def test_make_ksef_number() -> None:
    day = datetime.date(2025, 8, 26)
    assert make_ksef_number("5265877635", day, "0100001AF629") == DOC_KSEF_NUMBERS[1]
    assert make_ksef_number("5265877635", day, "0100001af629") == DOC_KSEF_NUMBERS[1]
    generated = {make_ksef_number("5265877635", day) for _ in range(20)}
    assert len(generated) == 20
    for n in generated:
        assert len(n) == 35
        assert n.startswith("5265877635-20250826-")
        assert is_valid_ksef_number(n)
    with pytest.raises(ValueError, match="technical"):
        make_ksef_number("5265877635", day, "XYZ")
    with pytest.raises(ValueError, match="NIP"):
        make_ksef_number("12345", day)


@pytest.mark.parametrize("ref", DOC_REFERENCE_NUMBERS)
def test_doc_reference_numbers(ref: str) -> None:
    assert is_valid_reference_number(ref)
    assert is_valid_reference_number(ref, check_crc=True)
    day = datetime.datetime.strptime(ref[:8], "%Y%m%d").date()
    assert make_reference_number(day, ref[9:11], ref[12:22] + ref[23:33]) == ref


def test_reference_number_format_and_crc() -> None:
    good = "20250625-SO-2C3E6C8000-B675CF5D68-07"
    tampered = good[:-2] + "08"
    assert is_valid_reference_number(tampered)
    assert not is_valid_reference_number(tampered, check_crc=True)
    for bad in (good[:-1], good.lower(), "20250625-S-2C3E6C8000-B675CF5D68-07", "2025062-SO-X"):
        assert not is_valid_reference_number(bad)


def test_make_reference_number_random_and_checks() -> None:
    day = datetime.date(2026, 1, 2)
    refs = {make_reference_number(day, "EE") for _ in range(20)}
    assert len(refs) == 20
    for r in refs:
        assert re.match(r"^20260102-EE-[0-9A-F]{10}-[0-9A-F]{10}-[0-9A-F]{2}$", r)
        assert is_valid_reference_number(r, check_crc=True)
    with pytest.raises(ValueError, match="type code"):
        make_reference_number(day, "s")
    with pytest.raises(ValueError, match="random part"):
        make_reference_number(day, "SO", "ABC")


@pytest.mark.parametrize("nip", ["5265877635", "6824515772", "1111111111", "9999999999"])
def test_valid_nips(nip: str) -> None:
    assert NIP_RE.match(nip)
    assert nip_checksum_ok(nip)
    assert is_valid_nip(nip)


def test_nip_checksum_independent() -> None:
    # 5265877635: 5*6+2*5+6*7+5*2+8*3+7*4+7*5+6*6+3*7 = 236; 236 % 11 = 5
    assert nip_checksum_ok("5265877635")
    for last in "012346789":
        assert not nip_checksum_ok("526587763" + last)


@pytest.mark.parametrize(
    "nip", ["5265877636", "0265877635", "526587763", "52658776355", "52658776a5", "５265877635"]
)
def test_invalid_nips(nip: str) -> None:
    assert not is_valid_nip(nip)


def test_nip_with_checksum_ten_is_invalid() -> None:
    # First 9 digits whose weighted sum mod 11 == 10 can never form a valid NIP.
    first9 = next(
        f"{n:09d}"
        for n in range(100_000_000, 100_010_000)
        if sum(int(d) * w for d, w in zip(f"{n:09d}", (6, 5, 7, 2, 3, 4, 5, 6, 7))) % 11 == 10
    )
    assert not any(nip_checksum_ok(first9 + d) for d in "0123456789")


def test_random_nip() -> None:
    rng = random.Random(42)
    nips = [random_nip(rng) for _ in range(200)]
    assert all(is_valid_nip(n) for n in nips)
    assert len(set(nips)) > 190
    assert random_nip(random.Random(1)) == random_nip(random.Random(1))
    assert is_valid_nip(random_nip())


def test_internal_id() -> None:
    assert internal_id_check_digit("6824515772-1234") == 3
    assert internal_id_check_digit("68245157721234") == 3
    assert is_valid_internal_id("6824515772-12343")
    assert not is_valid_internal_id("6824515772-12344")
    # The docs' own example has a wrong check digit; the right one is 6.
    assert not is_valid_internal_id("5265877635-12345")
    assert is_valid_internal_id("5265877635-12346")
    assert make_internal_id("5265877635", "1234") == "5265877635-12346"
    assert INTERNAL_ID_RE.match("5265877635-12345")
    assert not is_valid_internal_id("5265877635-1234")
    with pytest.raises(ValueError, match="14 digits"):
        internal_id_check_digit("123")


def test_other_regexes() -> None:
    assert PESEL_RE.match("90010112345")
    assert PESEL_RE.match("02210112345")  # 2000s births: month + 20
    assert not PESEL_RE.match("90130112345")
    assert NIP_VAT_UE_RE.match("5265877635-ATU12345678")
    assert NIP_VAT_UE_RE.match("5265877635-DE123456789")
    assert not NIP_VAT_UE_RE.match("5265877635-PL1234567890")
    assert not NIP_VAT_UE_RE.match("ATU12345678")
    assert PEPPOL_ID_RE.match("PPL123456")
    assert not PEPPOL_ID_RE.match("P123456789")  # the OAS example violates its own regex
