"""Emulator backends: KSeF rules and state without HTTP (moto's split).

Each backend takes plain values (dicts parsed from JSON, header strings) and returns plain
dicts in wire shape, raising :class:`~ksefkit.emulator.errors.KsefApiError` for HTTP errors.
This module holds the small helpers they share: request-model parsing, identifier checks,
Base64, JSON columns and continuation-token paging.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
)

from ...identifiers import KSEF_NUMBER_V1_RE, REFERENCE_NUMBER_RE
from ..errors import bad_request, validation_error

__all__ = [
    "Base64Str",
    "ChallengeStr",
    "Int32",
    "NotNull",
    "Sha256Base64",
    "b64decode_strict",
    "check_ksef_number",
    "check_reference_number",
    "dumps",
    "int_query",
    "loads_list",
    "paginate",
    "parse_body",
]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

#: The range of ``format: int32``.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def parse_body(model: type[M], body: object) -> M:
    """Validate a decoded JSON body; any problem becomes 400/21405 with the messages.

    >>> class M(BaseModel):
    ...     a: int
    >>> parse_body(M, {"a": "x"})
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    if not isinstance(body, dict):
        raise validation_error("Treść żądania musi być obiektem JSON.")
    try:
        return model.model_validate(body, strict=True)
    except ValidationError as exc:
        raise validation_error(*_messages(exc)) from None


def _messages(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        out.append(f"{where}: {err['msg']}")
    return out


def check_reference_number(value: str, field: str) -> str:
    """``value`` if it is a ``ReferenceNumber``; otherwise 400/21405 naming ``field``.

    The format is ``YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC`` (36 characters); the CRC is not
    checked, so a well-formed but unknown number stays a "not found" for the caller.

    >>> check_reference_number("20250625-SO-2C3E6C8000-B675CF5D68-07", "referenceNumber")
    '20250625-SO-2C3E6C8000-B675CF5D68-07'
    >>> check_reference_number("short", "referenceNumber")
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    if not (value.isascii() and REFERENCE_NUMBER_RE.fullmatch(value)):
        raise validation_error(
            f"{field}: wartość {_shown(value)} nie jest prawidłowym numerem referencyjnym"
            " (oczekiwano 36 znaków w formacie YYYYMMDD-TT-XXXXXXXXXX-XXXXXXXXXX-CC)."
        )
    return value


def check_ksef_number(value: str, field: str) -> str:
    """``value`` if it matches the spec's ``KsefNumber`` pattern; otherwise 400/21405.

    Both the 35-character KSeF 2.0 form and the 36-character KSeF 1.0 form are accepted (the
    checksum is not verified, as the schema does not ask for it).

    >>> check_ksef_number("5265877635-20250826-0100001AF629-AF", "ksefNumber")
    '5265877635-20250826-0100001AF629-AF'
    >>> check_ksef_number("notaksefnumber", "ksefNumber")
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    if not (value.isascii() and KSEF_NUMBER_V1_RE.fullmatch(value)):
        raise validation_error(
            f"{field}: wartość {_shown(value)} nie jest prawidłowym numerem KSeF"
            " (oczekiwano 35 znaków w formacie NIP-YYYYMMDD-XXXXXXXXXXXX-CC"
            " lub 36 znaków w formacie KSeF 1.0)."
        )
    return value


def _shown(value: str) -> str:
    """``value`` quoted for an error detail, cut short when long."""
    return repr(value if len(value) <= 64 else value[:64] + "…")


def b64decode_strict(text: str, field: str) -> bytes:
    """Decode standard Base64 (padding required); bad input is 400/21405.

    >>> b64decode_strict("AAE=", "x")
    b'\\x00\\x01'
    """
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise validation_error(f"{field}: nieprawidłowy format Base64.") from None


def int_query(value: object, name: str, *, default: int, low: int, high: int | None) -> int:
    """A whole-number query parameter within ``low..high`` (``default`` when absent); 21405.

    ``high=None`` means no maximum of its own, yet still int32's: every integer query
    parameter of open-api.json is ``format: int32`` (``pageOffset=99999999999`` is refused).

    >>> int_query(None, "pageSize", default=10, low=10, high=100)
    10
    >>> int_query("5", "pageSize", default=10, low=10, high=100)
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    >>> int_query(str(2**31), "pageOffset", default=0, low=0, high=None)
    Traceback (most recent call last):
    ...
    ksefkit.emulator.errors.KsefApiError: HTTP 400 21405: Błąd walidacji danych wejściowych.
    """
    if value is None:
        return default
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise validation_error(f"{name}: oczekiwano liczby całkowitej.")
    number = int(text)
    top = INT32_MAX if high is None else high
    if not low <= number <= top:
        raise validation_error(f"{name}: dozwolone wartości {low}-{top}.")
    return number


def _base64(text: str) -> str:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("nieprawidłowy format Base64") from None
    return text


# Field types of request models for the spec's string formats, so that a value breaking its
# schema is the model binding's 400/21405 (as in KSeF), before any rule of the operation looks
# at it (an unknown key id, a size or hash mismatch).

#: ``format: byte`` — standard Base64, padding required.
Base64Str = Annotated[str, AfterValidator(_base64)]
#: ``Sha256HashBase64`` and key ids (``publicKeyId``): 44 characters of Base64.
Sha256Base64 = Annotated[
    str, StringConstraints(min_length=44, max_length=44), AfterValidator(_base64)
]
#: ``Challenge``: 36 characters.
ChallengeStr = Annotated[str, StringConstraints(min_length=36, max_length=36)]
#: ``format: int32`` (counts and limits): a larger value breaks the schema.
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("pole nie przyjmuje wartości null")
    return value


#: An optional field open-api.json does not mark ``nullable``: it may be left out (the
#: model's default, ``None``), but an explicit ``null`` breaks the schema. Used as
#: ``Annotated[Kind | None, NotNull] = None``.
NotNull = BeforeValidator(_not_null)


def dumps(value: object) -> str:
    """JSON for a TEXT column."""
    return json.dumps(value, ensure_ascii=False)


def loads_list(text: str | None) -> list[Any] | None:
    """A JSON list column (None stays None)."""
    return None if text is None else list(json.loads(text))


def paginate(
    items: Sequence[T], continuation_token: str | None, page_size: int
) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next (None on the last page).

    Tokens are opaque Base64 JSON (like KSeF's Cosmos-DB tokens); a malformed one is 21418.

    >>> page, token = paginate(list(range(25)), None, 10)
    >>> page[0], paginate(list(range(25)), token, 10)[0][0]
    (0, 10)
    """
    offset = _offset(continuation_token) if continuation_token else 0
    page = list(items[offset : offset + page_size])
    end = offset + len(page)
    if end >= len(items):
        return page, None
    token = base64.b64encode(json.dumps({"token": "+RID", "offset": end}).encode()).decode()
    return page, token


def _offset(token: str) -> int:
    try:
        data = json.loads(base64.b64decode(token, validate=True))
        offset = data["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(21418) from None
    if not isinstance(offset, int) or offset < 0:
        raise bad_request(21418)
    return offset
