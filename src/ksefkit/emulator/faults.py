"""Injected faults: the failures a KSeF client must survive, on demand and reproducibly.

A rule has a ``kind``, how often it fires — ``rate`` (probability 0–1 per matching request or
work item) and/or ``count`` (it fires at most that many times; with neither it fires every
time) — optional ``methods`` and ``path`` filters (request kinds; ``path`` is a regular
expression that must match the whole path after ``/v2``, or the whole ``/storage/...`` path)
and fields of its kind:

================= ===================================================================
kind              effect
================= ===================================================================
rate_limit        429 + ``Retry-After: retry_after`` (default 1) before the API sees it
server_error      ``status`` (default 503) before the API sees it; ``html: true`` sends
                  the gateway's HTML page instead of problem details; ``retry_after``
                  optionally adds ``Retry-After``
latency           waits ``delay`` seconds (real time), then the request goes on
drop_before       the connection is closed without an answer; the API never sees it
drop_after        the API processes and commits the request, then the connection is
                  closed without its answer (the ambiguous case: did it happen?)
expire_links      pre-signed ``/storage/*`` links (UPO, batch part, export part) answer
                  as expired (403)
invoice_failure   the next invoices that would have been accepted get status ``code``
                  (405, 410, 415, 430, 435, 440, 450, 500, 550) with ``description``
                  and ``details`` (defaults: KSeF's texts)
session_failure   the next sessions end with status ``code`` (405, 415, 420, 430, 435,
                  440, 445, 500) instead of their natural outcome
slow_processing   work (authentication, invoices, session close, exports) waits
                  ``delay`` seconds on the emulator clock before it is processed
================= ===================================================================

``slow_processing`` stays until removed (no ``rate``/``count``); in ``immediate`` mode the
work then runs when it is due, at the start of a later API request; ``manual`` mode ignores
it (``step()`` runs everything). Public-key rotation is not a rule: ``POST
/_emulator/keys/rotate`` (``{"emergency": true}`` retires the old keys at once).

Every latency rule that fires adds its delay; then the first answering rule (in the order the
rules were added) that fires answers. Probabilities come from one RNG seeded with
``fault_seed``, so a seeded run with the same request sequence injects the same faults.
``hits`` counts how often a rule fired. Specs in the ``--fault`` syntax (:func:`parse_fault_spec`)::

    server_error:rate=0.05:html=1
    drop_after:rate=0.02:path=/sessions/online/.*/invoices
    rate_limit:count=3:retry_after=30:methods=POST,PUT
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "INVOICE_FAILURES",
    "KINDS",
    "SESSION_FAILURES",
    "ConnectionDropped",
    "FaultRule",
    "Faults",
    "RequestFaults",
    "parse_fault_spec",
    "silence_dropped_connection_logs",
]

#: Kinds answering an HTTP request instead of the API.
_ANSWERING = ("rate_limit", "server_error", "drop_before", "expire_links")
#: Kinds acting on an HTTP request, before it reaches the API.
_BEFORE = (*_ANSWERING, "latency")
#: Kinds acting on background work.
_WORK = ("invoice_failure", "session_failure", "slow_processing")
KINDS: tuple[str, ...] = (*_BEFORE, "drop_after", *_WORK)

#: Invoice status codes a rule may inject, with KSeF's descriptions.
INVOICE_FAILURES: dict[int, str] = {
    405: "Przetwarzanie anulowane z powodu błędu sesji",
    410: "Nieprawidłowy zakres uprawnień",
    415: "Brak możliwości wysyłania faktury z załącznikiem",
    430: "Błąd weryfikacji pliku faktury",
    435: "Błąd odszyfrowania pliku",
    440: "Duplikat faktury",
    450: "Błąd weryfikacji semantyki dokumentu faktury",
    500: "Nieznany błąd (500)",
    550: "Operacja została anulowana przez system",
}
#: Session status codes a rule may inject, with KSeF's descriptions.
SESSION_FAILURES: dict[int, str] = {
    405: "Błąd weryfikacji poprawności dostarczonych elementów paczki",
    415: "Błąd odszyfrowania dostarczonego klucza",
    420: "Przekroczony limit faktur w sesji",
    430: "Błąd dekompresji pierwotnego archiwum",
    435: "Błąd odszyfrowania zaszyfrowanych części archiwum",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
    500: "Nieznany błąd (500)",
}

#: Fields each kind accepts besides the common ones.
_FIELDS: dict[str, frozenset[str]] = {
    "rate_limit": frozenset({"retry_after"}),
    "server_error": frozenset({"status", "html", "retry_after"}),
    "latency": frozenset({"delay"}),
    "drop_before": frozenset(),
    "drop_after": frozenset(),
    "expire_links": frozenset(),
    "invoice_failure": frozenset({"code", "description", "details"}),
    "session_failure": frozenset({"code", "description", "details"}),
    "slow_processing": frozenset({"delay"}),
}
_COMMON = frozenset({"kind", "rate", "count", "methods", "path"})
_INJECTED = "Błąd wstrzyknięty przez emulator ksefkit."


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised to drop a connection on purpose.

    Over TCP uvicorn closes the connection after a response start, so the client sees a
    protocol error; in process (``httpx.ASGITransport``) the exception itself reaches the
    caller, and it is the same ``httpx.RemoteProtocolError`` a real drop produces.
    """


