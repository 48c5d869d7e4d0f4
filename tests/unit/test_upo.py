"""Tests of ksefkit.upo: parsing the official examples, XSD validation, signature checks."""

from __future__ import annotations

import base64
import datetime
import hashlib
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

import ksefkit.upo as upo_module
from ksefkit.emulator.upo import UpoAuth, UpoDocument, UpoSigner, build_upo
from ksefkit.errors import IntegrityError
from ksefkit.formcodes import FormCode
from ksefkit.upo import (
    UPO_XSD,
    UpoEntry,
    UpoPageInfo,
    format_upo_datetime,
    parse_upo,
    validate_upo,
    verify_upo_signature,
)

DS = "{http://www.w3.org/2000/09/xmldsig#}"
XADES = "{http://uri.etsi.org/01903/v1.3.2#}"
PLUS2 = datetime.timezone(datetime.timedelta(hours=2))


def examples(spec_dir: Path) -> dict[str, bytes]:
    folder = spec_dir / "faktury" / "upo" / "przyklady" / "v4-3"
    found = {p.name: p.read_bytes() for p in sorted(folder.glob("*/*.xml"))}
    assert len(found) == 6
    return found


def test_official_examples_parse_and_validate(spec_dir: Path) -> None:
    for name, data in examples(spec_dir).items():
        upo = parse_upo(data)
        assert validate_upo(data) == [], name
        assert upo.receiver_name == "Ministerstwo Finansów - środowisko testowe (TE)"
        assert upo.logical_structure_name == "Schemat_FA(3)_v1-0E.xsd"
        assert upo.form_code_text == "FA (3)"
        assert upo.xml is data
        is_session = "sesja" in name
        assert (upo.page is not None) is is_session
        assert len(upo.documents) == (2 if is_session else 1)
        if is_session:
            assert upo.page == UpoPageInfo(page=1, pages=1, first=1, last=2, total=2)


def test_example_field_values(spec_dir: Path) -> None:
    data = examples(spec_dir)
    upo = parse_upo(data["upo-faktura-internal-id.xml"])
    assert upo.session_reference == "58550905-BD-D0587DA4A3-4AE171EDED-46"
    assert (upo.context_type, upo.context_value) == ("InternalId", "5265877635-12345")
    assert upo.ksef_token_reference == "20250819-EC-1ECDD12000-5EE71AE5E3-B7"
    assert upo.auth_document_hash is None
    assert upo.documents == (
        UpoEntry(
            seller_nip="5265877635",
            ksef_number="5265877635-20250916-02000009FF3E-FB",
            invoice_number="FA/XVQUD-9997622510/04/2027",
            issue_date=datetime.date(2025, 9, 16),
            sent_at=datetime.datetime(2025, 9, 16, 11, 10, 27, 818000, tzinfo=PLUS2),
            ksef_number_assigned_at=datetime.datetime(
                2025, 9, 16, 11, 10, 28, 168000, tzinfo=PLUS2
            ),
            invoice_hash="GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8=",
            mode="Online",
        ),
    )
    assert upo.document("5265877635-20250916-02000009FF3E-FB") is upo.documents[0]
    assert upo.document("nope") is None
    vat_ue = parse_upo(data["upo-sesja-id-zlozony-vat-ue.xml"])
    assert (vat_ue.context_type, vat_ue.context_value) == ("NipVatUe", "5265877635-ATU12345678")
    assert vat_ue.auth_document_hash == "kyqH+QUgP8ATWd/95IY632mP4uqibwG66Oqclq9+qno="
    assert parse_upo(data["upo-faktura-kontekst-id-nip.xml"]).context_type == "Nip"


def test_suffix_handling_is_what_makes_examples_valid(spec_dir: Path) -> None:
    """Raw XSD validation rejects the real examples; validate_upo's normalisation fixes it."""
    xsd = etree.XMLSchema(etree.parse(str(spec_dir / UPO_XSD)))
    data = examples(spec_dir)["upo-faktura-kontekst-id-nip.xml"]
    assert not xsd.validate(etree.fromstring(data))
    assert validate_upo(data) == []


def test_validate_reports_real_problems(spec_dir: Path) -> None:
    data = examples(spec_dir)["upo-faktura-kontekst-id-nip.xml"]
    bad_nip = data.replace(b"<Nip>5265877635</Nip>", b"<Nip>0265877635</Nip>")
    problems = validate_upo(bad_nip)
    assert problems
    assert any("Nip" in p for p in problems)
    other_receiver = data.replace(
        "Ministerstwo Finansów - środowisko testowe (TE)".encode(), b"Urzad Skarbowy"
    )
    assert validate_upo(other_receiver) != []
    assert validate_upo(b"<Potwierdzenie") != []


def test_validate_with_an_explicit_store(spec_dir: Path) -> None:
    calls: list[str] = []

    class Store:
        def schema(self, rel_path: str) -> etree.XMLSchema:
            calls.append(rel_path)
            return etree.XMLSchema(etree.parse(str(spec_dir / rel_path)))

    data = examples(spec_dir)["upo-sesja-internal-id.xml"]
    assert validate_upo(data, Store()) == []
    assert calls == [UPO_XSD]


