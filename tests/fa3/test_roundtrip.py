"""Every official FA(3) sample parses into the model and is written back without loss.

"Without loss" = the C14N 2.0 form of the output equals that of the sample, with only the
whitespace between elements ignored (pretty-printing); and the output validates against
the FA(3) XSD. Parsing anything the model cannot hold fails with the element's path.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import pickle
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from ksefkit.errors import InvoiceParseError
from ksefkit.fa3 import (
    Invoice,
    InvoiceLine,
    VatRate,
    WrittenDateTime,
    field_map,
    modelled_paths,
    parse,
    xml_name,
    xsd_errors,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ksef-spec" / "samples" / "FA3"
SAMPLE_FILES = sorted(SAMPLES.glob("FA_3_Przyklad_*.xml"), key=lambda p: int(p.stem.split("_")[-1]))
NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"


def canonical(xml: bytes) -> str:
    """C14N 2.0 of ``xml`` with whitespace-only text between elements dropped."""
    tree = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    return etree.canonicalize(tree)


def sample(number: int) -> bytes:
    return (SAMPLES / f"FA_3_Przyklad_{number}.xml").read_bytes()


def _paths(element: etree._Element, prefix: str) -> Iterator[str]:
    for child in element:
        if isinstance(child.tag, str):
            path = f"{prefix}/{etree.QName(child).localname}"
            yield path
            yield from (f"{path}/@{name}" for name in child.attrib)
            yield from _paths(child, path)


def test_all_26_samples_are_there() -> None:
    assert len(SAMPLE_FILES) == 26, f"expected the 26 MF samples in {SAMPLES}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.stem)
def test_sample_round_trips_and_validates(path: Path) -> None:
    original = path.read_bytes()
    invoice = parse(original)
    written = invoice.to_xml()
    assert canonical(written) == canonical(original)
    assert xsd_errors(written) == []
    # The model is stable too: parsing what was written gives the same objects.
    assert parse(written) == invoice
    # Compact output carries the same document.
    assert canonical(invoice.to_xml(pretty=False)) == canonical(original)


def test_every_sample_path_is_modelled() -> None:
    modelled = set(modelled_paths(Invoice))
    used = {p for f in SAMPLE_FILES for p in _paths(etree.parse(str(f)).getroot(), "Faktura")}
    assert used, "no element paths found in the samples"
    assert sorted(used - modelled) == []


def test_the_canonical_comparison_notices_a_changed_amount() -> None:
    invoice = parse(sample(1))
    line = dataclasses.replace(invoice.fa.lines[0], net_amount=Decimal("1626.02"))
    changed = dataclasses.replace(
        invoice, fa=dataclasses.replace(invoice.fa, lines=(line, *invoice.fa.lines[1:]))
    )
    assert canonical(changed.to_xml()) != canonical(sample(1))


def test_amounts_and_dates_are_typed() -> None:
    invoice = parse(sample(1))
    first = invoice.fa.lines[0]
    assert first.net_amount == Decimal("1626.01")
    assert first.vat_rate is VatRate.R23
    assert invoice.fa.issue_date == datetime.date(2026, 2, 15)
    assert invoice.header.created_at == datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)
    assert invoice.buyer.jst is False and invoice.fa.annotations.exemption.none is True


def test_amounts_keep_their_written_form() -> None:
    invoice = parse(sample(1))
    assert str(invoice.fa.total) == "2051"  # not normalised to 2051.00
    xml = invoice.to_xml()
    assert b"<P_15>2051</P_15>" in xml
    assert b"<P_13_1>1666.66</P_13_1>" in xml


@pytest.mark.parametrize(
    "written",
    ["2026-02-01T10:15:00.123456789+01:00", "2026-02-01T00:00:00+00:00", "2026-02-01T12:00:00"],
)
def test_datetimes_keep_their_written_form(written: str) -> None:
    xml = sample(26).replace(
        b"<DataWytworzeniaFa>2026-02-01T00:00:00Z", f"<DataWytworzeniaFa>{written}".encode()
    )
    invoice = parse(xml)
    assert isinstance(invoice.header.created_at, WrittenDateTime)
    assert f"<DataWytworzeniaFa>{written}</DataWytworzeniaFa>".encode() in invoice.to_xml()


def test_new_datetimes_are_written_in_utc_z_form() -> None:
    invoice = parse(sample(26))
    at = datetime.datetime(2026, 3, 1, 8, 30, tzinfo=datetime.UTC)
    changed = dataclasses.replace(
        invoice, header=dataclasses.replace(invoice.header, created_at=at)
    )
    assert b"<DataWytworzeniaFa>2026-03-01T08:30:00Z</DataWytworzeniaFa>" in changed.to_xml()


def test_polish_names_are_exposed() -> None:
    assert xml_name(InvoiceLine, "net_amount") == "P_11"
    assert field_map(InvoiceLine)["vat_rate"] == "P_12"


# ---------------------------------------------------------------------------- loud failures


def _inject(xml: bytes, after: bytes, extra: bytes) -> bytes:
    assert after in xml
    return xml.replace(after, after + extra, 1)


def test_unknown_element_fails_with_its_path() -> None:
    xml = _inject(sample(1), "wniesienie sprzętu</P_7>".encode(), b"<Kolor>czerwony</Kolor>")
    with pytest.raises(InvoiceParseError) as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Fa/FaWiersz[2]/Kolor"
    assert "not in the FA(3) model" in str(caught.value)


def test_unknown_attribute_fails() -> None:
    xml = sample(1).replace(b"<P_12>23</P_12>", b'<P_12 rabat="1">23</P_12>', 1)
    with pytest.raises(InvoiceParseError) as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Fa/FaWiersz[1]/P_12/@rabat"


def test_element_out_of_order_fails() -> None:
    xml = sample(1).replace(b"<P_1>2026-02-15</P_1>", b"", 1)
    xml = _inject(xml, b"<P_1M>Warszawa</P_1M>", b"<P_1>2026-02-15</P_1>")
    with pytest.raises(InvoiceParseError) as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Fa/P_1"
    assert "order" in caught.value.reason


def test_repeated_singleton_fails() -> None:
    xml = _inject(sample(1), b"<P_2>FV2026/02/150</P_2>", b"<P_2>FV2026/02/151</P_2>")
    with pytest.raises(InvoiceParseError, match="allowed once") as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Fa/P_2"


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (b"<P_12>5</P_12>", b"<P_12>6</P_12>", "Faktura/Fa/FaWiersz[3]/P_12"),
        (b"<P_11>0.95</P_11>", b"<P_11>0,95</P_11>", "Faktura/Fa/FaWiersz[3]/P_11"),
        (b"<P_1>2026-02-15</P_1>", b"<P_1>15.02.2026</P_1>", "Faktura/Fa/P_1"),
        (b"<P_16>2</P_16>", b"<P_16>0</P_16>", "Faktura/Fa/Adnotacje/P_16"),
        (b"<P_19N>1</P_19N>", b"<P_19N>2</P_19N>", "Faktura/Fa/Adnotacje/Zwolnienie/P_19N"),
        (
            b"<NrWierszaFa>2</NrWierszaFa>",
            b"<NrWierszaFa>2a</NrWierszaFa>",
            "Faktura/Fa/FaWiersz[2]/NrWierszaFa",
        ),
    ],
)
def test_bad_values_fail_with_their_path(old: bytes, new: bytes, path: str) -> None:
    xml = sample(1)
    assert old in xml
    with pytest.raises(InvoiceParseError) as caught:
        parse(xml.replace(old, new, 1))
    assert caught.value.path == path


def test_missing_required_element_fails() -> None:
    xml = sample(1).replace(b"<P_15>2051</P_15>", b"")
    with pytest.raises(InvoiceParseError, match="required") as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Fa/P_15"


def test_stray_text_and_children_fail() -> None:
    with pytest.raises(InvoiceParseError, match="unexpected text"):
        parse(sample(1).replace(b"<Fa>", b"<Fa>tekst", 1))
    with pytest.raises(InvoiceParseError, match="child elements") as caught:
        parse(sample(1).replace(b"<P_2>FV2026/02/150</P_2>", b"<P_2><b>FV</b></P_2>", 1))
    assert caught.value.path == "Faktura/Fa/P_2"


def test_foreign_namespace_element_fails() -> None:
    xml = _inject(sample(1), b"<Fa>", b'<x:Extra xmlns:x="urn:x">1</x:Extra>')
    with pytest.raises(InvoiceParseError, match="foreign namespace") as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Fa/Extra"


def test_not_an_fa3_document_fails() -> None:
    fa2 = sample(1).replace(NS.encode(), b"http://crd.gov.pl/wzor/2023/06/29/12648/")
    with pytest.raises(InvoiceParseError, match="not an FA\\(3\\) invoice"):
        parse(fa2)
    with pytest.raises(InvoiceParseError, match="not well-formed") as caught:
        parse(b"<Faktura")
    assert caught.value.path == ""


def test_comments_are_not_data() -> None:
    xml = _inject(sample(1), b"<Fa>", b"<!-- komentarz -->")
    assert parse(xml) == parse(sample(1))


def test_writing_a_wrong_type_names_the_field() -> None:
    invoice = parse(sample(1))
    line = dataclasses.replace(invoice.fa.lines[0], net_amount=1626.01)  # type: ignore[arg-type]
    broken = dataclasses.replace(invoice, fa=dataclasses.replace(invoice.fa, lines=(line,)))
    with pytest.raises(TypeError, match=r"Faktura/Fa/FaWiersz/P_11 \(InvoiceLine.net_amount\)"):
        broken.to_xml()


def test_copies_and_pickles_keep_the_written_forms() -> None:
    invoice = parse(sample(20))
    for copy_of in (copy.deepcopy(invoice), pickle.loads(pickle.dumps(invoice))):
        assert copy_of == invoice
        assert copy_of.to_xml() == invoice.to_xml()


def test_missing_required_attribute_fails() -> None:
    xml = sample(24).replace(b'<Kol Typ="txt">', b"<Kol>", 1)
    with pytest.raises(InvoiceParseError, match="required attribute") as caught:
        parse(xml)
    assert caught.value.path == "Faktura/Zalacznik/BlokDanych[1]/Tabela[1]/TNaglowek/Kol[1]/@Typ"