class _QuietDrops(logging.Filter):
    """Deliberate drops are not crashes: keep their tracebacks out of uvicorn's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def silence_dropped_connection_logs() -> None:
    """Filter :class:`ConnectionDropped` out of ``uvicorn.error`` (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


@dataclass
class FaultRule:
    """One validated rule; :meth:`to_json` is what ``GET /_emulator/faults`` lists."""

    id: str
    kind: str
    rate: float | None = None
    count: int | None = None
    methods: frozenset[str] | None = None
    path: re.Pattern[str] | None = None
    retry_after: int | None = None
    status: int = 503
    html: bool = False
    delay: float = 0.0
    code: int = 0
    description: str = ""
    details: tuple[str, ...] = ()
    hits: int = 0
    _given: tuple[str, ...] = field(default=(), repr=False)

    @property
    def spent(self) -> bool:
        """A ``count`` rule that has fired ``count`` times."""
        return self.count is not None and self.hits >= self.count

    def matches(self, method: str, path: str) -> bool:
        """Whether the request filters accept ``method path``."""
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.kind == "expire_links" and not path.startswith("/storage/"):
            return False
        return self.path is None or self.path.fullmatch(path) is not None

    def to_json(self) -> dict[str, Any]:
        """The rule as given, plus ``id``, ``hits`` and (count rules) ``remaining``."""
        body: dict[str, Any] = {"id": self.id, "kind": self.kind}
        for name in self._given:
            value = getattr(self, name)
            if name == "methods":
                value = sorted(value)
            elif name == "path":
                value = value.pattern
            elif name == "details":
                value = list(value)
            body[name] = value
        body["hits"] = self.hits
        if self.count is not None:
            body["remaining"] = max(self.count - self.hits, 0)
        return body


@dataclass(frozen=True)
class RequestFaults:
    """What the faults decided for one request before it reaches the API."""

    delay: float = 0.0
    rule: FaultRule | None = None


class Faults:
    """The rules of one emulator (thread-safe), with a seeded RNG and hit counters.

    >>> faults = Faults(seed=7)
    >>> rid = faults.add("server_error", count=1, path="/sessions/.*")
    >>> faults.before("GET", "/sessions/X").rule.kind, faults.before("GET", "/sessions/X").rule
    ('server_error', None)
    >>> faults.rules()[0]["hits"], faults.rules()[0]["remaining"]
    (1, 0)
    """

    def __init__(self, seed: int | None = None, rules: Iterable[object] = ()) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._configured = list(rules)
        for spec in self._configured:
            self.add_spec(spec)

    # -- managing rules --------------------------------------------------------------------

    def add(self, kind: str, **fields: Any) -> str:
        """Add a rule and return its id; fields as in the module docs (``ValueError`` when
        invalid).

        >>> Faults().add("latency", delay=0.2, methods=["GET"])
        'f1'
        """
        with self._lock:
            rule = _build(f"f{self._next_id}", {"kind": kind, **fields})
            self._next_id += 1
            self._rules.append(rule)
            return rule.id

    def add_spec(self, spec: object) -> str:
        """Add a rule given as a mapping (the admin JSON) or a ``--fault`` string."""
        if isinstance(spec, str):
            spec = parse_fault_spec(spec)
        if not isinstance(spec, Mapping):
            raise ValueError("a fault rule is a JSON object or a 'kind:key=value' string")
        fields = dict(spec)
        kind = fields.pop("kind", None)
        if not isinstance(kind, str):
            raise ValueError("kind: required")
        return self.add(kind, **fields)

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; False when there is no such id."""
        with self._lock:
            kept = [rule for rule in self._rules if rule.id != rule_id]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules = []

    def reseed(self, seed: int | None) -> None:
        """Restart the RNG from ``seed`` (same seed + same requests = same faults)."""
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    def reset(self) -> None:
        """Back to the configured rules (``EmulatorConfig.faults``/``--fault``), hits at zero,
        the RNG reseeded."""
        with self._lock:
            self._rules = []
            self._next_id = 1
            self._rng = random.Random(self._seed)
        for spec in self._configured:
            self.add_spec(spec)

    def rules(self) -> list[dict[str, Any]]:
        """Every rule with its hit count."""
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    # -- decisions -------------------------------------------------------------------------

    def before(self, method: str, path: str) -> RequestFaults:
        """Latency to add and the rule (if any) that answers instead of the API."""
        with self._lock:
            delay = sum(
                rule.delay
                for rule in self._candidates(("latency",))
                if rule.matches(method, path) and self._fires(rule)
            )
            for rule in self._candidates(_ANSWERING):
                if rule.matches(method, path) and self._fires(rule):
                    return RequestFaults(delay, rule)
        return RequestFaults(delay)

    def drop_after(self, method: str, path: str) -> bool:
        """Whether this request's answer is to be lost after the API processed it."""
        with self._lock:
            return any(
                rule.matches(method, path) and self._fires(rule)
                for rule in self._candidates(("drop_after",))
            )

    def invoice_failure(self) -> FaultRule | None:
        """The rule failing the invoice being accepted now, if one fires."""
        return self._work("invoice_failure")

    def session_failure(self) -> FaultRule | None:
        """The rule failing the session being finished now, if one fires."""
        return self._work("session_failure")

    def processing_delay(self) -> float:
        """Seconds work waits because of ``slow_processing`` rules (the largest one)."""
        with self._lock:
            delays = [r.delay for r in self._rules if r.kind == "slow_processing"]
        return max(delays, default=0.0)

    def _work(self, kind: str) -> FaultRule | None:
        with self._lock:
            for rule in self._candidates((kind,)):
                if self._fires(rule):
                    return rule
        return None

    def _candidates(self, kinds: tuple[str, ...]) -> list[FaultRule]:
        return [rule for rule in self._rules if rule.kind in kinds and not rule.spent]

    def _fires(self, rule: FaultRule) -> bool:
        if rule.rate is not None and self._rng.random() >= rule.rate:
            return False
        rule.hits += 1
        return True


def _build(rule_id: str, fields: dict[str, Any]) -> FaultRule:
    kind = fields.get("kind")
    if kind not in _FIELDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)} (got {kind!r})")
    given = tuple(name for name in fields if name != "kind" and fields[name] is not None)
    unknown = set(given) - _COMMON - _FIELDS[kind]
    if kind in _WORK:
        unknown |= {"methods", "path"} & set(given)
    if kind == "slow_processing":
        unknown |= {"rate", "count"} & set(given)
    if unknown:
        raise ValueError(f"{kind}: unsupported field(s) {', '.join(sorted(unknown))}")
    rule = FaultRule(rule_id, kind, _given=given)
    for name in given:
        setattr(rule, name, _CHECKS[name](fields[name]))
    _kind_defaults(rule)
    return rule


