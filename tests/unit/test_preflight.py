"""Tests of the pre-flight invoice checks (KSEF_API.md §9), one per rule."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

import ksefkit.preflight as preflight_module
from ksefkit.errors import PreflightError, SchemaNotFoundError
from ksefkit.formcodes import FormCode
from ksefkit.preflight import (
    MAX_INVOICE_SIZE,
    MAX_INVOICE_WITH_ATTACHMENT_SIZE,
    check_invoice,
    encoding_problems,
)
from ksefkit.schemas import SchemaStore, reset_default_store

SPEC = Path(os.environ.get("KSEFKIT_SCHEMA_DIR", "/work/shared/ksef-spec"))
SAMPLES = sorted((SPEC / "samples" / "FA3").glob("*.xml"))
needs_spec = pytest.mark.skipif(not SPEC.is_dir(), reason="KSEFKIT_SCHEMA_DIR not available")


@pytest.fixture
def store(tmp_path: Path) -> SchemaStore:
    return SchemaStore(SPEC, tmp_path / "cache", download=False)


@pytest.fixture
def sample() -> bytes:
    return SAMPLES[0].read_bytes()


def problems_of(xml: bytes, store: SchemaStore, **kw: object) -> list[str]:
    with pytest.raises(PreflightError) as info:
        check_invoice(xml, FormCode.FA3, store=store, **kw)  # type: ignore[arg-type]
    assert info.value.problems
    return info.value.problems


def test_doctests() -> None:
    result = doctest.testmod(preflight_module)
    assert result.attempted >= 4
    assert result.failed == 0


def test_limits() -> None:
    assert MAX_INVOICE_SIZE == 1_000_000
    assert MAX_INVOICE_WITH_ATTACHMENT_SIZE == 3_000_000


# --- encoding_problems, rule by rule ------------------------------------------------------


def test_clean_documents_have_no_problems() -> None:
    assert encoding_problems(b"<a/>") == []
    assert encoding_problems(b'<?xml version="1.0" encoding="utf-8"?>\n<a>\xc5\xbc</a>') == []
    assert encoding_problems(b"<?xml version='1.0'?><a/>") == []
    # U+0085 (NEL) is not in the discouraged list; a "<?" inside CDATA/comments is not a PI
    assert encoding_problems("<a>\x85<![CDATA[<?x?>]]><!-- <?y?> --></a>".encode()) == []


def test_bom() -> None:
    problems = encoding_problems(b"\xef\xbb\xbf<a/>")
    assert len(problems) == 1
    assert "BOM" in problems[0]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32(codec: str) -> None:
    problems = encoding_problems('<?xml version="1.0"?><a/>'.encode(codec))
    assert len(problems) == 1
    assert "requires UTF-8" in problems[0]
    assert codec[:6].upper() in problems[0]


def test_latin1_declaration() -> None:
    xml = '<?xml version="1.0" encoding="ISO-8859-1"?><a>x</a>'.encode("latin-1")
    assert encoding_problems(xml) == [
        "the XML declaration names encoding 'ISO-8859-1'; only UTF-8 is accepted"
    ]


def test_latin1_bytes_are_not_utf8() -> None:
    xml = '<?xml version="1.0" encoding="windows-1250"?><a>ł</a>'.encode("cp1250")
    problems = encoding_problems(xml)
    assert any("not valid UTF-8" in p for p in problems)
    assert any("'windows-1250'" in p for p in problems)


@pytest.mark.parametrize(
    ("xml", "target"),
    [
        (b'<?xml-stylesheet type="text/xsl" href="f.xsl"?>\n<a/>', "xml-stylesheet"),
        (b"<a><b><?php echo 1; ?></b></a>", "php"),
        (b"<a/>\n<?after x?>", "after"),
    ],
)
def test_processing_instructions(xml: bytes, target: str) -> None:
    problems = encoding_problems(xml)
    assert len(problems) == 1
    assert f"<?{target} ...?>" in problems[0]
    assert "not allowed" in problems[0]


@pytest.mark.parametrize(
    "char", ["\x7f", "\x84", "\x86", "\x9f", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"]
)
def test_discouraged_characters(char: str) -> None:
    problems = encoding_problems(f"<a>\n x{char}</a>".encode())
    assert problems == [f"discouraged character U+{ord(char):04X} at line 2, column 3"]


def test_many_discouraged_characters_are_summarised() -> None:
    problems = encoding_problems(("<a>" + "\x80" * 8 + "</a>").encode())
    assert len(problems) == 6
    assert problems[-1] == "... and 3 more discouraged characters"


@pytest.mark.parametrize(
    "xml",
    [
        b'<!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>',
        b'<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>',
        b"<!DOCTYPE a><a/>",
    ],
)
def test_doctype_rejected(xml: bytes) -> None:
    problems = encoding_problems(xml)
    assert any("DOCTYPE" in p for p in problems)


def test_entities_are_not_expanded() -> None:
    lol = (
        b'<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;">]><a>&l2;</a>'
    )
    problems = encoding_problems(lol)
    assert any("DOCTYPE" in p for p in problems)


@pytest.mark.parametrize(
    "xml",
    [
        b"<a><b></a>",
        b"<a>",
        b"not xml",
        b"<a/><b/>",
        b'  <?xml version="1.0"?><a/>',
        b"<a>\x01</a>",
    ],
)
def test_malformed(xml: bytes) -> None:
    problems = encoding_problems(xml)
    assert len(problems) == 1
    assert problems[0].startswith("not well-formed XML: line ")


# --- check_invoice ----------------------------------------------------------------------------


@needs_spec
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_all_samples_pass(path: Path, store: SchemaStore) -> None:
    check_invoice(path.read_bytes(), FormCode.FA3, store=store, file_name=path.name)


@needs_spec
def test_sample_count() -> None:
    assert len(SAMPLES) == 26


@needs_spec
def test_empty(store: SchemaStore) -> None:
    with pytest.raises(PreflightError) as info:
        check_invoice(b"", FormCode.FA3, store=store, file_name="a.xml")
    assert info.value.problems == ["the file is empty"]
    assert info.value.file_name == "a.xml"
    assert str(info.value).startswith("a.xml: ")


@needs_spec
def test_too_big(store: SchemaStore, sample: bytes) -> None:
    problems = problems_of(sample, store, max_size=len(sample) - 1)
    assert problems == [
        f"the file has {len(sample)} bytes, over the limit of {len(sample) - 1} bytes"
    ]
    check_invoice(sample, FormCode.FA3, store=store, max_size=len(sample))


@needs_spec
def test_too_big_default_limit(store: SchemaStore, sample: bytes) -> None:
    padded = sample.replace(b"</Faktura>", b"<!--" + b" " * MAX_INVOICE_SIZE + b"--></Faktura>")
    problems = problems_of(padded, store)
    assert len(problems) == 1
    assert "over the limit of 1000000 bytes" in problems[0]
    check_invoice(padded, FormCode.FA3, store=store, max_size=MAX_INVOICE_WITH_ATTACHMENT_SIZE)


@needs_spec
def test_bom_invoice(store: SchemaStore, sample: bytes) -> None:
    problems = problems_of(b"\xef\xbb\xbf" + sample, store)
    assert len(problems) == 1
    assert "BOM" in problems[0]


@needs_spec
def test_processing_instruction_in_invoice(store: SchemaStore, sample: bytes) -> None:
    xml = sample.replace(b"<Naglowek>", b"<?page 2?><Naglowek>", 1)
    assert b"<?page 2?>" in xml
    problems = problems_of(xml, store)
    assert any("<?page ...?>" in p for p in problems)


@needs_spec
def test_discouraged_char_in_invoice(store: SchemaStore, sample: bytes) -> None:
    xml = sample.replace(b"<P_2>", "<P_2>\u0081".encode(), 1)
    problems = problems_of(xml, store)
    assert problems == [problems[0]]
    assert "U+0081" in problems[0]


@needs_spec
def test_wrong_namespace(store: SchemaStore, sample: bytes) -> None:
    with pytest.raises(PreflightError) as info:
        check_invoice(sample, FormCode.FA2, store=store)
    problems = info.value.problems
    assert len(problems) == 1  # no XSD noise once the namespace is wrong
    assert "http://crd.gov.pl/wzor/2023/06/29/12648/" in problems[0]
    assert "'Faktura'" in problems[0]
    no_ns = problems_of(b"<Faktura/>", store)
    assert no_ns == [
        "root element 'Faktura' has no namespace, but form code FA (3) needs "
        "'http://crd.gov.pl/wzor/2025/06/25/13775/'"
    ]


@needs_spec
def test_xsd_error(store: SchemaStore, sample: bytes) -> None:
    xml = sample.replace(b"<P_2>", b"<P_2b>", 1).replace(b"</P_2>", b"</P_2b>", 1)
    problems = problems_of(xml, store)
    assert len(problems) == 1
    assert problems[0].startswith("schema FA (3): line ")
    assert "P_2b" in problems[0]
    # without schema validation the same file passes
    check_invoice(xml, FormCode.FA3, validate_schema=False)


@needs_spec
def test_every_problem_is_listed(store: SchemaStore, sample: bytes) -> None:
    xml = b"\xef\xbb\xbf" + sample.replace(b"<P_2>", "<P_2>\u0090".encode(), 1)
    problems = problems_of(xml, store, max_size=100)
    assert len(problems) == 3
    assert "over the limit" in problems[0]
    assert "BOM" in problems[1]
    assert "U+0090" in problems[2]


def test_schema_missing_raises_before_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")
    reset_default_store()
    try:
        with pytest.raises(SchemaNotFoundError, match="ksefkit schemas fetch"):
            check_invoice(b"<Faktura/>", FormCode.FA3)
        with pytest.raises(PreflightError):
            check_invoice(b"<Faktura/>", FormCode.FA3, validate_schema=False)
    finally:
        reset_default_store()


def test_byte_level_discouraged_search_matches_the_character_set() -> None:
    # The fast byte search must flag exactly the code points the character regex flags.
    from ksefkit import preflight

    edges = [0x7E, 0x7F, 0x80, 0x84, 0x85, 0x86, 0x9F, 0xA0, 0xFDCF, 0xFDD0, 0xFDEF, 0xFDF0]
    edges += [0xFFFD, 0xFFFE, 0xFFFF]
    for plane in range(1, 17):
        base = plane * 0x10000
        edges += [base + 0xFFFD, base + 0xFFFE, base + 0xFFFF, base]
    for cp in edges:
        char = chr(cp)
        expected = preflight._DISCOURAGED.search(char) is not None
        assert preflight._may_hold_discouraged(("a" + char + "b").encode()) == expected, hex(cp)
