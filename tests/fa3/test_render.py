"""The HTML rendering: every sample renders to a well-formed, self-contained page that shows
every value of the invoice (walking the model: "the same data as the XML")."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterator
from decimal import Decimal as D
from html.parser import HTMLParser
from pathlib import Path

import lxml.html
import pytest

from ksefkit.fa3 import (
    Annotations,
    CorrectedInvoice,
    Invoice,
    InvoiceBuilder,
    Party,
    PaymentMethod,
    VatRate,
    parse,
)
from ksefkit.fa3.render import format_value, label, render_html

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "ksef-spec" / "samples" / "FA3"
SAMPLE_FILES = sorted(SAMPLES.glob("FA_3_Przyklad_*.xml"), key=lambda p: int(p.stem.split("_")[-1]))
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}

#: True markers the page shows through another value rather than by their own label: the
#: "none" alternatives of the annotations (shown as "nie" rows), P_PMarzy (shown with its
#: kind), NrKSeF (the KSeF number itself is shown).
IMPLIED = {
    ("Exemption", "none"),
    ("NewVehicles", "none"),
    ("MarginScheme", "none"),
    ("MarginScheme", "applies"),
    ("MarginScheme", "travel"),
    ("MarginScheme", "used_goods"),
    ("MarginScheme", "works_of_art"),
    ("MarginScheme", "antiques"),
    ("CorrectedInvoice", "in_ksef"),
}


def leaves(obj: object) -> Iterator[tuple[type, str, object]]:
    """Every (class, attribute, value) leaf of a model object that holds a value."""
    for spec in dataclasses.fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, spec.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if dataclasses.is_dataclass(item):
                yield from leaves(item)
            elif item is not None:
                yield type(obj), spec.name, item


def page_text(page: str) -> str:
    root = lxml.html.document_fromstring(page)
    for style in root.iter("style"):
        style.drop_tree()
    return " ".join(" ".join(root.itertext()).split())


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-3:]}"
        self.stack.pop()


def assert_well_formed(page: str) -> None:
    checker = TagBalance()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    root = lxml.html.document_fromstring(page)
    assert root.tag == "html"
    assert root.find("head/title") is not None


def assert_shows_everything(invoice: Invoice, text: str) -> None:
    missing = []
    for cls, attr, value in leaves(invoice):
        if isinstance(value, bool):
            # False is an absent marker or a "no" flag; annotations are rows of yes/no.
            if not value or (cls.__name__, attr) in IMPLIED or cls is Annotations:
                continue
            expected = label(cls, attr)
        else:
            expected = " ".join(format_value(value).split())
        if expected not in text:
            missing.append(f"{cls.__name__}.{attr} = {value!r} (looked for {expected!r})")
    assert missing == []


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.stem)
def test_every_sample_renders_all_its_data(path: Path) -> None:
    invoice = parse(path.read_bytes())
    page = render_html(invoice)
    assert page.startswith("<!DOCTYPE html>")
    assert_well_formed(page)
    assert_shows_everything(invoice, page_text(page))


def test_the_page_is_self_contained_and_printable() -> None:
    page = render_html(parse(SAMPLE_FILES[0].read_bytes()))
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@media print" in page
    assert '<meta charset="utf-8">' in page


def test_text_is_escaped() -> None:
    invoice = (
        InvoiceBuilder(
            seller=Party.company("5265877635", "A & B <sp. z o.o.>", 'ul. "Prosta" 51'),
            buyer=Party.company("7740001454", "<script>alert(1)</script>", "ul. Długa 5"),
        )
        .number("FV/<1>&2")
        .issued(datetime.date(2026, 2, 1))
        .created(datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC))
        .line("<b>bold</b>", D(1), D(10))
        .build()
    )
    page = render_html(invoice)
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A &amp; B &lt;sp. z o.o.&gt;" in page
    assert_well_formed(page)
    assert_shows_everything(invoice, page_text(page))


def test_key_facts_of_sample_1() -> None:
    page = render_html(parse((SAMPLES / "FA_3_Przyklad_1.xml").read_bytes()))
    text = page_text(page)
    root = lxml.html.document_fromstring(page)
    assert root.findtext("head/title") == "Faktura VAT FV2026/02/150"
    assert "Sprzedawca ABC AGD sp. z o. o." in text
    assert "Kwota należności ogółem: 2 051 PLN" in text  # (page_text turns no-break spaces)
    # the VAT summary: one row per rate, net and VAT as written
    summary = root.find_class("summary")[0]
    rows = [" ".join(" ".join(r.itertext()).split()) for r in summary.iter("tr")][1:]
    assert rows == ["23% lub 22% 1 666,66 383,33", "5% 0,95 0,05"]


def test_a_correction_shows_the_corrected_invoice_and_the_state_before() -> None:
    invoice = parse((SAMPLES / "FA_3_Przyklad_2.xml").read_bytes())
    page = render_html(invoice)
    text = page_text(page)
    corrected = invoice.fa.corrected_invoices[0]
    assert isinstance(corrected, CorrectedInvoice)
    assert "Faktura korygująca" in text and corrected.number in text
    assert page.count('class="before-row"') == 1
    assert "Stan przed korektą" in text


def test_values_are_formatted_for_people() -> None:
    assert format_value(D("1234567.5")) == "1\u00a0234\u00a0567,5"
    assert format_value(D("-0.95")) == "-0,95"
    assert format_value(D("4.5005")) == "4,5005"
    assert format_value(VatRate.EXEMPT) == "zw"
    assert format_value(VatRate.ZERO_DOMESTIC) == "0% KR"
    assert format_value(PaymentMethod.CASH) == "gotówka"
    assert format_value(False) == "nie"


def test_attachment_tables_keep_their_rows_and_columns() -> None:
    invoice = parse((SAMPLES / "FA_3_Przyklad_24.xml").read_bytes())
    root = lxml.html.document_fromstring(render_html(invoice))
    (first, *_rest) = root.find_class("attachment")
    table = invoice.attachment.blocks[0].tables[0]  # type: ignore[union-attr]
    heads = [" ".join(th.itertext()).split(" ")[0] for th in first.iter("th")]
    assert len(heads) == len(table.header.columns)
    rows = first.findall("tbody/tr")
    assert len(rows) == len(table.rows)
    # a sub-heading row (fewer cells than columns) spans the table
    short = next(r for r, data in zip(rows, table.rows, strict=True) if len(data.cells) == 1)
    assert short.find("td").get("colspan") == str(len(table.header.columns))