def _kind_defaults(rule: FaultRule) -> None:
    if rule.kind == "rate_limit" and rule.retry_after is None:
        rule.retry_after = 1
    if rule.kind in ("invoice_failure", "session_failure"):
        table = INVOICE_FAILURES if rule.kind == "invoice_failure" else SESSION_FAILURES
        if rule.code not in table:
            raise ValueError(f"code: one of {sorted(table)} for {rule.kind}")
        rule.description = rule.description or table[rule.code]
        rule.details = rule.details or (_INJECTED,)
    if rule.kind in ("latency", "slow_processing") and rule.delay <= 0:
        raise ValueError("delay: seconds > 0 required")


def _number(name: str, low: float, high: float) -> Any:
    def check(value: object) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"{name}: a number")
        if not low <= value <= high:
            raise ValueError(f"{name}: between {low:g} and {high:g}")
        return float(value)

    return check


def _integer(name: str, low: int, high: int) -> Any:
    def check(value: object) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{name}: an integer between {low} and {high}")
        return value

    return check


def _methods(value: object) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple | set | frozenset) or not value:
        raise ValueError("methods: a list of HTTP methods")
    if not all(isinstance(m, str) and m.strip().isalpha() for m in value):
        raise ValueError("methods: a list of HTTP methods")
    return frozenset(m.strip().upper() for m in value)


