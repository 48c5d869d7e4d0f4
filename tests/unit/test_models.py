"""Wire models against the KSeF OpenAPI spec: aliases, required fields, types, examples."""

from __future__ import annotations

import enum
import json
import os
import re
import types
import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pydantic
import pytest

import ksefkit.models as models
from ksefkit.models import (
    AuthenticationOperationStatusResponse,
    BatchSessionContextLimitsOverride,
    CommonSessionStatus,
    InvoiceQueryAmount,
    KsefModel,
    OpenOnlineSessionRequest,
    PublicKeyCertificateInfo,
    PublicKeyCertificateUsage,
    SessionStatusResponse,
    StatusInfo,
)

RENAMED = {
    "WireFormCode": "FormCode",
    "PublicKeyCertificateInfo": "PublicKeyCertificate",
    "ApiErrorInfo": "ApiError",
}
#: Spec-required properties the models deliberately accept as missing (responses only).
RELAXED = {
    ("AuthenticationListItem", "authenticationMethod"),  # deprecated: will disappear
    ("AuthenticationOperationStatusResponse", "authenticationMethod"),  # deprecated
    ("AuthenticationOperationStatusResponse", "authenticationMethodInfo"),  # examples omit it
    ("SessionInvoiceStatusResponse", "invoiceHash"),  # the 440 duplicate example omits it
}
#: Models of inline (anonymous) objects: class name -> (owning schema, property).
INLINE = {"TooManyRequestsResponseStatus": ("TooManyRequestsResponse", "status")}


def _load_spec() -> dict[str, Any]:
    root = os.environ.get("KSEFKIT_SCHEMA_DIR")
    if not root or not (Path(root) / "open-api.json").is_file():
        pytest.skip("KSEFKIT_SCHEMA_DIR does not point at a directory holding open-api.json")
    spec: dict[str, Any] = json.loads((Path(root) / "open-api.json").read_text("utf-8"))
    return spec


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _load_spec()