def test_parse_rejects_other_documents() -> None:
    with pytest.raises(ValueError, match="not a UPO"):
        parse_upo(b"<Faktura xmlns='http://crd.gov.pl/wzor/2025/06/25/13775/'/>")
    with pytest.raises(ValueError, match="well-formed"):
        parse_upo(b"<Potwierdzenie>")


def test_parse_does_not_expand_entities(spec_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = examples(spec_dir)["upo-faktura-kontekst-id-nip.xml"]
    doctype = f'<!DOCTYPE Potwierdzenie [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
    evil = data.replace(b"?>", b"?>" + doctype, 1).replace(
        b"<NumerFaktury>FA/", b"<NumerFaktury>FA/&x;", 1
    )
    upo = parse_upo(evil)
    assert "TOPSECRET" not in upo.documents[0].invoice_number


def test_format_upo_datetime() -> None:
    value = datetime.datetime(2025, 9, 16, 11, 29, 41, 524000, tzinfo=PLUS2)
    assert format_upo_datetime(value) == "2025-09-16T11:29:41.524+02:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_upo_datetime(value.replace(tzinfo=None))


# --- signature -------------------------------------------------------------------------------


@cache
def signer() -> UpoSigner:
    return UpoSigner.generate()


def signed() -> bytes:
    sent = datetime.datetime(2026, 2, 1, 10, 0, tzinfo=PLUS2)
    docs = [
        UpoDocument(
            seller_nip="5265877635",
            ksef_number=f"5265877635-20260201-{i:012X}-00",
            invoice_number=f"FV/{i}",
            issue_date=sent.date(),
            sent_at=sent,
            ksef_number_assigned_at=sent + datetime.timedelta(seconds=1),
            invoice_hash=base64.b64encode(hashlib.sha256(bytes([i])).digest()).decode(),
        )
        for i in (1, 2)
    ]
    element = build_upo(
        session_reference="20260201-SO-2C3E6C8000-B675CF5D68-07",
        auth=UpoAuth(
            "Nip", "5265877635", ksef_token_reference="20260201-EC-1ECDD12000-5EE71AE5E3-B7"
        ),
        form_code=FormCode.FA3,
        documents=docs,
    )
    return signer().sign(element)


def tamper_document(data: bytes) -> bytes:
    out = data.replace(b"<NumerFaktury>FV/2</NumerFaktury>", b"<NumerFaktury>FV/9</NumerFaktury>")
    assert out != data
    return out


def tamper_signed_properties(data: bytes) -> bytes:
    root = etree.fromstring(data)
    signing_time = root.find(f".//{XADES}SigningTime")
    assert signing_time is not None
    assert signing_time.text
    signing_time.text = "2001-01-01T00:00:00+00:00"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_valid_signature_returns_the_certificate() -> None:
    data = signed()
    assert verify_upo_signature(data) == signer().certificate
    assert verify_upo_signature(data, signer().certificate) == signer().certificate


@pytest.mark.parametrize("tamper", [tamper_document, tamper_signed_properties])
def test_tampering_is_detected(tamper: object) -> None:
    bad = tamper(signed())  # type: ignore[operator]
    with pytest.raises(IntegrityError):
        verify_upo_signature(bad)
    with pytest.raises(IntegrityError):
        verify_upo_signature(bad, signer().certificate)


@pytest.mark.parametrize("tamper", [tamper_document, tamper_signed_properties])
def test_independent_recheck_catches_tampering_on_its_own(
    tamper: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With signxml's verdict forced to "fine", the lxml+hashlib recheck still fails."""
    import signxml.xades.xades as xades

    root_of = etree.fromstring(signed())

    class FakeResult:
        signed_xml = root_of

    monkeypatch.setattr(xades.XAdESVerifier, "verify", lambda self, *a, **k: [FakeResult()])
    assert verify_upo_signature(signed(), signer().certificate) == signer().certificate
    with pytest.raises(IntegrityError, match="digest mismatch"):
        verify_upo_signature(tamper(signed()), signer().certificate)  # type: ignore[operator]


def test_signxml_catches_tampering_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upo_module, "_recheck_digests", lambda xml, cert: None)
    with pytest.raises(IntegrityError, match="does not verify"):
        verify_upo_signature(tamper_document(signed()), signer().certificate)


def test_wrong_certificate_missing_or_extra_signature() -> None:
    data = signed()
    with pytest.raises(IntegrityError):
        verify_upo_signature(data, UpoSigner.generate().certificate)
    root = etree.fromstring(data)
    signature = root[-1]
    root.remove(signature)
    unsigned = etree.tostring(root)
    with pytest.raises(IntegrityError):
        verify_upo_signature(unsigned)
    root.append(signature)
    root.append(etree.fromstring(etree.tostring(signature)))
    with pytest.raises(IntegrityError):
        verify_upo_signature(etree.tostring(root))


def test_signed_upo_still_validates_and_parses() -> None:
    data = signed()
    assert validate_upo(data) == []
    upo = parse_upo(data)
    assert [d.invoice_number for d in upo.documents] == ["FV/1", "FV/2"]
    assert upo.page is None
    assert upo.ksef_token_reference == "20260201-EC-1ECDD12000-5EE71AE5E3-B7"


def test_docstring_examples() -> None:
    import doctest

    import ksefkit.emulator.upo as emulator_upo

    for module in (upo_module, emulator_upo):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
