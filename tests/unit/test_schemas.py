"""Tests of the XSD store: lookup order, resolver, downloads (MockTransport), caching."""

from __future__ import annotations

import doctest
import os
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

import ksefkit.schemas as schemas_module
from ksefkit.errors import SchemaNotFoundError
from ksefkit.formcodes import FormCode
from ksefkit.schemas import (
    AUTH_XSD_V20,
    AUTH_XSD_V21,
    CRD_TYPES_URLS,
    OFFICIAL_BASE_URL,
    UPO_XSD,
    SchemaResolver,
    SchemaStore,
    default_cache_dir,
    default_store,
    map_schema_location,
    reset_default_store,
    schema_locations,
)

SPEC = Path(os.environ.get("KSEFKIT_SCHEMA_DIR", "/work/shared/ksef-spec"))
SAMPLES = sorted((SPEC / "samples" / "FA3").glob("*.xml"))
FA3_FILES = {
    "faktury/schemy/FA/schemat_FA(3)_v1-0E.xsd",
    "faktury/schemy/FA/bazowe/StrukturyDanych_v10-0E.xsd",
    "faktury/schemy/FA/bazowe/ElementarneTypyDanych_v10-0E.xsd",
    "faktury/schemy/FA/bazowe/KodyKrajow_v10-0E.xsd",
}