@pytest.fixture(scope="module")
def schemas(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = spec["components"]["schemas"]
    return result


def _model_classes() -> list[type[KsefModel]]:
    found = [getattr(models, name) for name in models.__all__]
    return [
        c for c in found if isinstance(c, type) and issubclass(c, KsefModel) and c is not KsefModel
    ]


def _spec_schema(cls: type[KsefModel], schemas: dict[str, Any]) -> dict[str, Any]:
    if cls.__name__ in INLINE:
        owner, prop = INLINE[cls.__name__]
        inline: dict[str, Any] = schemas[owner]["properties"][prop]
        return inline
    schema: dict[str, Any] = schemas[RENAMED.get(cls.__name__, cls.__name__)]
    return schema


MODELS = _model_classes()
MODULES = [
    "common",
    "errors",
    "security",
    "auth",
    "sessions",
    "invoices",
    "tokens",
    "limits",
    "permissions",
    "certificates",
    "testdata",
    "peppol",
    "collective",
]


def _wire_name(cls: type[KsefModel], field: str) -> str:
    info = cls.model_fields[field]
    return info.alias or field


# --- structure against the spec ---------------------------------------------------------------


def test_every_object_schema_has_a_model(schemas: dict[str, Any]) -> None:
    objects = {name for name, s in schemas.items() if s.get("type") == "object"}
    covered = {RENAMED.get(c.__name__, c.__name__) for c in MODELS if c.__name__ not in INLINE}
    assert objects - covered == set()
    assert covered - objects == set()


def test_every_enum_schema_has_a_strenum_with_the_same_values(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        if "enum" not in schema:
            continue
        cls = getattr(models, name)
        assert issubclass(cls, enum.StrEnum), name
        assert [m.value for m in cls] == schema["enum"], name


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_aliases_and_required_match_spec(cls: type[KsefModel], schemas: dict[str, Any]) -> None:
    schema = _spec_schema(cls, schemas)
    props: dict[str, Any] = schema.get("properties", {})
    wire = {_wire_name(cls, f): f for f in cls.model_fields}
    assert set(wire) == set(props), "aliases must be exactly the spec's property names"
    spec_required = {p for p in schema.get("required", []) if not props[p].get("nullable")}
    spec_required -= {p for c, p in RELAXED if c == cls.__name__}
    model_required = {alias for alias, f in wire.items() if cls.model_fields[f].is_required()}
    assert model_required == spec_required


def _flatten(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            yield from _flatten(arg)
    else:
        yield annotation


def _ref_name(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref") or (prop.get("allOf") or [{}])[0].get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _expected_type(prop: dict[str, Any], schemas: dict[str, Any]) -> Any:
    ref = _ref_name(prop)
    if ref is not None:
        target = schemas[ref]
        if target.get("type") == "object":
            return getattr(models, {v: k for k, v in RENAMED.items()}.get(ref, ref))
        prop = target
    kind, fmt = prop.get("type"), prop.get("format")
    if kind == "object" and "properties" in prop:
        return "inline"
    if kind == "array":
        return _expected_type(prop["items"], schemas)
    if kind == "string":
        return {"date-time": datetime, "date": date}.get(fmt, str)
    return {"integer": int, "number": float, "boolean": bool, "object": None}[kind]


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_field_types_follow_spec(cls: type[KsefModel], schemas: dict[str, Any]) -> None:
    props = _spec_schema(cls, schemas).get("properties", {})
    for field, info in cls.model_fields.items():
        expected = _expected_type(props[_wire_name(cls, field)], schemas)
        if expected == "inline":
            owner = RENAMED.get(cls.__name__, cls.__name__)
            assert INLINE[info.annotation.__name__] == (owner, _wire_name(cls, field))
            continue
        if expected is None:  # free-form object (dict)
            assert typing.get_origin(info.annotation) in (dict, types.UnionType), field
            continue
        assert expected in set(_flatten(info.annotation)), f"{field}: {info.annotation}"


def test_all_exports_every_public_class_once() -> None:
    assert len(models.__all__) == len(set(models.__all__))
    for module_name in MODULES:
        module = __import__(f"ksefkit.models.{module_name}", fromlist=["__all__"])
        public = {
            n
            for n, v in vars(module).items()
            if callable(v)
            and getattr(v, "__module__", None) == module.__name__
            and not n.startswith("_")
        }
        assert public == set(module.__all__), module_name
        assert public <= set(models.__all__), module_name


# --- spec examples round-trip -----------------------------------------------------------------


def _schema_of(content: dict[str, Any]) -> tuple[str, bool] | None:
    schema = content.get("schema", {})
    if schema.get("type") == "array":
        name = _ref_name(schema["items"])
        return (name, True) if name else None
    name = _ref_name(schema)
    return (name, False) if name else None


def _examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, bool, Any]]:
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not isinstance(op, dict):
                continue
            bodies = [("request", op.get("requestBody", {}).get("content", {}))]
            bodies += [(code, r.get("content", {})) for code, r in op.get("responses", {}).items()]
            for where, contents in bodies:
                for content in contents.values():
                    target = _schema_of(content)
                    if target is None:
                        continue
                    values = [content["example"]] if "example" in content else []
                    values += [e["value"] for e in content.get("examples", {}).values()]
                    for i, value in enumerate(values):
                        yield f"{method.upper()} {path} {where} #{i}", target[0], target[1], value
    for name, schema in spec["components"]["schemas"].items():
        if "example" in schema and schema.get("type") == "object":
            yield f"schema {name}", name, False, schema["example"]


EXAMPLES = list(_examples(_load_spec())) if os.environ.get("KSEFKIT_SCHEMA_DIR") else []
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DT = pydantic.TypeAdapter(datetime)


def _normalise(value: Any) -> Any:
    """Drop nulls; compare date-times as instants (7 vs 6 fraction digits, Z vs +00:00)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str) and _DATETIME.match(value):
        parsed = _DT.validate_python(value)
        return parsed
    return value


def test_spec_has_examples_to_check() -> None:
    _load_spec()
    assert len(EXAMPLES) >= 60


@pytest.mark.parametrize(
    ("where", "name", "is_array", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES]
)
def test_spec_example_round_trips(where: str, name: str, is_array: bool, example: Any) -> None:
    cls = getattr(models, {v: k for k, v in RENAMED.items()}.get(name, name))
    items = example if is_array else [example]
    for item in items:
        parsed = cls.model_validate(item)
        assert _normalise(parsed.to_wire()) == _normalise(item)


# --- tolerance and conventions ----------------------------------------------------------------


SESSION_STATUS = {
    "status": {"code": 100, "description": "Sesja interaktywna otwarta"},
    "dateCreated": "2025-07-11T12:23:56.0154302+00:00",
    "dateUpdated": "2025-07-11T14:23:56.0154302+02:00",
    "invoiceCount": 2,
}


def test_seven_fraction_digits_and_offsets_parse() -> None:
    parsed = SessionStatusResponse.model_validate(SESSION_STATUS)
    assert parsed.date_created == datetime(2025, 7, 11, 12, 23, 56, 15430, tzinfo=UTC)
    assert parsed.date_updated.utcoffset() == timedelta(hours=2)
    assert parsed.date_updated == parsed.date_created
    assert parsed.valid_until is None
    assert parsed.upo is None


def test_unknown_fields_are_ignored() -> None:
    body = {
        **SESSION_STATUS,
        "brandNewField": {"x": 1},
        "status": {**SESSION_STATUS["status"], "extra": 1},
    }
    parsed = SessionStatusResponse.model_validate(body)
    assert "brandNewField" not in parsed.to_wire()
    assert parsed.status == StatusInfo(code=100, description="Sesja interaktywna otwarta")


def test_unknown_enum_values_are_kept() -> None:
    body = {
        "startDate": "2025-07-11T12:23:56+00:00",
        "authenticationMethod": "SomethingNew",
        "authenticationMethodInfo": {"category": "Quantum", "code": "x.y", "displayName": "New"},
        "status": {"code": 200, "description": "ok"},
    }
    parsed = AuthenticationOperationStatusResponse.model_validate(body)
    assert parsed.authentication_method == "SomethingNew"
    assert parsed.authentication_method_info.category == "Quantum"
    cert = PublicKeyCertificateInfo.model_validate(
        {
            "certificate": "AAAA",
            "certificateId": "1",
            "publicKeyId": "k1",
            "validFrom": "2025-01-01T00:00:00Z",
            "validTo": "2027-01-01T00:00:00Z",
            "usage": ["SymmetricKeyEncryption", "FutureUsage"],
        }
    )
    assert cert.usage == [PublicKeyCertificateUsage.SYMMETRIC_KEY_ENCRYPTION, "FutureUsage"]


def test_strenum_members_compare_with_wire_strings() -> None:
    body = {
        "referenceNumber": "20250711-SO-0000000000-0000000000-00",
        "status": "Active",
        "dateCreated": "2025-07-11T12:23:56Z",
        "authorIdentifier": {"type": "Nip", "value": "5265877635"},
        "contextIdentifier": {"type": "Nip", "value": "5265877635"},
        "description": "ci",
        "requestedPermissions": ["InvoiceRead"],
    }
    token = models.TokenStatusResponse.model_validate(body)
    assert token.status == models.AuthenticationTokenStatus.ACTIVE
    assert token.status != models.AuthenticationTokenStatus.REVOKED
    assert token.requested_permissions == [models.TokenPermissionType.INVOICE_READ]
    assert CommonSessionStatus("InProgress") is CommonSessionStatus.IN_PROGRESS


def test_to_wire_uses_aliases_and_drops_none() -> None:
    request = OpenOnlineSessionRequest(
        form_code=models.WireFormCode(system_code="FA (3)", schema_version="1-0E", value="FA"),
        encryption=models.EncryptionInfo(
            encrypted_symmetric_key="a2V5", initialization_vector="aXY="
        ),
    )
    assert request.to_wire() == {
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "encryption": {"encryptedSymmetricKey": "a2V5", "initializationVector": "aXY="},
    }


def test_explicit_aliases_for_names_camel_case_cannot_produce() -> None:
    amount = InvoiceQueryAmount(type="Brutto", from_=1.5, to=10)
    assert amount.to_wire() == {"type": "Brutto", "from": 1.5, "to": 10.0}
    assert InvoiceQueryAmount.model_validate({"type": "Netto", "from": 2}).from_ == 2.0
    limits = BatchSessionContextLimitsOverride.model_validate(
        {"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10}
    )
    assert limits.max_invoice_size_in_mb == 1
    assert limits.to_wire()["maxInvoiceWithAttachmentSizeInMB"] == 3
    ips = models.AllowedIps(ip4_addresses=["10.0.0.1"])
    assert ips.to_wire() == {"ip4Addresses": ["10.0.0.1"]}


def test_missing_required_field_fails() -> None:
    with pytest.raises(pydantic.ValidationError, match="dateCreated"):
        SessionStatusResponse.model_validate(
            {"status": {"code": 1, "description": "x"}, "dateUpdated": "2025-01-01T00:00:00Z"}
        )


def test_naive_and_offset_datetimes_serialise_back() -> None:
    moment = datetime(2025, 7, 11, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    wire = models.TokenInfo(token="jwt", valid_until=moment).to_wire()
    assert wire == {"token": "jwt", "validUntil": "2025-07-11T14:00:00+02:00"}


def test_parse_public_key_certificates_reads_the_array(spec: dict[str, Any]) -> None:
    op = spec["paths"]["/security/public-key-certificates"]["get"]
    example = op["responses"]["200"]["content"]["application/json"]["example"]
    certificates = models.parse_public_key_certificates(example)
    assert len(certificates) == len(example) >= 1
    assert all(isinstance(c, PublicKeyCertificateInfo) for c in certificates)
    assert [c.public_key_id for c in certificates] == [e["publicKeyId"] for e in example]
    with pytest.raises(pydantic.ValidationError):
        models.parse_public_key_certificates({"not": "a list"})
