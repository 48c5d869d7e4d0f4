"""Tests of ksefkit.invoices.rewrite on all 26 official FA(3) samples (XSD loaded here)."""

from __future__ import annotations

import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ksefkit.formcodes import FormCode
from ksefkit.invoices.facts import extract_facts
from ksefkit.invoices.rewrite import rewrite_invoice

NS = FormCode.FA3.value.namespace
F = f"{{{NS}}}"
BASE_URL = "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/"
NEW_NIP = "5265877635"


class _BaseTypes(etree.Resolver):
    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        if system_url.startswith(BASE_URL):
            path = str(self.folder / system_url[len(BASE_URL) :])
            return self.resolve_filename(path, context)  # type: ignore[attr-defined]
        return None


@cache
def fa3_schema(spec_dir: Path) -> etree.XMLSchema:
    folder = spec_dir / "faktury" / "schemy" / "FA"
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_BaseTypes(folder / "bazowe"))
    return etree.XMLSchema(etree.parse(str(folder / "schemat_FA(3)_v1-0E.xsd"), parser))


def samples(spec_dir: Path) -> list[Path]:
    found = sorted((spec_dir / "samples" / "FA3").glob("*.xml"))
    assert len(found) == 26
    return found


def test_every_sample_rewritten_still_validates(spec_dir: Path) -> None:
    schema = fa3_schema(spec_dir)
    today = datetime.date.today()
    numbers = set()
    for index, path in enumerate(samples(spec_dir)):
        original = path.read_bytes()
        number = f"KSEFKIT/{today:%Y%m%d}/{index:03d}"
        out = rewrite_invoice(original, seller_nip=NEW_NIP, invoice_number=number, issue_date=today)
        root = etree.fromstring(out)
        assert schema.validate(root), f"{path.name}: {schema.error_log}"
        facts = extract_facts(out)
        assert (facts.seller_nip, facts.invoice_number, facts.issue_date) == (
            NEW_NIP,
            number,
            today,
        )
        before = extract_facts(original)
        assert (facts.buyer_nip, facts.invoice_type, facts.gross_amount) == (
            before.buyer_nip,
            before.invoice_type,
            before.gross_amount,
        )
        numbers.add((facts.seller_nip, facts.invoice_type, facts.invoice_number))
    assert len(numbers) == 26  # no duplicates (KSeF status 440) among the fixtures


def test_everything_else_is_kept_byte_for_byte(spec_dir: Path) -> None:
    for path in samples(spec_dir):
        original = path.read_bytes()
        before = extract_facts(original)
        assert before.invoice_number
        assert before.seller_nip
        assert before.issue_date
        changed = rewrite_invoice(
            original, seller_nip=NEW_NIP, invoice_number="N/1", issue_date=datetime.date(2026, 3, 3)
        )
        assert changed != original
        # Same prolog, same length apart from the three values.
        assert changed[:60] == original[:60]
        delta = (
            len(NEW_NIP) - len(before.seller_nip) + len("N/1") - len(before.invoice_number.encode())
        )
        assert len(changed) - len(original) == delta, path.name
        back = rewrite_invoice(
            changed,
            seller_nip=before.seller_nip,
            invoice_number=before.invoice_number,
            issue_date=before.issue_date,
        )
        assert back == original, path.name


def test_partial_rewrites_and_no_op(spec_dir: Path) -> None:
    original = (spec_dir / "samples" / "FA3" / "FA_3_Przyklad_26.xml").read_bytes()
    assert rewrite_invoice(original) is original
    only_number = extract_facts(rewrite_invoice(original, invoice_number="ONLY/1"))
    assert only_number.invoice_number == "ONLY/1"
    assert only_number.seller_nip == "9999999999"
    assert only_number.issue_date == datetime.date(2026, 2, 1)
    only_date = extract_facts(rewrite_invoice(original, issue_date=datetime.date(2025, 12, 24)))
    assert only_date.issue_date == datetime.date(2025, 12, 24)
    assert only_date.invoice_number == "FA/2026/02/999"
    # Podmiot2's NIP is untouched when the seller changes.
    assert extract_facts(rewrite_invoice(original, seller_nip=NEW_NIP)).buyer_nip == "2222222222"


def test_special_characters_are_escaped(spec_dir: Path) -> None:
    original = (spec_dir / "samples" / "FA3" / "FA_3_Przyklad_1.xml").read_bytes()
    out = rewrite_invoice(original, invoice_number="A&B <1>")
    assert b"<P_2>A&amp;B &lt;1&gt;</P_2>" in out
    assert extract_facts(out).invoice_number == "A&B <1>"
    assert fa3_schema(spec_dir).validate(etree.fromstring(out))


def test_falls_back_to_lxml_when_the_splice_would_be_wrong(spec_dir: Path) -> None:
    original = (spec_dir / "samples" / "FA3" / "FA_3_Przyklad_26.xml").read_bytes()
    decoy = b"<!-- <Fa><P_2>decoy</P_2></Fa> -->"
    tricky = original.replace(b"<Podmiot1>", decoy + b"<Podmiot1>", 1)
    out = rewrite_invoice(tricky, invoice_number="REAL/1")
    assert extract_facts(out).invoice_number == "REAL/1"
    assert decoy in out  # the comment was not touched
    assert fa3_schema(spec_dir).validate(etree.fromstring(out))


def test_fa_rr_rewrites_the_issuer() -> None:
    rr_ns = FormCode.FA_RR1.value.namespace
    doc = (
        f"<Faktura xmlns='{rr_ns}'>"
        "<Podmiot1><DaneIdentyfikacyjne><NIP>1111111111</NIP></DaneIdentyfikacyjne></Podmiot1>"
        "<Podmiot2><DaneIdentyfikacyjne><NIP>2222222222</NIP></DaneIdentyfikacyjne></Podmiot2>"
        "<FakturaRR><KodWaluty>PLN</KodWaluty><P_4B>2026-01-01</P_4B><P_4C>RR/1</P_4C>"
        "<RodzajFaktury>VAT_RR</RodzajFaktury></FakturaRR></Faktura>"
    ).encode()
    out = rewrite_invoice(
        doc, seller_nip=NEW_NIP, invoice_number="RR/2", issue_date=datetime.date(2026, 1, 5)
    )
    facts = extract_facts(out)
    assert (facts.seller_nip, facts.buyer_nip) == (NEW_NIP, "1111111111")
    assert (facts.invoice_number, facts.issue_date) == ("RR/2", datetime.date(2026, 1, 5))


def test_errors(spec_dir: Path) -> None:
    original = (spec_dir / "samples" / "FA3" / "FA_3_Przyklad_1.xml").read_bytes()
    with pytest.raises(ValueError, match="NIP"):
        rewrite_invoice(original, seller_nip="123")
    with pytest.raises(ValueError, match="empty"):
        rewrite_invoice(original, invoice_number="")
    with pytest.raises(ValueError, match="well-formed"):
        rewrite_invoice(b"<Faktura>", invoice_number="X")
    with pytest.raises(ValueError, match="Fa/P_2"):
        rewrite_invoice(f"<Faktura xmlns='{NS}'/>".encode(), invoice_number="X")
