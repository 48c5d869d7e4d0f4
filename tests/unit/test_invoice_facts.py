"""Tests of ksefkit.invoices.facts against the official samples and hand-made FA_RR/PEF documents.

Expected values for the samples are read with independent lxml XPath queries.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from ksefkit.formcodes import FormCode
from ksefkit.invoices.facts import InvoiceFacts, extract_facts
from ksefkit.invoices.generate import InvoiceLine, generate_fa3

FA3_NS = FormCode.FA3.value.namespace
FA2_NS = FormCode.FA2.value.namespace
RR_NS = FormCode.FA_RR1.value.namespace


def samples(spec_dir: Path) -> list[Path]:
    found = sorted((spec_dir / "samples" / "FA3").glob("*.xml"))
    assert len(found) == 26
    return found


def xpath_text(root: etree._Element, path: str) -> str | None:
    values = root.xpath(path, namespaces={"f": FA3_NS})
    assert isinstance(values, list)
    return str(values[0]).strip() if values else None


def test_every_official_sample(spec_dir: Path) -> None:
    types_seen = set()
    for path in samples(spec_dir):
        data = path.read_bytes()
        root = etree.fromstring(data)
        facts = extract_facts(data)
        assert facts.namespace == FA3_NS, path.name
        assert facts.root == "Faktura"
        assert facts.form_code is FormCode.FA3
        assert facts.seller_nip == "9999999999"
        assert facts.seller_nip == xpath_text(
            root, "/f:Faktura/f:Podmiot1/f:DaneIdentyfikacyjne/f:NIP/text()"
        )
        assert facts.buyer_nip == xpath_text(
            root, "/f:Faktura/f:Podmiot2/f:DaneIdentyfikacyjne/f:NIP/text()"
        )
        assert facts.invoice_number == xpath_text(root, "/f:Faktura/f:Fa/f:P_2/text()")
        assert facts.invoice_type == xpath_text(root, "/f:Faktura/f:Fa/f:RodzajFaktury/text()")
        assert facts.currency == xpath_text(root, "/f:Faktura/f:Fa/f:KodWaluty/text()")
        issue = xpath_text(root, "/f:Faktura/f:Fa/f:P_1/text()")
        assert issue is not None
        assert facts.issue_date == datetime.date.fromisoformat(issue)
        gross = xpath_text(root, "/f:Faktura/f:Fa/f:P_15/text()")
        assert gross is not None
        assert facts.gross_amount == Decimal(gross)
        assert facts.has_attachment == bool(
            root.xpath("/f:Faktura/f:Zalacznik", namespaces={"f": FA3_NS})
        )
        types_seen.add(facts.invoice_type)
    assert types_seen == {"VAT", "KOR", "ZAL", "KOR_ZAL", "ROZ", "KOR_ROZ", "UPR"}


def test_known_values_of_sample_1_and_attachments(spec_dir: Path) -> None:
    folder = spec_dir / "samples" / "FA3"
    facts = extract_facts((folder / "FA_3_Przyklad_1.xml").read_bytes())
    assert facts == InvoiceFacts(
        namespace=FA3_NS,
        root="Faktura",
        form_code=FormCode.FA3,
        seller_nip="9999999999",
        buyer_nip="1111111111",
        invoice_type="VAT",
        invoice_number="FV2026/02/150",
        issue_date=datetime.date(2026, 2, 15),
        currency="PLN",
        gross_amount=Decimal("2051"),
        has_attachment=False,
    )
    assert extract_facts((folder / "FA_3_Przyklad_24.xml").read_bytes()).has_attachment
    # Podmiot2 without a NIP (foreign buyer) gives None, not an error.
    assert extract_facts((folder / "FA_3_Przyklad_22.xml").read_bytes()).buyer_nip is None


def test_generated_invoice() -> None:
    xml = generate_fa3(
        seller_nip="5265877635",
        buyer_nip="7740001454",
        invoice_number="FV/7/2026",
        issue_date=datetime.date(2026, 3, 4),
        lines=[InvoiceLine("x", Decimal("1"), Decimal("100"))],
        currency="EUR",
    )
    facts = extract_facts(xml)
    assert (facts.seller_nip, facts.buyer_nip) == ("5265877635", "7740001454")
    assert facts.invoice_number == "FV/7/2026"
    assert facts.issue_date == datetime.date(2026, 3, 4)
    assert facts.currency == "EUR"
    assert facts.gross_amount == Decimal("123.00")
    assert facts.invoice_type == "VAT"


def test_fa2_uses_the_same_paths() -> None:
    fa3 = generate_fa3(
        seller_nip="5265877635",
        buyer_nip="7740001454",
        invoice_number="FA2/1",
        issue_date=datetime.date(2025, 5, 6),
    )
    fa2 = fa3.replace(FA3_NS.encode(), FA2_NS.encode())
    facts = extract_facts(fa2)
    assert facts.form_code is FormCode.FA2
    assert facts.namespace == FA2_NS
    assert (facts.seller_nip, facts.invoice_number) == ("5265877635", "FA2/1")
    assert facts.issue_date == datetime.date(2025, 5, 6)


FA_RR = f"""<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="{RR_NS}">
  <Naglowek>
    <KodFormularza kodSystemowy="FA_RR (1)" wersjaSchemy="1-1E">FA_RR</KodFormularza>
  </Naglowek>
  <Podmiot1>
    <DaneIdentyfikacyjne><NIP>1111111111</NIP><Nazwa>Rolnik</Nazwa></DaneIdentyfikacyjne>
  </Podmiot1>
  <Podmiot2>
    <DaneIdentyfikacyjne><NIP>5265877635</NIP><Nazwa>Skup</Nazwa></DaneIdentyfikacyjne>
  </Podmiot2>
  <FakturaRR>
    <KodWaluty>PLN</KodWaluty><P_4B>2026-04-02</P_4B><P_4C>RR/4/2026</P_4C>
    <P_11_1>1000</P_11_1><P_11_2>70</P_11_2>
    <P_12_1>1070</P_12_1><P_12_2>tysiąc siedemdziesiąt</P_12_2>
    <RodzajFaktury>VAT_RR</RodzajFaktury>
  </FakturaRR>
