"""``AuthorizationPolicy.AllowedIps``: parse it (JSON body or AuthTokenRequest XML) and enforce it.

The policy travels inside the access and refresh JWTs as ``{ip4Addresses, ip4Ranges,
ip4Masks}``; a request whose client IP matches none of the entries is refused with 403
``ip-not-allowed`` and ``security: {clientIp}`` (KSEF_API.md §4.4, §15.1).

**Decision:** a policy with no entries at all restricts nothing (KSeF does not say; an empty
``AllowedIps`` is XSD-valid, and reading it as "deny everything" would lock the caller out).
IPv6 clients never match an IPv4 entry.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from ..errors import forbidden, validation_error

__all__ = ["IP4_ADDRESS_RE", "IP4_MASK_RE", "IP4_RANGE_RE", "allowed", "enforce", "policy_from"]

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IP4 = rf"({_OCTET}\.){{3}}{_OCTET}"
IP4_ADDRESS_RE = re.compile(_IP4)
IP4_RANGE_RE = re.compile(rf"{_IP4}-{_IP4}")
IP4_MASK_RE = re.compile(rf"{_IP4}/(0|[1-9]|[12][0-9]|3[0-2])")
_FIELDS = {"ip4Addresses": IP4_ADDRESS_RE, "ip4Ranges": IP4_RANGE_RE, "ip4Masks": IP4_MASK_RE}
_MAX_ITEMS = 10


def policy_from(authorization_policy: object) -> dict[str, list[str]] | None:
    """Validate a JSON ``authorizationPolicy``; the normalised ``allowedIps`` (or None).

    Violations (wrong types, more than 10 items, patterns of AllowedIps) are 400/21405.

    >>> policy_from({"allowedIps": {"ip4Masks": ["10.0.0.0/8"]}})
    {'ip4Addresses': [], 'ip4Ranges': [], 'ip4Masks': ['10.0.0.0/8']}
    >>> policy_from(None) is None
    True
    """
    if authorization_policy is None:
        return None
    if not isinstance(authorization_policy, dict):
        raise validation_error("authorizationPolicy: oczekiwano obiektu.")
    unknown = set(authorization_policy) - {"allowedIps"}
    if unknown:
        raise validation_error(f"authorizationPolicy: nieznane pola {sorted(unknown)}.")
    ips = authorization_policy.get("allowedIps")
    if ips is None:
        return None
    if not isinstance(ips, dict) or set(ips) - set(_FIELDS):
        raise validation_error(
            "authorizationPolicy.allowedIps: oczekiwano obiektu z polami"
            " ip4Addresses, ip4Ranges, ip4Masks."
        )
    out: dict[str, list[str]] = {}
    for name, pattern in _FIELDS.items():
        values = ips.get(name) or []
        where = f"authorizationPolicy.allowedIps.{name}"
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise validation_error(f"{where}: oczekiwano listy tekstów.")
        out[name] = _checked(values, pattern, where)
    return out


def _checked(values: list[str], pattern: re.Pattern[str], where: str) -> list[str]:
    if len(values) > _MAX_ITEMS:
        raise validation_error(f"{where}: najwyżej {_MAX_ITEMS} elementów.")
    for value in values:
        if not (value.isascii() and pattern.fullmatch(value)):
            raise validation_error(f"{where}: {value!r} ma nieprawidłowy format.")
        if pattern is IP4_RANGE_RE:
            low, high = (ipaddress.IPv4Address(v) for v in value.split("-"))
            if low > high:
                raise validation_error(f"{where}: {value!r} — początek zakresu po jego końcu.")
    return values


def allowed(policy: dict[str, Any] | None, client_ip: str) -> bool:
    """Whether ``client_ip`` satisfies the policy (no policy or no entries: always).

    >>> p = {"ip4Addresses": ["10.0.0.1"], "ip4Ranges": ["10.1.0.1-10.1.0.9"], "ip4Masks": []}
    >>> allowed(p, "10.0.0.1"), allowed(p, "10.1.0.5"), allowed(p, "127.0.0.1")
    (True, True, False)
    >>> allowed({"ip4Masks": ["127.0.0.0/8"]}, "127.0.0.1")
    True
    """
    if not policy:
        return True
    addresses = list(policy.get("ip4Addresses") or [])
    ranges = list(policy.get("ip4Ranges") or [])
    masks = list(policy.get("ip4Masks") or [])
    if not (addresses or ranges or masks):
        return True
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if not isinstance(ip, ipaddress.IPv4Address):
        return False
    if any(ip == ipaddress.IPv4Address(a) for a in addresses):
        return True
    for item in ranges:
        low, high = (ipaddress.IPv4Address(v) for v in item.split("-"))
        if low <= ip <= high:
            return True
    return any(ip in ipaddress.IPv4Network(m, strict=False) for m in masks)


def enforce(policy: dict[str, Any] | None, client_ip: str | None) -> None:
    """403 ``ip-not-allowed`` (``security: {clientIp}``) unless the IP satisfies the policy."""
    if client_ip is None or allowed(policy, client_ip):
        return
    raise forbidden(
        "ip-not-allowed",
        "Adres IP klienta nie jest dozwolony przez politykę autoryzacji.",
        {"clientIp": client_ip},
    )
