"""The XSD store: finds, downloads, caches and compiles the Ministry's schemas.

The project ships no copies of the official XSDs. A schema is named by its path in the
CIRFMF/ksef-docs repository (e.g. ``faktury/schemy/FA/schemat_FA(3)_v1-0E.xsd``) and is looked
for, in order:

1. ``$KSEFKIT_SCHEMA_DIR/<path>`` (or the ``schema_dir`` given to :class:`SchemaStore`);
2. the user cache ``$KSEFKIT_CACHE_DIR/schemas/<path>``, else
   ``$XDG_CACHE_HOME/ksefkit/schemas/<path>``, else ``~/.cache/ksefkit/schemas/<path>``;
3. a download from ``https://raw.githubusercontent.com/CIRFMF/ksef-docs/main/<path>`` into the
   cache, together with every file it imports or includes (``KSEFKIT_SCHEMA_OFFLINE=1`` turns
   downloads off).

The FA/RR schemas import their base types by the absolute URL
``http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/<file>``; an lxml
resolver maps it to ``faktury/schemy/FA/bazowe/<file>`` so validation never touches the network.
Compiled schemas are cached per process (per store root and path) behind a lock.

>>> store = SchemaStore(download=False)          # doctest: +SKIP
>>> store.validate_invoice(xml_bytes, FormCode.FA3)  # doctest: +SKIP
[]
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
import threading
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
from lxml import etree

from .errors import SchemaNotFoundError
from .formcodes import FormCode

__all__ = [
    "AUTH_XSD_V20",
    "AUTH_XSD_V21",
    "CRD_TYPES_URLS",
    "ENV_CACHE_DIR",
    "ENV_OFFLINE",
    "ENV_SCHEMA_DIR",
    "FA_BASE_DIR",
    "OFFICIAL_BASE_URL",
    "UPO_XSD",
    "SchemaResolver",
    "SchemaStore",
    "default_cache_dir",
    "default_store",
    "map_schema_location",
    "reset_default_store",
    "safe_parser",
    "schema_locations",
]

OFFICIAL_BASE_URL = "https://raw.githubusercontent.com/CIRFMF/ksef-docs/main/"
UPO_XSD = "faktury/upo/schemy/upo-v4-3.xsd"
AUTH_XSD_V20 = "auth/schemy/schemat_auth_v2-0.xsd"
AUTH_XSD_V21 = "auth/schemy/schemat_auth_v2-1.xsd"
#: Where the MF base type libraries (StrukturyDanych, ElementarneTypyDanych, KodyKrajow) live.
FA_BASE_DIR = "faktury/schemy/FA/bazowe/"
#: Absolute ``schemaLocation`` prefixes mapped to :data:`FA_BASE_DIR`.
CRD_TYPES_URLS = (
    "http://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/",
    "https://crd.gov.pl/xml/schematy/dziedzinowe/mf/2022/01/05/eD/DefinicjeTypy/",
)
ENV_SCHEMA_DIR = "KSEFKIT_SCHEMA_DIR"
ENV_CACHE_DIR = "KSEFKIT_CACHE_DIR"
ENV_OFFLINE = "KSEFKIT_SCHEMA_OFFLINE"
FETCH_COMMAND = "ksefkit schemas fetch"

_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_REFERENCE_TAGS = {f"{{{_XSD_NS}}}{t}" for t in ("import", "include", "redefine", "override")}
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_NS_IN_MESSAGE = re.compile(r"\{[^{}]*\}")


def safe_parser() -> etree.XMLParser:
    """A new XML parser that never resolves entities, loads DTDs or touches the network.

    >>> etree.fromstring(b"<a/>", safe_parser()).tag
    'a'
    """
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def default_cache_dir() -> Path:
    """The schema cache: ``$KSEFKIT_CACHE_DIR/schemas``, ``$XDG_CACHE_HOME/ksefkit/schemas``
    or ``~/.cache/ksefkit/schemas``.

    >>> default_cache_dir().name
    'schemas'
    """
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser() / "schemas"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ksefkit" / "schemas"


def _clean_rel(rel_path: str) -> str:
    rel = posixpath.normpath(rel_path.replace("\\", "/"))
    if rel.startswith(("/", "../")) or rel in {".", ".."} or ":" in rel:
        raise SchemaNotFoundError(f"schema path must be relative to the store root: {rel_path!r}")
    return rel


def map_schema_location(location: str, including: str) -> str | None:
    """The store path of a ``schemaLocation`` found in the schema at store path ``including``.

    Relative locations are relative to the including file; the crd.gov.pl DefinicjeTypy URLs
    map to :data:`FA_BASE_DIR`; any other absolute URL gives None (not ours to fetch).

    >>> map_schema_location("UBL-CommonBasicComponents-2.1.xsd", "faktury/schemy/PEF/bazowe/x.xsd")
    'faktury/schemy/PEF/bazowe/UBL-CommonBasicComponents-2.1.xsd'
    >>> map_schema_location(CRD_TYPES_URLS[0] + "StrukturyDanych_v10-0E.xsd", "faktury/a.xsd")
    'faktury/schemy/FA/bazowe/StrukturyDanych_v10-0E.xsd'
    """
    location = location.strip()
    for prefix in CRD_TYPES_URLS:
        if location.startswith(prefix):
            name = location[len(prefix) :]
            return FA_BASE_DIR + name if name and "/" not in name else None
    if urllib.parse.urlsplit(location).scheme or location.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(including), location))
    return None if joined.startswith("..") else joined


def schema_locations(xsd: bytes) -> list[str]:
    """The ``schemaLocation`` values of every import/include/redefine/override in an XSD.

    >>> schema_locations(b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
    ...                  b'<xs:include schemaLocation="b.xsd"/></xs:schema>')
    ['b.xsd']
    """
    try:
        root = etree.fromstring(xsd, safe_parser())
    except etree.XMLSyntaxError:
        return []
    return [
        str(el.get("schemaLocation"))
        for el in root
        if isinstance(el.tag, str) and el.tag in _REFERENCE_TAGS and el.get("schemaLocation")
    ]


class SchemaResolver(etree.Resolver):
    """Maps schema references to files of a :class:`SchemaStore`.

    Handles the crd.gov.pl DefinicjeTypy URLs (http and https) and local files missing from
    the root the including schema came from (they may live in another root, or be downloaded).
    Everything else is left to libxml2, which the parser forbids from using the network.
    """

    def __init__(self, store: SchemaStore) -> None:
        super().__init__()
        self._store = store

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        rel = self._store_path(system_url)
        if rel is None:
            return None
        path = self._store.locate(rel)
        return self.resolve_filename(str(path), context)  # type: ignore[attr-defined]

    def _store_path(self, url: str) -> str | None:
        if url.startswith(CRD_TYPES_URLS):
            return map_schema_location(url, "")
        local = urllib.parse.unquote(url[7:]) if url.startswith("file://") else url
        if urllib.parse.urlsplit(local).scheme or os.path.exists(local):
            return None
        return self._store.relative_to_roots(Path(local))


@dataclass
class _Compiled:
    schema: etree.XMLSchema
    lock: threading.Lock
    #: The parsed XSD, kept so a busy schema can be compiled again for another thread.
    doc: etree._ElementTree
    #: Extra compiled copies, one per thread that found ``schema`` busy (see ``validate``).
    copies: threading.local

    def for_this_thread(self) -> tuple[etree.XMLSchema, threading.Lock | None]:
        """The shared schema with its lock when free, else this thread's own copy.

        An XMLSchema keeps its error log on the object, so one object validates one
        document at a time; libxml2 validation releases the GIL, so worker threads that
        validate in parallel (batch pre-flight) each get a copy instead of queueing.
        """
        if self.lock.acquire(blocking=False):
            return self.schema, self.lock
        own: etree.XMLSchema | None = getattr(self.copies, "schema", None)
        if own is None:
            with _COMPILED_LOCK:
                own = etree.XMLSchema(self.doc)
            self.copies.schema = own
        return own, None


# Compiled schemas are shared by every store of the process: key = (root, store path).
_COMPILED: dict[tuple[str, str], _Compiled] = {}
_COMPILED_LOCK = threading.RLock()


class SchemaStore:
    """Finds XSDs (schema dir → cache → download), compiles and caches them, validates.

    ``schema_dir`` defaults to ``$KSEFKIT_SCHEMA_DIR``; ``cache_dir`` (files are stored at
    ``cache_dir/<path>``) to :func:`default_cache_dir`. Downloads happen only when
    ``download`` is true and ``KSEFKIT_SCHEMA_OFFLINE`` is not set; a failed download is
    remembered and not retried by the same store.

    >>> store = SchemaStore(Path("/work/shared/ksef-spec"), download=False)  # doctest: +SKIP
    >>> store.is_available(FormCode.FA3)  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        schema_dir: Path | None = None,
        cache_dir: Path | None = None,
        *,
        download: bool = True,
        base_url: str = OFFICIAL_BASE_URL,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        env_dir = os.environ.get(ENV_SCHEMA_DIR)
        if schema_dir is None and env_dir:
            schema_dir = Path(env_dir).expanduser()
        self.schema_dir = schema_dir
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self.download = download and not _env_flag(ENV_OFFLINE)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._transport = transport
        self._lock = threading.RLock()
        self._failed: dict[str, str] = {}
        self._network_down: str | None = None
        self._ensured: dict[str, list[Path]] = {}

    def __repr__(self) -> str:
        return (
            f"SchemaStore(schema_dir={self.schema_dir!r}, cache_dir={self.cache_dir!r}, "
            f"download={self.download})"
        )

    # --- locating -----------------------------------------------------------------------

    def roots(self) -> list[Path]:
        """The directories searched, in order."""
        return [r for r in (self.schema_dir, self.cache_dir) if r is not None]

    def relative_to_roots(self, path: Path) -> str | None:
        """The store path of ``path`` if it lies under one of :meth:`roots`, else None."""
        for root in self.roots():
            try:
                return path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                continue
        return None

    def _find_local(self, rel: str) -> Path | None:
        for root in self.roots():
            candidate = root / rel
            if candidate.is_file():
                return candidate
        return None

    def locate(self, rel_path: str) -> Path:
        """The local file of ``rel_path``, downloading it into the cache if allowed.

        Raises SchemaNotFoundError naming ``KSEFKIT_SCHEMA_DIR`` and ``ksefkit schemas fetch``.
        """
        rel = _clean_rel(rel_path)
        found = self._find_local(rel)
        if found is not None:
            return found
        with self._lock:
            found = self._find_local(rel)
            if found is not None:
                return found
            if self.download and rel not in self._failed and self._network_down is None:
                try:
                    return self._download(rel)
                except SchemaNotFoundError as exc:
                    self._failed[rel] = str(exc)
            raise SchemaNotFoundError(self._not_found_message(rel))

    def _not_found_message(self, rel: str) -> str:
        where = [f"${ENV_SCHEMA_DIR} ({self.schema_dir or 'not set'})", f"cache {self.cache_dir}"]
        if not self.download:
            how = f"downloads are off (download=False or {ENV_OFFLINE}=1)"
        else:
            how = f"download failed: {self._failed.get(rel) or self._network_down}"
        return (
            f"XSD {rel!r} not found in {' or '.join(where)}; {how}. Set {ENV_SCHEMA_DIR} to a "
            f"copy of the CIRFMF/ksef-docs schemas, or run `{FETCH_COMMAND}` to download them."
        )

    def _iter_tree(self, rel_path: str) -> Iterator[tuple[str, Path]]:
        """Locate ``rel_path`` and, transitively, every file it imports or includes."""
        pending, seen = [_clean_rel(rel_path)], set[str]()
        while pending:
            rel = pending.pop()
            if rel in seen:
                continue
            seen.add(rel)
            path = self.locate(rel)
            yield rel, path
            for location in schema_locations(path.read_bytes()):
                child = map_schema_location(location, rel)
                if child is not None and child not in seen:
                    pending.append(child)

    def ensure(self, rel_path: str) -> list[Path]:
        """Locate a schema and all its imports (downloading what is missing); their paths."""
        rel = _clean_rel(rel_path)
        paths = self._ensured.get(rel)
        if paths is None or not all(p.is_file() for p in paths):
            paths = [path for _, path in self._iter_tree(rel)]
            self._ensured[rel] = paths
        return list(paths)

    # --- downloading --------------------------------------------------------------------

    def url_for(self, rel_path: str) -> str:
        """The download URL of a store path (parentheses etc. percent-encoded).

        >>> SchemaStore(cache_dir=Path("/tmp")).url_for("faktury/schemy/FA/schemat_FA(3)_v1-0E.xsd")
        'https://raw.githubusercontent.com/CIRFMF/ksef-docs/main/faktury/schemy/FA/schemat_FA%283%29_v1-0E.xsd'
        """
        return self.base_url + urllib.parse.quote(_clean_rel(rel_path), safe="/")

    def _client(self) -> httpx.Client:
        return httpx.Client(transport=self._transport, timeout=_TIMEOUT, follow_redirects=True)

    def _download(self, rel: str, client: httpx.Client | None = None) -> Path:
        url = self.url_for(rel)
        try:
            if client is None:
                with self._client() as own:
                    response = own.get(url)
            else:
                response = client.get(url)
        except httpx.HTTPError as exc:
            self._network_down = f"{url}: {type(exc).__name__}: {exc}"
            raise SchemaNotFoundError(self._network_down) from exc
        if response.status_code != 200:
            raise SchemaNotFoundError(f"{url}: HTTP {response.status_code}")
        try:
            etree.fromstring(response.content, safe_parser())
        except etree.XMLSyntaxError as exc:
            raise SchemaNotFoundError(f"{url}: not XML ({exc})") from exc
        return self._write_cache(rel, response.content)

    def _write_cache(self, rel: str, content: bytes) -> Path:
        target = self.cache_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".xsd")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def fetch_all(self) -> list[Path]:
        """Download (refresh) every known schema and its imports into the cache.

        Covers every :class:`FormCode` schema, the UPO schema and both auth schemas. Runs even
        when automatic downloads are off: it is the explicit ``ksefkit schemas fetch``.
        """
        roots = [fc.xsd_path for fc in FormCode] + [UPO_XSD, AUTH_XSD_V20, AUTH_XSD_V21]
        pending, seen, written = list(reversed(roots)), set[str](), list[Path]()
        with self._lock, self._client() as client:
            self._network_down = None
            while pending:
                rel = pending.pop()
                if rel in seen:
                    continue
                seen.add(rel)
                path = self._download(rel, client)
                self._failed.pop(rel, None)
                written.append(path)
                for location in schema_locations(path.read_bytes()):
                    child = map_schema_location(location, rel)
                    if child is not None and child not in seen:
                        pending.append(child)
        return written

    # --- compiling and validating -------------------------------------------------------

    def _compiled(self, rel_path: str) -> _Compiled:
        rel = _clean_rel(rel_path)
        main = self.locate(rel)
        key = (str(main.resolve()), rel)
        with _COMPILED_LOCK:
            entry = _COMPILED.get(key)
            if entry is None:
                self.ensure(rel)
                parser = safe_parser()
                parser.resolvers.add(SchemaResolver(self))
                try:
                    doc = etree.parse(str(main.resolve()), parser)
                    entry = _Compiled(
                        etree.XMLSchema(doc), threading.Lock(), doc, threading.local()
                    )
                except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                    raise SchemaNotFoundError(
                        f"XSD {rel!r} ({main}) does not compile: {exc}"
                    ) from exc
                _COMPILED[key] = entry
            return entry

    def schema(self, rel_path: str) -> etree.XMLSchema:
        """The compiled schema at ``rel_path`` (compiled once per process and root).

        An XMLSchema keeps its error log on the object: when validating from several
        threads, prefer :meth:`validate`, which gives each busy thread its own copy.
        """
        return self._compiled(rel_path).schema

    def invoice_schema(self, form_code: FormCode) -> etree.XMLSchema:
        """The compiled schema of an invoice form code."""
        return self.schema(form_code.xsd_path)

    def validate(self, xml: bytes | etree._Element, rel_path: str) -> list[str]:
        """Validate a document against the schema at ``rel_path``; errors, empty = valid.

        Each error reads ``line N: message`` (namespaces left out for readability).
        """
        entry = self._compiled(rel_path)
        if isinstance(xml, bytes | bytearray):
            try:
                doc: etree._Element = etree.fromstring(bytes(xml), safe_parser())
            except etree.XMLSyntaxError as exc:
                return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
        else:
            doc = xml
        schema, held = entry.for_this_thread()
        try:
            if schema.validate(doc):
                return []
            # lxml-stubs leave _ErrorLog opaque; it iterates _LogEntry objects.
            log = list(cast("Iterable[Any]", schema.error_log))
        finally:
            if held is not None:
                held.release()
        return [f"line {e.line}: {_NS_IN_MESSAGE.sub('', e.message)}" for e in log]

    def validate_invoice(self, xml: bytes | etree._Element, form_code: FormCode) -> list[str]:
        """Validate an invoice against its form code's XSD; errors, empty = valid."""
        return self.validate(xml, form_code.xsd_path)

    def is_available(self, form_code: FormCode) -> bool:
        """True if the form code's schema and its imports can be found (or downloaded).

        Never raises; a failed download is not retried by this store.
        """
        try:
            self.ensure(form_code.xsd_path)
        except SchemaNotFoundError:
            return False
        return True


_DEFAULT: SchemaStore | None = None
_DEFAULT_LOCK = threading.Lock()


def default_store() -> SchemaStore:
    """The process-wide store configured from ``KSEFKIT_SCHEMA_DIR``, ``KSEFKIT_CACHE_DIR``
    and ``KSEFKIT_SCHEMA_OFFLINE``.

    >>> default_store() is default_store()
    True
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = SchemaStore()
        return _DEFAULT


def reset_default_store() -> None:
    """Forget the process-wide store (tests that change the environment call this)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        _DEFAULT = None
