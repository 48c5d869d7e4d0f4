"""The one generic engine that writes and reads every FA(3) model class.

Model classes (``model.py``) are declared with :func:`model` and their fields with
:func:`xml` (a child element), :func:`xml_attr` (an attribute) or :func:`xml_text` (the
element's own text). Field order is XSD sequence order; the Python type of a field says how
its text is converted:

========================  ====================================================================
``str``                   the text as written (an empty element reads as ``""``)
``int``                   ``xsd:integer`` family
``Decimal``               ``xsd:decimal`` family, kept as written (``"100.00"`` stays so)
``datetime.date``         ``YYYY-MM-DD``
``datetime.datetime``     ``xsd:dateTime``; a parsed value remembers its lexical form
``StrEnum`` subclass      a code list
``bool``                  ``TWybor1`` marker ("1", absent when False) or, with
                          ``yes_no=True``, ``TWybor1_2`` ("1" = True, "2" = False)
a model class             a nested element
``X | None``              optional (absent when None)
``tuple[X, ...]``         repeated (in document order)
========================  ====================================================================

Writing never reorders or invents data; reading fails loudly (:class:`InvoiceParseError`
with the element path) on anything the model cannot hold — an unknown element or
attribute, an element out of sequence order, a repeated singleton, stray text, a value of
the wrong lexical form — so a parsed invoice never silently loses data. Comments and
processing instructions are not invoice data and are skipped.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import MISSING
from decimal import Decimal
from typing import Any, SupportsIndex, TypeVar, cast, dataclass_transform

from lxml import etree

from ..errors import InvoiceParseError
from ..formcodes import FormCode
from ..schemas import safe_parser

__all__ = [
    "NAMESPACE",
    "ROOT_TAG",
    "WrittenDateTime",
    "field_map",
    "model",
    "modelled_paths",
    "read_document",
    "write_document",
    "xml",
    "xml_attr",
    "xml_name",
    "xml_text",
]

#: Namespace of FA(3) documents.
NAMESPACE = FormCode.FA3.value.namespace
#: Local name of the document element.
ROOT_TAG = "Faktura"
_Q = "{" + NAMESPACE + "}"
_NSMAP = cast("dict[str, str]", {None: NAMESPACE})

_C = TypeVar("_C")

_META_KEY = "ksefkit.fa3"


class _Kind(enum.Enum):
    ELEMENT = "element"
    ATTRIBUTE = "attribute"
    TEXT = "text"


@dataclasses.dataclass(frozen=True, slots=True)
class _FieldMeta:
    kind: _Kind
    name: str
    yes_no: bool


def xml(
    name: str,
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    yes_no: bool = False,
) -> Any:
    """A field stored as the child element ``name`` (its Polish XSD name).

    ``yes_no=True`` marks a ``TWybor1_2`` flag ("1" yes / "2" no) on a ``bool`` field.

    >>> @model
    ... class Row:
    ...     net: Decimal = xml("P_11")
    >>> xml_name(Row, "net")
    'P_11'
    """
    return dataclasses.field(
        default=default,
        default_factory=default_factory,
        metadata={_META_KEY: _FieldMeta(_Kind.ELEMENT, name, yes_no)},
    )


def xml_attr(name: str, *, default: Any = MISSING) -> Any:
    """A field stored as the attribute ``name`` of the class's element.

    >>> @model
    ... class Column:
    ...     type: str = xml_attr("Typ")
    >>> xml_name(Column, "type")
    '@Typ'
    """
    return dataclasses.field(
        default=default, metadata={_META_KEY: _FieldMeta(_Kind.ATTRIBUTE, name, False)}
    )


def xml_text(*, default: Any = MISSING) -> Any:
    """A field stored as the text of the class's own element (``simpleContent``).

    >>> @model
    ... class Code:
    ...     value: str = xml_text(default="FA")
    >>> Code().value
    'FA'
    """
    return dataclasses.field(
        default=default, metadata={_META_KEY: _FieldMeta(_Kind.TEXT, "", False)}
    )


@dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(xml, xml_attr, xml_text)
)
def model(cls: type[_C]) -> type[_C]:
    """Make ``cls`` a frozen, slotted, keyword-only dataclass the engine can write and read.

    >>> @model
    ... class Pair:
    ...     key: str = xml("Klucz")
    >>> Pair(key="a")
    Pair(key='a')
    """
    made = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)
    made.__fa3_model__ = True  # type: ignore[attr-defined]
    return made


def _is_model(tp: object) -> bool:
    return isinstance(tp, type) and getattr(tp, "__fa3_model__", False) is True


# --------------------------------------------------------------------------------- codecs


class WrittenDateTime(datetime.datetime):
    """A parsed ``xsd:dateTime`` that remembers how it was written (``Z``, fraction digits).

    Equal to the plain datetime of the same instant; written back exactly as read.

    >>> value = WrittenDateTime.parse("2026-02-01T00:00:00Z")
    >>> value == datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC), value.written
    (True, '2026-02-01T00:00:00Z')
    """

    __slots__ = ("written",)
    written: str

    @classmethod
    def parse(cls, text: str) -> WrittenDateTime:
        """Parse an ``xsd:dateTime`` (raises ValueError for anything else)."""
        if not _DATETIME.fullmatch(text):
            raise ValueError("not an xsd:dateTime (YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm])")
        iso = text[:-1] + "+00:00" if text.endswith("Z") else text
        plain = datetime.datetime.fromisoformat(_trim_fraction(iso))
        value = cls.combine(plain.date(), plain.timetz())
        value.written = text
        return value

    def __reduce_ex__(self, protocol: SupportsIndex, /) -> tuple[Any, ...]:
        # datetime pickles through __reduce_ex__; keep the written form across copies.
        return (WrittenDateTime.parse, (self.written,))


_DATETIME = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.ASCII
)
_FRACTION = re.compile(r"\.(\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)


def _trim_fraction(iso: str) -> str:
    # Python keeps microseconds only: more than 6 fraction digits are cut (the written
    # form keeps them all).
    return _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), iso, count=1)


def _format_datetime(value: datetime.datetime) -> str:
    written = getattr(value, "written", None)
    if isinstance(written, str):
        return written
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class _Codec:
    """Text <-> value for one leaf type."""

    __slots__ = ("dump", "load")

    def __init__(self, load: Callable[[str], Any], dump: Callable[[Any], str]) -> None:
        self.load = load
        self.dump = dump


def _load_int(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError("not an integer")
    return int(text)


def _load_decimal(text: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise ValueError("not a decimal number")
    return Decimal(text)


def _load_date(text: str) -> datetime.date:
    if not _DATE.fullmatch(text):
        raise ValueError("not a date (YYYY-MM-DD)")
    return datetime.date.fromisoformat(text)


def _dump_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected str, got {type(value).__name__}")
    return value


def _dump_int(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected int, got {type(value).__name__}")
    return str(value)


def _dump_decimal(value: Any) -> str:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    # "f" keeps the exponent as written: Decimal("100.00") -> "100.00", never "1E+2".
    return format(value, "f")


def _dump_date(value: Any) -> str:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise TypeError(f"expected datetime.date, got {type(value).__name__}")
    return value.isoformat()


def _dump_datetime(value: Any) -> str:
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"expected datetime.datetime, got {type(value).__name__}")
    return _format_datetime(value)


def _load_marker(text: str) -> bool:
    if text != "1":
        raise ValueError('a TWybor1 marker must be "1"')
    return True


def _load_yes_no(text: str) -> bool:
    if text == "1":
        return True
    if text == "2":
        return False
    raise ValueError('a TWybor1_2 flag must be "1" or "2"')


def _dump_yes_no(value: Any) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"expected bool, got {type(value).__name__}")
    return "1" if value else "2"


def _dump_marker(value: Any) -> str:
    if value is not True:
        raise TypeError(f"expected True, got {value!r}")
    return "1"


def _enum_codec(enum_type: type[enum.StrEnum]) -> _Codec:
    members = {member.value: member for member in enum_type}

    def load(text: str) -> enum.StrEnum:
        try:
            return members[text]
        except KeyError:
            allowed = ", ".join(repr(v) for v in members)
            raise ValueError(f"not a {enum_type.__name__} code (one of {allowed})") from None

    def dump(value: Any) -> str:
        if isinstance(value, enum_type):
            return str(value.value)
        if isinstance(value, str) and value in members:
            return value
        raise TypeError(f"expected {enum_type.__name__}, got {value!r}")

    return _Codec(load, dump)


_STR = _Codec(lambda text: text, _dump_str)
_INT = _Codec(_load_int, _dump_int)
_DEC = _Codec(_load_decimal, _dump_decimal)
_DATE_CODEC = _Codec(_load_date, _dump_date)
_DATETIME_CODEC = _Codec(WrittenDateTime.parse, _dump_datetime)
_MARKER = _Codec(_load_marker, _dump_marker)
_YES_NO = _Codec(_load_yes_no, _dump_yes_no)


# ------------------------------------------------------------------------------ field specs


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    attr: str
    name: str
    tag: str
    kind: _Kind
    repeated: bool
    required: bool
    marker: bool
    codec: _Codec | None
    child: type | None


@dataclasses.dataclass(frozen=True, slots=True)
class _ClassSpec:
    fields: tuple[_Spec, ...]
    #: Qualified child tag -> (position in sequence, spec).
    by_tag: dict[str, tuple[int, _Spec]]
    by_attribute: dict[str, _Spec]
    text: _Spec | None


_SPECS: dict[type, _ClassSpec] = {}


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """(inner type, repeated) of a field annotation: ``X``, ``X | None`` or ``tuple[X, ...]``."""
    repeated = False
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union {hint!r}")
        hint = args[0]
        origin = typing.get_origin(hint)
    if origin is tuple:
        items = typing.get_args(hint)
        if len(items) != 2 or items[1] is not Ellipsis:
            raise TypeError(f"repeated fields are tuple[X, ...], not {hint!r}")
        hint, repeated = items[0], True
    return hint, repeated


def _codec_for(tp: Any, meta: _FieldMeta) -> _Codec:
    if tp is bool:
        return _YES_NO if meta.yes_no else _MARKER
    if tp is str:
        return _STR
    if tp is int:
        return _INT
    if tp is Decimal:
        return _DEC
    if tp is datetime.datetime:
        return _DATETIME_CODEC
    if tp is datetime.date:
        return _DATE_CODEC
    if isinstance(tp, type) and issubclass(tp, enum.StrEnum):
        return _enum_codec(tp)
    raise TypeError(f"no XML conversion for {tp!r}")


def _class_spec(cls: type) -> _ClassSpec:
    spec = _SPECS.get(cls)
    if spec is not None:
        return spec
    hints = typing.get_type_hints(cls)
    fields: list[_Spec] = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_META_KEY)
        if not isinstance(meta, _FieldMeta):
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with xml()/xml_attr()")
        tp, repeated = _unwrap(hints[f.name])
        child = tp if _is_model(tp) else None
        codec = None if child is not None else _codec_for(tp, meta)
        required = f.default is MISSING and f.default_factory is MISSING
        fields.append(
            _Spec(
                attr=f.name,
                name=meta.name,
                tag=_Q + meta.name,
                kind=meta.kind,
                repeated=repeated,
                required=required,
                marker=codec is _MARKER,
                codec=codec,
                child=child,
            )
        )
    elements = [s for s in fields if s.kind is _Kind.ELEMENT]
    texts = [s for s in fields if s.kind is _Kind.TEXT]
    spec = _ClassSpec(
        fields=tuple(fields),
        by_tag={s.tag: (i, s) for i, s in enumerate(elements)},
        by_attribute={s.name: s for s in fields if s.kind is _Kind.ATTRIBUTE},
        text=texts[0] if texts else None,
    )
    _SPECS[cls] = spec
    return spec


def xml_name(cls: type, attribute: str) -> str:
    """The Polish XML name of a model attribute (``@Name`` for attributes).

    >>> from ksefkit.fa3.model import InvoiceLine
    >>> xml_name(InvoiceLine, "net_amount")
    'P_11'
    """
    for spec in _class_spec(cls).fields:
        if spec.attr == attribute:
            if spec.kind is _Kind.ATTRIBUTE:
                return "@" + spec.name
            return spec.name if spec.kind is _Kind.ELEMENT else "#text"
    raise AttributeError(f"{cls.__name__} has no field {attribute!r}")


def field_map(cls: type) -> dict[str, str]:
    """``{attribute: Polish XML name}`` of a model class, in XSD order.

    >>> from ksefkit.fa3.model import Period
    >>> field_map(Period)
    {'start': 'P_6_Od', 'end': 'P_6_Do'}
    """
    return {spec.attr: xml_name(cls, spec.attr) for spec in _class_spec(cls).fields}


def modelled_paths(cls: type, prefix: str = ROOT_TAG) -> Iterator[str]:
    """Every element path (``Faktura/Fa/FaWiersz/P_7``) and attribute path (``.../@Typ``)
    the model can hold, depth first, starting at ``prefix``.

    >>> from ksefkit.fa3.model import Invoice
    >>> "Faktura/Fa/FaWiersz/P_12" in set(modelled_paths(Invoice))
    True
    """
    for spec in _class_spec(cls).fields:
        if spec.kind is _Kind.TEXT:
            continue
        path = f"{prefix}/{'@' if spec.kind is _Kind.ATTRIBUTE else ''}{spec.name}"
        yield path
        if spec.child is not None:
            yield from modelled_paths(spec.child, path)


# ---------------------------------------------------------------------------------- writing


def _write(element: etree._Element, obj: object, where: str) -> None:
    spec = _class_spec(type(obj))
    for field in spec.fields:
        value = getattr(obj, field.attr)
        try:
            if field.kind is _Kind.ELEMENT:
                if field.repeated:
                    if not isinstance(value, tuple | list):
                        raise TypeError(f"expected a tuple, got {type(value).__name__}")
                    items = value
                elif value is None or (field.marker and value is False):
                    if field.required and value is None:
                        raise ValueError("required, got None")
                    continue
                else:
                    items = (value,)
                for item in items:
                    child = etree.SubElement(element, field.tag)
                    if field.child is not None:
                        if not isinstance(item, field.child):
                            raise TypeError(
                                f"expected {field.child.__name__}, got {type(item).__name__}"
                            )
                        _write(child, item, f"{where}/{field.name}")
                    else:
                        child.text = cast("_Codec", field.codec).dump(item)
            elif value is not None:
                text = cast("_Codec", field.codec).dump(value)
                if field.kind is _Kind.ATTRIBUTE:
                    element.set(field.name, text)
                else:
                    element.text = text
        except (TypeError, ValueError) as exc:
            if isinstance(exc, _WriteError):
                raise
            name = field.name if field.kind is not _Kind.ATTRIBUTE else "@" + field.name
            raise _WriteError(f"{where}/{name} ({type(obj).__name__}.{field.attr}): {exc}") from exc


class _WriteError(TypeError):
    """A model value that cannot be written (wrong type, None where required)."""


def write_document(invoice: object, *, pretty: bool = True) -> bytes:
    """The FA(3) XML of a model ``Invoice`` (UTF-8, XML declaration, default namespace).

    Raises TypeError naming the element path if a field holds a value of the wrong type.
    """
    root = etree.Element(_Q + ROOT_TAG, nsmap=_NSMAP)
    _write(root, invoice, ROOT_TAG)
    if pretty:
        etree.indent(root, space="  ")
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


# ---------------------------------------------------------------------------------- reading


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _read(element: etree._Element, cls: type, path: str) -> Any:
    spec = _class_spec(cls)
    values: dict[str, Any] = {}
    for key, raw in element.attrib.items():
        name = _text(key)
        field = spec.by_attribute.get(name)
        if field is None:
            raise InvoiceParseError(f"{path}/@{_local(name)}", "attribute not in the FA(3) model")
        values[field.attr] = _load(cast("_Codec", field.codec), _text(raw), f"{path}/@{name}")
    if spec.text is not None:
        values[spec.text.attr] = _load(cast("_Codec", spec.text.codec), element.text or "", path)
    elif element.text is not None and element.text.strip():
        raise InvoiceParseError(path, f"unexpected text {element.text.strip()[:40]!r}")
    position = -1
    counts: dict[str, int] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions carry no invoice data
        if child.tail is not None and child.tail.strip():
            raise InvoiceParseError(path, f"unexpected text {child.tail.strip()[:40]!r}")
        entry = spec.by_tag.get(tag)
        if entry is None:
            where = f"{path}/{_local(tag)}"
            if not tag.startswith(_Q):
                raise InvoiceParseError(where, f"element in a foreign namespace ({tag})")
            raise InvoiceParseError(where, f"element not in the FA(3) model of {cls.__name__}")
        index, field = entry
        seen = counts.get(field.attr, 0)
        child_path = (
            f"{path}/{field.name}[{seen + 1}]" if field.repeated else f"{path}/{field.name}"
        )
        if index < position:
            raise InvoiceParseError(child_path, "element out of XSD sequence order")
        if seen and not field.repeated:
            raise InvoiceParseError(child_path, "element repeated but allowed once")
        position = index
        counts[field.attr] = seen + 1
        if field.child is not None:
            value = _read(child, field.child, child_path)
        else:
            if len(child):
                raise InvoiceParseError(child_path, "simple element has child elements")
            if child.attrib:
                attribute = _local(_text(next(iter(child.attrib))))
                raise InvoiceParseError(
                    f"{child_path}/@{attribute}", "attribute not in the FA(3) model"
                )
            value = _load(cast("_Codec", field.codec), child.text or "", child_path)
        if field.repeated:
            values.setdefault(field.attr, []).append(value)
        else:
            values[field.attr] = value
    for field in spec.fields:
        if field.repeated and field.attr in values:
            values[field.attr] = tuple(values[field.attr])
        elif field.required and field.attr not in values:
            if field.kind is _Kind.ATTRIBUTE:
                raise InvoiceParseError(f"{path}/@{field.name}", "required attribute missing")
            raise InvoiceParseError(f"{path}/{field.name}", "required element missing")
    return cls(**values)


def _load(codec: _Codec, text: str, path: str) -> Any:
    try:
        return codec.load(text)
    except ValueError as exc:
        raise InvoiceParseError(path, f"{text[:40]!r}: {exc}") from None


def _text(value: str | bytes) -> str:
    # lxml hands out str on Python 3; its stubs also allow bytes.
    return value if isinstance(value, str) else value.decode()


def read_document(xml: bytes | etree._Element, cls: type[_C]) -> _C:
    """Parse FA(3) XML (bytes or an lxml element) into the model class of ``Faktura``.

    Raises :class:`InvoiceParseError` (``.path`` names the element) for XML that is not
    well-formed, not FA(3), or holds anything the model cannot represent.
    """
    if isinstance(xml, bytes | bytearray | memoryview):
        try:
            root = etree.fromstring(bytes(xml), safe_parser())
        except etree.XMLSyntaxError as exc:
            raise InvoiceParseError("", f"not well-formed XML: {exc}") from None
    else:
        root = xml
    if root.tag != _Q + ROOT_TAG:
        raise InvoiceParseError(
            _local(str(root.tag)), f"not an FA(3) invoice (expected {{{NAMESPACE}}}{ROOT_TAG})"
        )
    result: _C = _read(root, cls, ROOT_TAG)
    return result