def _path(value: object) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ValueError("path: a regular expression")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"path: invalid regular expression ({exc})") from None


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("html: true or false")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("description: a non-empty string")
    return value


def _details(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(d, str) for d in value):
        raise ValueError("details: a list of strings")
    return tuple(value)


_CHECKS: dict[str, Any] = {
    "rate": _number("rate", 0, 1),
    "count": _integer("count", 1, 2**31 - 1),
    "methods": _methods,
    "path": _path,
    "retry_after": _integer("retry_after", 1, 2**31 - 1),
    "status": _integer("status", 500, 599),
    "html": _bool,
    "delay": _number("delay", 0, 24 * 3600),
    "code": _integer("code", 100, 999),
    "description": _text,
    "details": _details,
}

_SPEC_SPLIT = re.compile(r":(?=[a-z_]+=)")
_SPEC_TYPES: dict[str, Any] = {
    "rate": float,
    "count": int,
    "retry_after": int,
    "status": int,
    "code": int,
    "delay": float,
}


def parse_fault_spec(spec: str) -> dict[str, Any]:
    """A ``--fault`` string as the rule mapping it stands for.

    ``kind`` then ``:key=value`` pairs; a ``:`` only separates pairs when a ``key=`` follows,
    so a ``path`` regex may contain colons. ``html`` takes 1/0/true/false, ``methods`` a
    comma-separated list, ``details`` one detail text.

    >>> parse_fault_spec("drop_after:rate=0.02:path=/sessions/online/.*/invoices")
    {'kind': 'drop_after', 'rate': 0.02, 'path': '/sessions/online/.*/invoices'}
    >>> parse_fault_spec("server_error:status=502:html=1:methods=get,post")["methods"]
    ['GET', 'POST']
    """
    kind, *pairs = _SPEC_SPLIT.split(spec.strip())
    if not kind or "=" in kind:
        raise ValueError(f"{spec!r}: starts with a kind ({', '.join(KINDS)})")
    rule: dict[str, Any] = {"kind": kind}
    for pair in pairs:
        key, _, text = pair.partition("=")
        if key in rule:
            raise ValueError(f"{spec!r}: {key} given twice")
        rule[key] = _spec_value(key, text)
    return rule


def _spec_value(key: str, text: str) -> Any:
    if key in _SPEC_TYPES:
        try:
            return _SPEC_TYPES[key](text)
        except ValueError:
            raise ValueError(f"{key}: not a number: {text!r}") from None
    if key == "html":
        if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError(f"html: 1/0/true/false, not {text!r}")
        return text.lower() in ("1", "true", "yes")
    if key == "methods":
        return [m.strip().upper() for m in text.split(",") if m.strip()]
    if key == "details":
        return [text]
    return text
