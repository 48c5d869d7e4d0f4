"""Rewrite the identity of an existing FA invoice: seller NIP, invoice number, issue date.

Owns :func:`rewrite_invoice`, used to turn the Ministry's sample invoices (which share seller
NIP 9999999999 and numbers, and some carry future issue dates — KSEF_API.md §17.17) into
fresh, acceptable test fixtures.

How: the new values are spliced into the original bytes, so everything else (declaration,
prefixes, whitespace, comments, character references) stays byte-for-byte. The splice is then
checked against an lxml edit of the same document (canonical forms must be equal); if that ever
disagrees, the lxml-edited document is returned instead (same content, re-serialised).

Only the three named fields change. Other dates — ``P_6`` (delivery date),
``DataWytworzeniaFa``, payment and order dates — are left as they are: the XSD sets no order
between them and ``P_1``, so the document stays valid, and KSeF itself only checks that ``P_1``
is not after the day of acceptance. A fixture that needs consistent dates must set them itself.

Which fields: FA(2)/FA(3) ``Podmiot1/DaneIdentyfikacyjne/NIP``, ``Fa/P_2``, ``Fa/P_1``; FA_RR(1)
follows :mod:`ksefkit.invoices.facts` (issuer ``Podmiot2`` NIP, ``FakturaRR/P_4C``, ``P_4B``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from lxml import etree

from ..formcodes import FormCode

__all__ = ["rewrite_invoice"]

_Path = tuple[str, ...]
_FA_PATHS = (("Podmiot1", "DaneIdentyfikacyjne", "NIP"), ("Fa", "P_2"), ("Fa", "P_1"))
_RR_PATHS = (
    ("Podmiot2", "DaneIdentyfikacyjne", "NIP"),
    ("FakturaRR", "P_4C"),
    ("FakturaRR", "P_4B"),
)
_NIP = re.compile(r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}$")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def _find(root: etree._Element, ns: str, path: _Path) -> etree._Element:
    element: etree._Element | None = root
    for name in path:
        assert element is not None
        element = element.find(ns + name)
        if element is None:
            raise ValueError(f"invoice has no {'/'.join(path)}")
    assert element is not None
    return element


def _splice(text: str, path: _Path, value: str) -> str | None:
    """Replace the content of the first element at ``path`` in ``text``; None if unsure."""
    start, end = 0, len(text)
    for name in path:
        opening = re.compile(rf"<(?:[\w.-]+:)?{re.escape(name)}(?:\s[^<>]*)?>").search(
            text, start, end
        )
        if opening is None:
            return None
        closing = re.compile(rf"</(?:[\w.-]+:)?{re.escape(name)}\s*>").search(
            text, opening.end(), end
        )
        if closing is None:
            return None
        start, end = opening.end(), closing.start()
    return text[:start] + escape(value) + text[end:]


def rewrite_invoice(
    xml: bytes,
    *,
    seller_nip: str | None = None,
    invoice_number: str | None = None,
    issue_date: datetime.date | None = None,
) -> bytes:
    """Return ``xml`` with a new seller NIP, invoice number and/or issue date.

    Arguments left as ``None`` are not touched. Raises ``ValueError`` for malformed XML,
    a document that lacks one of the fields, a NIP that is not 10 valid digits or an empty
    number.

    >>> from ksefkit.invoices.facts import extract_facts
    >>> sample = open("FA_3_Przyklad_1.xml", "rb").read()  # doctest: +SKIP
    >>> fresh = rewrite_invoice(sample, invoice_number="T/1", issue_date=datetime.date.today())
    ... # doctest: +SKIP
    >>> extract_facts(fresh).invoice_number  # doctest: +SKIP
    'T/1'
    """
    if seller_nip is not None and not _NIP.match(seller_nip):
        raise ValueError(f"seller_nip {seller_nip!r} is not a 10-digit NIP")
    if invoice_number is not None and not invoice_number.strip():
        raise ValueError("invoice_number must not be empty")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"invoice is not well-formed XML: {exc}") from exc
    qname = etree.QName(root)
    ns = f"{{{qname.namespace}}}" if qname.namespace else ""
    is_rr = qname.namespace == FormCode.FA_RR1.value.namespace
    paths: Sequence[_Path] = _RR_PATHS if is_rr else _FA_PATHS
    changes = [
        (path, value)
        for path, value in zip(
            paths,
            (seller_nip, invoice_number, issue_date.isoformat() if issue_date else None),
            strict=True,
        )
        if value is not None
    ]
    for path, value in changes:
        _find(root, ns, path).text = value
    if not changes:
        return xml
    expected = etree.tostring(root, method="c14n")

    spliced = _try_splice(xml, changes)
    if spliced is not None:
        try:
            if etree.tostring(etree.fromstring(spliced, _parser()), method="c14n") == expected:
                return spliced
        except etree.XMLSyntaxError:
            pass
    # Fallback: same content, serialised by lxml (keeps the UTF-8 declaration).
    data: bytes = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    return data


def _try_splice(xml: bytes, changes: Sequence[tuple[_Path, str]]) -> bytes | None:
    bom = b"\xef\xbb\xbf" if xml.startswith(b"\xef\xbb\xbf") else b""
    try:
        text = xml[len(bom) :].decode("utf-8")
    except UnicodeDecodeError:
        return None
    for path, value in changes:
        result = _splice(text, path, value)
        if result is None:
            return None
        text = result
    return bom + text.encode("utf-8")