</Faktura>""".encode()


def test_fa_rr_seller_is_the_issuing_buyer() -> None:
    facts = extract_facts(FA_RR)
    assert facts.form_code is FormCode.FA_RR1
    assert facts.seller_nip == "5265877635"  # Podmiot2 (nabywca) issues a VAT RR invoice
    assert facts.buyer_nip == "1111111111"  # Podmiot1 is the farmer
    assert facts.invoice_number == "RR/4/2026"
    assert facts.issue_date == datetime.date(2026, 4, 2)
    assert facts.invoice_type == "VAT_RR"
    assert facts.gross_amount == Decimal("1070")
    assert facts.currency == "PLN"
    assert facts.has_attachment is False


UBL = """<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>PEF/2026/11</cbc:ID>
  <cbc:IssueDate>2026-05-06</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>PLN</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyTaxScheme><cbc:CompanyID>PL5265877635</cbc:CompanyID></cac:PartyTaxScheme>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyTaxScheme><cbc:CompanyID>7740001454</cbc:CompanyID></cac:PartyTaxScheme>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="PLN">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="PLN">123.00</cbc:TaxInclusiveAmount>
  </cac:LegalMonetaryTotal>
</{root}>"""


@pytest.mark.parametrize(
    ("root", "form_code", "invoice_type"),
    [("Invoice", FormCode.PEF3, "VAT_PEF"), ("CreditNote", FormCode.PEF_KOR3, "KOR_PEF")],
)
def test_pef_best_effort(root: str, form_code: FormCode, invoice_type: str) -> None:
    facts = extract_facts(UBL.format(root=root).encode())
    assert facts.form_code is form_code
    assert facts.root == root
    assert facts.seller_nip == "5265877635"  # "PL" prefix removed
    assert facts.buyer_nip == "7740001454"
    assert facts.invoice_number == "PEF/2026/11"
    assert facts.issue_date == datetime.date(2026, 5, 6)
    assert facts.currency == "PLN"
    assert facts.gross_amount == Decimal("123.00")
    assert facts.invoice_type == invoice_type


def test_unknown_namespace_and_missing_fields() -> None:
    facts = extract_facts(b"<Faktura xmlns='urn:example'><Fa><P_2>X</P_2></Fa></Faktura>")
    assert facts.form_code is None
    assert facts.invoice_number == "X"
    assert facts.seller_nip is None
    assert facts.issue_date is None
    assert facts.gross_amount is None
    odd = extract_facts(
        f"<Faktura xmlns='{FA3_NS}'><Fa><P_1>soon</P_1><P_15>lots</P_15></Fa></Faktura>".encode()
    )
    assert odd.issue_date is None
    assert odd.gross_amount is None


def test_malformed_xml_raises_value_error() -> None:
    with pytest.raises(ValueError, match="well-formed"):
        extract_facts(b"<Faktura><Fa>")
    with pytest.raises(ValueError, match="well-formed"):
        extract_facts(b"")


def test_entities_are_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    evil = (
        f'<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"<Faktura xmlns='{FA3_NS}'><Fa><P_2>A&x;</P_2></Fa></Faktura>"
    ).encode()
    facts = extract_facts(evil)
    assert facts.invoice_number is not None
    assert "TOPSECRET" not in facts.invoice_number


def test_fast_enough_for_every_invoice() -> None:
    xml = generate_fa3(
        seller_nip="5265877635",
        buyer_nip="7740001454",
        invoice_number="FV/1",
        issue_date=datetime.date(2026, 1, 2),
    )
    start = time.perf_counter()
    for _ in range(500):
        extract_facts(xml)
    # ~50 µs each on a laptop; generous bound for a busy shared machine.
    assert (time.perf_counter() - start) / 500 < 0.005


def test_docstring_examples() -> None:
    import doctest

    import ksefkit.invoices.facts as facts_module
    import ksefkit.invoices.generate as generate_module

    for module in (facts_module, generate_module):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
