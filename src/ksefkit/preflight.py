"""The checks KSeF applies to an invoice file (KSEF_API.md §9), run before sending.

Shared by the SDK (fail fast, before anything is encrypted and sent) and the emulator (its
status 430 "invoice verification failed"). Every rule reports a short English sentence; all
problems are collected, not just the first:

* not empty, and at most ``max_size`` bytes (1 MB; 3 MB with attachments);
* UTF-8 without BOM; an XML declaration, if it names an encoding, names UTF-8;
* no processing instructions (the ``<?xml ...?>`` declaration itself is fine), no DOCTYPE;
* none of the W3C "discouraged" characters (#x7F-#x84, #x86-#x9F, #xFDD0-#xFDEF and the last
  two code points of planes 1-16);
* well-formed XML whose root element is in the form code's namespace;
* valid against the form code's XSD.

>>> encoding_problems(b"\\xef\\xbb\\xbf<a/>")
['the file starts with a UTF-8 byte order mark (BOM); KSeF requires UTF-8 without BOM']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .errors import PreflightError
from .formcodes import FormCode
from .schemas import SchemaStore, default_store, safe_parser

__all__ = [
    "MAX_INVOICE_SIZE",
    "MAX_INVOICE_WITH_ATTACHMENT_SIZE",
    "check_invoice",
    "encoding_problems",
]

MAX_INVOICE_SIZE = 1_000_000
MAX_INVOICE_WITH_ATTACHMENT_SIZE = 3_000_000

_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
    (b"\x00<", "UTF-16"),
    (b"<\x00", "UTF-16"),
)
_DECLARATION = re.compile(r"""\A<\?xml\s[^>]*?\bencoding\s*=\s*(["'])([^"']*)\1""")
_DISCOURAGED = re.compile(
    "[\x7f-\x84\x86-\x9f\ufdd0-\ufdef"
    + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
    + "]"
)
# The same set as _DISCOURAGED, as UTF-8 byte sequences: a C-speed search on the raw bytes
# lets clean documents (nearly all) skip the per-character scan of the decoded text.
_DISCOURAGED_UTF8 = re.compile(
    rb"\x7f|\xc2[\x80-\x84\x86-\x9f]|\xef\xb7[\x90-\xaf]|[\xf0-\xf4][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]"
)
_MAX_LISTED = 5


@dataclass
class _Inspection:
    problems: list[str]
    root: etree._Element | None


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _may_hold_discouraged(body: bytes) -> bool:
    """False only when the raw bytes surely hold no discouraged character (exact for UTF-8)."""
    if body.isascii():
        return b"\x7f" in body
    return _DISCOURAGED_UTF8.search(body) is not None


def _discouraged_problems(text: str) -> list[str]:
    hits = list(_DISCOURAGED.finditer(text))
    problems = [
        f"discouraged character U+{ord(m.group()):04X} at {_position(text, m.start())}"
        for m in hits[:_MAX_LISTED]
    ]
    if len(hits) > _MAX_LISTED:
        problems.append(f"... and {len(hits) - _MAX_LISTED} more discouraged characters")
    return problems


def _decode(xml: bytes, problems: list[str]) -> str:
    try:
        return xml.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(f"the file is not valid UTF-8 (first bad byte at offset {exc.start})")
        return xml.decode("utf-8", errors="replace")


def _parse(xml: bytes, problems: list[str]) -> etree._Element | None:
    try:
        root = etree.fromstring(xml, safe_parser())
    except etree.XMLSyntaxError as exc:
        problems.append(f"not well-formed XML: line {exc.lineno}: {exc.msg}")
        return None
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack doctype/internalDTD
    if docinfo.doctype or docinfo.internalDTD is not None:
        problems.append("a DOCTYPE declaration is not allowed (KSeF rejects DTDs and entities)")
    return root


def _pi_target(pi: Any) -> str:
    # lxml returns str; the stubs claim bytes.
    return str(pi.target)


def _processing_instructions(root: etree._Element) -> list[str]:
    top = [
        *reversed(list(root.itersiblings(preceding=True))),
        *root.itersiblings(),
    ]
    nested = root.iter(etree.ProcessingInstruction)
    return [
        f"processing instruction <?{_pi_target(pi)} ...?> at line {pi.sourceline} is not allowed"
        for pi in (*top, *nested)
        if isinstance(pi, etree._ProcessingInstruction)
    ]


def _inspect(xml: bytes) -> _Inspection:
    for bom, name in _WIDE_BOMS:
        if xml.startswith(bom):
            return _Inspection([f"the file is {name}-encoded; KSeF requires UTF-8"], None)
    problems: list[str] = []
    body = xml
    if xml.startswith(_UTF8_BOM):
        problems.append(
            "the file starts with a UTF-8 byte order mark (BOM); KSeF requires UTF-8 without BOM"
        )
        body = xml[len(_UTF8_BOM) :]
    text = _decode(body, problems)
    declared = _DECLARATION.match(text)
    if declared and declared.group(2).strip().lower() != "utf-8":
        problems.append(
            f"the XML declaration names encoding {declared.group(2)!r}; only UTF-8 is accepted"
        )
    if _may_hold_discouraged(body):
        problems.extend(_discouraged_problems(text))
    valid_utf8 = not any(p.startswith("the file is not valid UTF-8") for p in problems)
    root = _parse(xml, problems) if valid_utf8 else None
    if root is not None:
        problems.extend(_processing_instructions(root))
    return _Inspection(problems, root)


def encoding_problems(xml: bytes) -> list[str]:
    """Encoding and well-formedness problems of an invoice file (empty list = none).

    Covers BOM, UTF-16/32, invalid UTF-8, a non-UTF-8 encoding declaration, processing
    instructions, discouraged characters, DOCTYPE and malformed XML.

    >>> encoding_problems(b'<?xml version="1.0" encoding="UTF-8"?><Faktura/>')
    []
    >>> encoding_problems(b'<a><?php echo 1; ?></a>')
    ['processing instruction <?php ...?> at line 1 is not allowed']
    """
    return _inspect(xml).problems


def _namespace_problem(root: etree._Element, form_code: FormCode) -> str | None:
    qname = etree.QName(root)
    expected = form_code.value.namespace
    if qname.namespace == expected:
        return None
    found = f"namespace {qname.namespace!r}" if qname.namespace else "no namespace"
    return (
        f"root element {qname.localname!r} has {found}, but form code "
        f"{form_code.system_code} needs {expected!r}"
    )


def check_invoice(
    xml: bytes,
    form_code: FormCode,
    *,
    max_size: int = MAX_INVOICE_SIZE,
    validate_schema: bool = True,
    store: SchemaStore | None = None,
    file_name: str | None = None,
) -> None:
    """Raise PreflightError listing every reason KSeF would reject ``xml`` (status 430).

    With ``validate_schema`` the form code's XSD must be available (``store`` or the default
    store), else SchemaNotFoundError is raised before any other check; callers that can live
    without XSD validation pass ``validate_schema=False``.

    >>> check_invoice(b"", FormCode.FA3, validate_schema=False)
    Traceback (most recent call last):
    ksefkit.errors.PreflightError: the file is empty
    """
    schema_store: SchemaStore | None = None
    if validate_schema:
        schema_store = store if store is not None else default_store()
        schema_store.invoice_schema(form_code)  # raises SchemaNotFoundError early
    if not xml:
        raise PreflightError(["the file is empty"], file_name=file_name)
    problems: list[str] = []
    if len(xml) > max_size:
        problems.append(f"the file has {len(xml)} bytes, over the limit of {max_size} bytes")
    inspection = _inspect(xml)
    problems.extend(inspection.problems)
    root = inspection.root
    if root is not None:
        wrong_namespace = _namespace_problem(root, form_code)
        if wrong_namespace:
            problems.append(wrong_namespace)
        elif schema_store is not None:
            errors = schema_store.validate_invoice(root, form_code)
            problems.extend(f"schema {form_code.system_code}: {e}" for e in errors)
    if problems:
        raise PreflightError(problems, file_name=file_name)