pytestmark = pytest.mark.skipif(not SPEC.is_dir(), reason="KSEFKIT_SCHEMA_DIR not available")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may read or write the real user cache or inherit the offline switch."""
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path / "env-cache"))
    monkeypatch.delenv("KSEFKIT_SCHEMA_OFFLINE", raising=False)
    reset_default_store()


class SpecServer:
    """An httpx MockTransport serving the official repo layout from the spec dir."""

    def __init__(self, fail: Callable[[str], httpx.Response | None] | None = None) -> None:
        self.requests: list[str] = []
        self.fail = fail
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.requests.append(url)
        assert url.startswith(OFFICIAL_BASE_URL)
        rel = urllib.parse.unquote(url[len(OFFICIAL_BASE_URL) :])
        if self.fail is not None:
            response = self.fail(rel)
            if response is not None:
                return response
        path = SPEC / rel
        if not path.is_file():
            return httpx.Response(404, text="404: Not Found")
        return httpx.Response(200, content=path.read_bytes())

    def paths(self) -> list[str]:
        return [urllib.parse.unquote(u[len(OFFICIAL_BASE_URL) :]) for u in self.requests]


def no_network() -> httpx.MockTransport:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected download of {request.url}")

    return httpx.MockTransport(refuse)


def local_store(tmp_path: Path) -> SchemaStore:
    return SchemaStore(SPEC, tmp_path / "cache", transport=no_network())


def test_doctests() -> None:
    result = doctest.testmod(schemas_module)
    assert result.attempted >= 5
    assert result.failed == 0


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_all_fa3_samples_validate(sample: Path, tmp_path: Path) -> None:
    assert local_store(tmp_path).validate_invoice(sample.read_bytes(), FormCode.FA3) == []


def test_there_are_26_samples() -> None:
    assert len(SAMPLES) == 26


def test_broken_invoice_gives_errors_with_lines(tmp_path: Path) -> None:
    xml = (SAMPLES[0]).read_bytes()
    broken = xml.replace(b"<P_2>", b"<P_2x>", 1).replace(b"</P_2>", b"</P_2x>", 1)
    errors = local_store(tmp_path).validate_invoice(broken, FormCode.FA3)
    assert len(errors) == 1
    line = xml[: xml.index(b"<P_2>")].count(b"\n") + 1
    assert errors[0].startswith(f"line {line}: ")
    assert "P_2x" in errors[0]
    assert "{http" not in errors[0]


def test_validate_element_and_malformed_bytes(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    root = etree.fromstring(SAMPLES[1].read_bytes())
    assert store.validate_invoice(root, FormCode.FA3) == []
    root.find("{*}Fa/{*}KodWaluty").text = "ZZZ"  # type: ignore[union-attr]
    errors = store.validate_invoice(root, FormCode.FA3)
    assert errors
    assert any("KodWaluty" in e for e in errors)
    bad = store.validate_invoice(b"<Faktura><oops></Faktura>", FormCode.FA3)
    assert len(bad) == 1
    assert bad[0].startswith("line 1: not well-formed XML")


def test_wrong_form_code_fails(tmp_path: Path) -> None:
    errors = local_store(tmp_path).validate_invoice(SAMPLES[0].read_bytes(), FormCode.FA2)
    assert errors
    assert "Faktura" in errors[0]


@pytest.mark.parametrize("form_code", list(FormCode))
def test_every_form_code_schema_compiles(form_code: FormCode, tmp_path: Path) -> None:
    store = local_store(tmp_path)
    assert store.is_available(form_code)
    assert isinstance(store.invoice_schema(form_code), etree.XMLSchema)


def test_upo_and_auth_v21_compile(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    assert isinstance(store.schema(UPO_XSD), etree.XMLSchema)
    assert isinstance(store.schema(AUTH_XSD_V21), etree.XMLSchema)
    # v2-0 uses "\b" in a pattern, which libxml2 refuses (KSEF_API.md §17.2)
    with pytest.raises(SchemaNotFoundError, match="does not compile"):
        store.schema(AUTH_XSD_V20)


def test_cache_hit_returns_same_object(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    first = store.invoice_schema(FormCode.FA3)
    assert store.invoice_schema(FormCode.FA3) is first
    assert store.schema(FormCode.FA3.xsd_path) is first
    # another store over the same root shares the compiled schema
    assert local_store(tmp_path / "other").invoice_schema(FormCode.FA3) is first


def test_resolver_maps_crd_urls_without_network(tmp_path: Path) -> None:
    """A copy of the FA tree compiles: the crd.gov.pl imports resolve to local files."""
    root = tmp_path / "copy"
    shutil.copytree(SPEC / "faktury" / "schemy" / "FA", root / "faktury" / "schemy" / "FA")
    store = SchemaStore(root, tmp_path / "cache", download=False)
    schema = store.invoice_schema(FormCode.FA3)
    assert schema.validate(etree.parse(str(SAMPLES[0])))
    # the resolver maps both the http and the https spelling
    resolver = SchemaResolver(store)
    for prefix in CRD_TYPES_URLS:
        assert resolver._store_path(prefix + "KodyKrajow_v10-0E.xsd") == (
            "faktury/schemy/FA/bazowe/KodyKrajow_v10-0E.xsd"
        )
    assert resolver._store_path("http://example.com/x.xsd") is None


def test_resolver_handles_https_import(tmp_path: Path) -> None:
    root = tmp_path / "root"
    base = root / "faktury" / "schemy" / "FA" / "bazowe"
    shutil.copytree(SPEC / "faktury" / "schemy" / "FA" / "bazowe", base)
    etd = CRD_TYPES_URLS[0]
    (root / "mini.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:etd="' + etd + '" '
        'targetNamespace="urn:mini" elementFormDefault="qualified">'
        f'<xs:import namespace="{etd}" '
        f'schemaLocation="{CRD_TYPES_URLS[1]}StrukturyDanych_v10-0E.xsd"/>'
        '<xs:element name="Nip" type="etd:TNrNIP"/></xs:schema>'
    )
    store = SchemaStore(root, tmp_path / "cache", download=False)
    assert store.validate(b'<Nip xmlns="urn:mini">5265877635</Nip>', "mini.xsd") == []
    assert store.validate(b'<Nip xmlns="urn:mini">12</Nip>', "mini.xsd")


def test_download_pulls_transitive_imports_into_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    server = SpecServer()
    cache = tmp_path / "cache"
    store = SchemaStore(cache_dir=cache, transport=server.transport)
    assert store.schema_dir is None
    assert store.validate_invoice(SAMPLES[0].read_bytes(), FormCode.FA3) == []
    assert set(server.paths()) == FA3_FILES
    assert len(server.requests) == len(FA3_FILES)
    assert "schemat_FA%283%29_v1-0E.xsd" in server.requests[0]
    for rel in FA3_FILES:
        assert (cache / rel).read_bytes() == (SPEC / rel).read_bytes()
    assert not list(cache.rglob(".tmp-*"))
    # everything now comes from the cache, even with downloads off
    offline = SchemaStore(cache_dir=cache, download=False)
    assert offline.locate(FormCode.FA3.xsd_path) == cache / FormCode.FA3.xsd_path
    assert offline.is_available(FormCode.FA3)


def test_download_pef_with_relative_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    server = SpecServer()
    store = SchemaStore(cache_dir=tmp_path / "cache", transport=server.transport)
    assert isinstance(store.invoice_schema(FormCode.PEF3), etree.XMLSchema)
    fetched = set(server.paths())
    assert "faktury/schemy/PEF/bazowe/UBL-XAdESv141-2.1.xsd" in fetched  # 4 levels deep
    assert "faktury/schemy/PEF/bazowe/UBL-ExtensionContentDataType-2.1.xsd" in fetched  # include
    assert "faktury/schemy/PEF/bazowe/commontypes.xsd" not in fetched  # not referenced
    assert len(fetched) == len(server.requests)


def test_missing_import_fetched_into_cache_when_main_is_local(
    tmp_path: Path,
) -> None:
    """The main XSD in the schema dir, its base types only upstream: both roots combine."""
    root = tmp_path / "partial"
    (root / "faktury/schemy/FA").mkdir(parents=True)
    shutil.copy(SPEC / FormCode.FA3.xsd_path, root / FormCode.FA3.xsd_path)
    server = SpecServer()
    store = SchemaStore(root, tmp_path / "cache", transport=server.transport)
    assert store.validate_invoice(SAMPLES[2].read_bytes(), FormCode.FA3) == []
    assert set(server.paths()) == FA3_FILES - {FormCode.FA3.xsd_path}


def test_not_found_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")
    store = SchemaStore(cache_dir=tmp_path / "cache", transport=no_network())
    assert store.download is False
    with pytest.raises(SchemaNotFoundError) as info:
        store.invoice_schema(FormCode.FA3)
    message = str(info.value)
    assert "KSEFKIT_SCHEMA_DIR" in message
    assert "ksefkit schemas fetch" in message
    assert "schemat_FA(3)_v1-0E.xsd" in message
    assert "KSEFKIT_SCHEMA_OFFLINE" in message
    assert not store.is_available(FormCode.FA3)


def test_failed_download_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    server = SpecServer(fail=lambda rel: httpx.Response(503))
    store = SchemaStore(cache_dir=tmp_path / "cache", transport=server.transport)
    assert not store.is_available(FormCode.FA3)
    assert not store.is_available(FormCode.FA3)
    with pytest.raises(SchemaNotFoundError, match="HTTP 503"):
        store.locate(FormCode.FA3.xsd_path)
    assert len(server.requests) == 1


def test_network_failure_stops_all_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    calls: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        raise httpx.ConnectTimeout("timed out", request=request)

    store = SchemaStore(cache_dir=tmp_path / "cache", transport=httpx.MockTransport(down))
    assert not store.is_available(FormCode.FA3)
    assert not store.is_available(FormCode.PEF3)
    with pytest.raises(SchemaNotFoundError, match="ConnectTimeout") as info:
        store.locate(UPO_XSD)
    assert "ksefkit schemas fetch" in str(info.value)
    assert len(calls) == 1


def test_non_xml_download_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KSEFKIT_SCHEMA_DIR", raising=False)
    server = SpecServer(fail=lambda rel: httpx.Response(200, text="<html>captive portal"))
    cache = tmp_path / "cache"
    store = SchemaStore(cache_dir=cache, transport=server.transport)
    with pytest.raises(SchemaNotFoundError, match="not XML"):
        store.locate(UPO_XSD)
    assert not (cache / UPO_XSD).exists()


def test_fetch_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")  # explicit fetch still downloads
    server = SpecServer()
    cache = tmp_path / "cache"
    store = SchemaStore(tmp_path / "empty", cache, transport=server.transport)
    written = store.fetch_all()
    rels = {p.relative_to(cache).as_posix() for p in written}
    assert {fc.xsd_path for fc in FormCode} <= rels
    assert {UPO_XSD, AUTH_XSD_V20, AUTH_XSD_V21} | FA3_FILES <= rels
    assert "faktury/schemy/PEF/bazowe/UBL-XAdESv132-2.1.xsd" in rels
    assert len(rels) == len(written) == len(server.requests)
    for p in written:
        assert p.read_bytes() == (SPEC / p.relative_to(cache)).read_bytes()
    # the cache now serves every form code
    for fc in FormCode:
        assert SchemaStore(tmp_path / "empty", cache, download=False).is_available(fc)


def test_fetch_all_reports_failure(tmp_path: Path) -> None:
    server = SpecServer(fail=lambda rel: httpx.Response(404) if "RR" in rel else None)
    store = SchemaStore(tmp_path / "empty", tmp_path / "cache", transport=server.transport)
    with pytest.raises(SchemaNotFoundError, match=r"RR.*HTTP 404"):
        store.fetch_all()


def test_lookup_order_schema_dir_first(tmp_path: Path) -> None:
    schema_dir, cache = tmp_path / "dir", tmp_path / "cache"
    for root in (schema_dir, cache):
        (root / "x").mkdir(parents=True)
        (root / "x" / "a.xsd").write_text("<a/>")
    (cache / "x" / "b.xsd").write_text("<b/>")
    store = SchemaStore(schema_dir, cache, download=False)
    assert store.locate("x/a.xsd") == schema_dir / "x" / "a.xsd"
    assert store.locate("x/b.xsd") == cache / "x" / "b.xsd"
    assert store.locate("x/./a.xsd") == schema_dir / "x" / "a.xsd"
    with pytest.raises(SchemaNotFoundError, match="relative"):
        store.locate("../etc/passwd")
    with pytest.raises(SchemaNotFoundError, match="relative"):
        store.locate("/etc/passwd")


def test_env_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KSEFKIT_SCHEMA_DIR", str(tmp_path / "sd"))
    monkeypatch.setenv("KSEFKIT_CACHE_DIR", str(tmp_path / "kc"))
    assert default_cache_dir() == tmp_path / "kc" / "schemas"
    store = default_store()
    assert store is default_store()
    assert store.schema_dir == tmp_path / "sd"
    assert store.cache_dir == tmp_path / "kc" / "schemas"
    assert store.download is True
    monkeypatch.setenv("KSEFKIT_SCHEMA_OFFLINE", "1")
    reset_default_store()
    assert default_store() is not store
    assert default_store().download is False
    monkeypatch.delenv("KSEFKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "ksefkit" / "schemas"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "ksefkit" / "schemas"


def test_url_for_percent_encodes(tmp_path: Path) -> None:
    store = SchemaStore(cache_dir=tmp_path, base_url="https://mirror.example/docs")
    assert store.url_for("faktury/schemy/PEF/Schemat_PEF_KOR(3)_v2-1.xsd") == (
        "https://mirror.example/docs/faktury/schemy/PEF/Schemat_PEF_KOR%283%29_v2-1.xsd"
    )


def test_map_schema_location() -> None:
    assert map_schema_location("./bazowe/a.xsd", "faktury/schemy/PEF/S.xsd") == (
        "faktury/schemy/PEF/bazowe/a.xsd"
    )
    assert map_schema_location("../b.xsd", "x/y/z.xsd") == "x/b.xsd"
    assert map_schema_location("../../../b.xsd", "x/z.xsd") is None
    assert map_schema_location("https://www.w3.org/2001/xml.xsd", "x/z.xsd") is None
    assert map_schema_location("/abs/b.xsd", "x/z.xsd") is None
    assert map_schema_location(CRD_TYPES_URLS[1] + "K.xsd", "") == "faktury/schemy/FA/bazowe/K.xsd"


def test_schema_locations_of_real_files() -> None:
    fa3 = (SPEC / FormCode.FA3.xsd_path).read_bytes()
    assert schema_locations(fa3) == [CRD_TYPES_URLS[0] + "StrukturyDanych_v10-0E.xsd"]
    assert schema_locations(b"not xml") == []


def test_concurrent_validation(tmp_path: Path) -> None:
    store = local_store(tmp_path)
    good = SAMPLES[3].read_bytes()
    bad = good.replace(b"<P_1>", b"<P_1x>", 1).replace(b"</P_1>", b"</P_1x>", 1)
    results: list[tuple[bool, list[str]]] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for _ in range(5):
            valid = i % 2 == 0
            errors = store.validate_invoice(good if valid else bad, FormCode.FA3)
            with lock:
                results.append((valid, errors))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 30
    for valid, errors in results:
        if valid:
            assert errors == []
        else:
            assert len(errors) == 1
            assert "P_1x" in errors[0]
