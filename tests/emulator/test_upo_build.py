"""Tests of ksefkit.emulator.upo: UPO building (XSD-valid in every variant) and XAdES signing.

Signatures are checked three ways: signxml's XAdESVerifier, the SDK's verify_upo_signature,
and an independent recomputation written here with lxml C14N + hashlib + cryptography.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import time
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.xades.xades import XAdESVerifier

from ksefkit.emulator.upo import UpoAuth, UpoDocument, UpoPage, UpoSigner, build_upo
from ksefkit.formcodes import FormCode
from ksefkit.identifiers import make_internal_id, make_ksef_number, make_reference_number
from ksefkit.upo import UPO_NS, parse_upo, validate_upo, verify_upo_signature

DS = "{http://www.w3.org/2000/09/xmldsig#}"
U = f"{{{UPO_NS}}}"
WARSAW = datetime.timezone(datetime.timedelta(hours=2))
NIP = "5265877635"
SESSION = "20250916-SO-2C3E6C8000-B675CF5D68-07"
TOKEN_REF = "20250819-EC-1ECDD12000-5EE71AE5E3-B7"
AUTH_HASH = base64.b64encode(hashlib.sha256(b"signed AuthTokenRequest").digest()).decode()

CONTEXTS = {
    "Nip": ("Nip", NIP),
    "InternalId": ("IdWewnetrzny", make_internal_id(NIP, "1234")),
    "NipVatUe": ("IdZlozonyVatUE", f"{NIP}-ATU12345678"),
    "PeppolId": ("IdDostawcyUslugPeppol", "PAB123456"),
}


@cache
def signer() -> UpoSigner:
    return UpoSigner.generate()


def document(index: int = 1, *, mode: str = "Online") -> UpoDocument:
    sent = datetime.datetime(2025, 9, 16, 11, 5, 40, 841000, tzinfo=WARSAW)
    sent += datetime.timedelta(seconds=index)
    return UpoDocument(
        seller_nip=NIP,
        ksef_number=make_ksef_number(NIP, sent.date(), f"{index:012X}"),
        invoice_number=f"FV/{index}/09/2025",
        issue_date=sent.date(),
        sent_at=sent,
        ksef_number_assigned_at=sent + datetime.timedelta(milliseconds=204),
        invoice_hash=base64.b64encode(hashlib.sha256(str(index).encode()).digest()).decode(),
        mode=mode,
    )


def token_auth(context_type: str = "Nip") -> UpoAuth:
    return UpoAuth(context_type, CONTEXTS[context_type][1], ksef_token_reference=TOKEN_REF)


def to_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


# --- building ------------------------------------------------------------------------------


@pytest.mark.parametrize("context_type", sorted(CONTEXTS))
@pytest.mark.parametrize("auth_kind", ["token", "xades"])
def test_every_context_and_auth_kind_validates(context_type: str, auth_kind: str) -> None:
    value = CONTEXTS[context_type][1]
    auth = (
        UpoAuth(context_type, value, ksef_token_reference=TOKEN_REF)
        if auth_kind == "token"
        else UpoAuth(context_type, value, auth_document_hash=AUTH_HASH)
    )
    element = build_upo(
        session_reference=SESSION, auth=auth, form_code=FormCode.FA3, documents=[document()]
    )
    assert validate_upo(to_bytes(element)) == []
    context = element.find(f"{U}Uwierzytelnienie/{U}IdKontekstu")
    assert context is not None
    assert [etree.QName(c).localname for c in context] == [CONTEXTS[context_type][0]]
    assert context[0].text == value
    auth_el = element.find(f"{U}Uwierzytelnienie")
    assert auth_el is not None
    expected = (
        "NumerReferencyjnyTokenaKSeF"
        if auth_kind == "token"
        else ("SkrotDokumentuUwierzytelniajacego")
    )
    assert etree.QName(auth_el[1]).localname == expected
    upo = parse_upo(to_bytes(element))
    assert (upo.context_type, upo.context_value) == (context_type, value)
    assert upo.ksef_token_reference == (TOKEN_REF if auth_kind == "token" else None)
    assert upo.auth_document_hash == (AUTH_HASH if auth_kind == "xades" else None)


def test_session_upo_with_page_header_validates_and_round_trips() -> None:
    docs = [document(i, mode="Offline" if i == 3 else "Online") for i in range(1, 6)]
    page = UpoPage(page=2, pages=3, first=6, last=10, total=12)
    element = build_upo(
        session_reference=SESSION,
        auth=token_auth("InternalId"),
        form_code=FormCode.FA3,
        documents=docs,
        page=page,
        receiver_name="Ministerstwo Finansów - środowisko testowe (TE)",
    )
    data = to_bytes(element)
    assert validate_upo(data) == []
    upo = parse_upo(data)
    assert upo.page == page
    assert upo.documents == tuple(docs)
    assert upo.receiver_name == "Ministerstwo Finansów - środowisko testowe (TE)"
    assert upo.logical_structure_name == "Schemat_FA(3)_v1-0E.xsd"
    assert upo.form_code_text == "FA (3)"
    # Element order is the XSD's (validation proves it too; this names it).
    assert [etree.QName(c).localname for c in element][:6] == [
        "NazwaPodmiotuPrzyjmujacego",
        "NumerReferencyjnySesji",
        "Uwierzytelnienie",
        "OpisPotwierdzenia",
        "NazwaStrukturyLogicznej",
        "KodFormularza",
    ]


@pytest.mark.parametrize("form_code", list(FormCode))
def test_form_code_names(form_code: FormCode) -> None:
    element = build_upo(
        session_reference=SESSION, auth=token_auth(), form_code=form_code, documents=[document()]
    )
    assert element.findtext(U + "KodFormularza") == form_code.system_code
    assert element.findtext(U + "NazwaStrukturyLogicznej") == form_code.logical_structure_name
    assert validate_upo(to_bytes(element)) == []


def test_datetimes_are_serialised_like_the_official_examples() -> None:
    element = build_upo(
        session_reference=SESSION, auth=token_auth(), form_code=FormCode.FA3, documents=[document()]
    )
    sent = element.findtext(f"{U}Dokument/{U}DataPrzeslaniaDokumentu")
    assigned = element.findtext(f"{U}Dokument/{U}DataNadaniaNumeruKSeF")
    assert sent == "2025-09-16T11:05:41.841+02:00"
    assert assigned == "2025-09-16T11:05:42.045+02:00"
    pattern = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
    assert pattern.match(sent or "")
    assert pattern.match(assigned or "")


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        UpoAuth("Nip", NIP)
    with pytest.raises(ValueError, match="exactly one"):
        UpoAuth("Nip", NIP, ksef_token_reference=TOKEN_REF, auth_document_hash=AUTH_HASH)
    with pytest.raises(ValueError, match="unknown context type"):
        UpoAuth("Pesel", "90010112345", ksef_token_reference=TOKEN_REF)
    build: dict[str, Any] = {
        "session_reference": SESSION,
        "auth": token_auth(),
        "form_code": FormCode.FA3,
    }
    with pytest.raises(ValueError, match="at least one"):
        build_upo(**build, documents=[])
    with pytest.raises(ValueError, match="unique"):
        build_upo(**build, documents=[document(1), document(1)])
    naive = document()
    naive = UpoDocument(**{**naive.__dict__, "sent_at": naive.sent_at.replace(tzinfo=None)})
    with pytest.raises(ValueError, match="timezone-aware"):
        build_upo(**build, documents=[naive])
    with pytest.raises(ValueError, match="page"):
        build_upo(
            **build, documents=[document()], page=UpoPage(page=1, pages=1, first=3, last=2, total=2)
        )
    with pytest.raises(ValueError, match="TrybWysylki"):
        build_upo(**build, documents=[document(mode="Batch")])


# --- signing -------------------------------------------------------------------------------


def independent_check(data: bytes, public_key: rsa.RSAPublicKey) -> None:
    """Enveloped-reference digest and SignatureValue, recomputed without ksefkit or signxml."""
    root = etree.fromstring(data)
    signature = root[-1]
    assert signature.tag == DS + "Signature"
    signed_info = signature.find(DS + "SignedInfo")
    assert signed_info is not None
    whole = [r for r in signed_info.iterfind(DS + "Reference") if r.get("URI") == ""]
    assert len(whole) == 1
    stripped = etree.fromstring(data)
    stripped.remove(stripped[-1])  # the Signature has no tail text here
    digest = hashlib.sha256(etree.tostring(stripped, method="c14n")).digest()
    assert base64.b64encode(digest).decode() == whole[0].findtext(DS + "DigestValue")
    value = base64.b64decode(signature.findtext(DS + "SignatureValue") or "")
    public_key.verify(
        value, etree.tostring(signed_info, method="c14n"), padding.PKCS1v15(), hashes.SHA256()
    )


def signed_session_upo() -> bytes:
    element = build_upo(
        session_reference=SESSION,
        auth=token_auth(),
        form_code=FormCode.FA3,
        documents=[document(1), document(2)],
        page=UpoPage(page=1, pages=1, first=1, last=2, total=2),
    )
    return signer().sign(element)


def test_signed_upo_verifies_three_ways() -> None:
    data = signed_session_upo()
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(data)
    assert root[-1].tag == DS + "Signature"
    assert root[-1].find(f"{DS}Object") is not None  # XAdES QualifyingProperties live there
    # 1. signxml
    results = XAdESVerifier().verify(data, x509_cert=signer().certificate)
    assert etree.QName(results[0].signed_xml).localname == "Potwierdzenie"
    # 2. the SDK (signxml + its own recheck)
    assert verify_upo_signature(data, signer().certificate) == signer().certificate
    assert verify_upo_signature(data) == signer().certificate
    # 3. written here
    key = signer().certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    independent_check(data, key)
    # and it is still a valid UPO
    assert validate_upo(data) == []
    assert [d.invoice_number for d in parse_upo(data).documents] == ["FV/1/09/2025", "FV/2/09/2025"]


def test_sign_does_not_modify_the_input_element() -> None:
    element = build_upo(
        session_reference=SESSION, auth=token_auth(), form_code=FormCode.FA3, documents=[document()]
    )
    before = etree.tostring(element)
    signer().sign(element)
    assert etree.tostring(element) == before


def test_signing_is_fast_enough_for_per_invoice_use() -> None:
    element = build_upo(
        session_reference=SESSION, auth=token_auth(), form_code=FormCode.FA3, documents=[document()]
    )
    signer().sign(element)  # warm-up (imports)
    start = time.perf_counter()
    for _ in range(20):
        signer().sign(element)
    per_signature = (time.perf_counter() - start) / 20
    # ~1-2 ms on a laptop; the bound only catches pathological regressions on a busy CI box.
    assert per_signature < 0.25


def test_repr_hides_the_private_key_and_pem_round_trips() -> None:
    s = signer()
    pem = s.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert b"-----BEGIN CERTIFICATE-----" in pem
    text = repr(s)
    assert "PRIVATE" not in text
    assert "Ministerstwo Finans" in text
    key_numbers = s._private_key.private_numbers()
    assert str(key_numbers.d) not in text
    assert f"{key_numbers.p:x}" not in text
    again = UpoSigner.from_pem(pem)
    assert again.certificate == s.certificate
    data = again.sign(
        build_upo(
            session_reference=SESSION,
            auth=token_auth(),
            form_code=FormCode.FA3,
            documents=[document()],
        )
    )
    assert verify_upo_signature(data, s.certificate) == s.certificate


def test_from_pem_refuses_a_foreign_certificate() -> None:
    other = UpoSigner.generate()
    key_part = signer().to_pem().split(b"-----BEGIN CERTIFICATE-----")[0]
    foreign = key_part + other.certificate.public_bytes(Encoding.PEM)
    with pytest.raises(ValueError, match="does not belong"):
        UpoSigner.from_pem(foreign)


def test_generated_certificate_is_self_signed_for_ten_years() -> None:
    cert = signer().certificate
    assert cert.issuer == cert.subject
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert datetime.timedelta(days=3650) <= lifetime <= datetime.timedelta(days=3660)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048


def test_reference_numbers_from_identifiers_are_accepted() -> None:
    reference = make_reference_number(datetime.date(2026, 2, 1), "SO")
    element = build_upo(
        session_reference=reference,
        auth=token_auth(),
        form_code=FormCode.FA3,
        documents=[document()],
    )
    assert validate_upo(signer().sign(element)) == []
