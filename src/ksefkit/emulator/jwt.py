"""HS256 JSON Web Tokens for the emulator (stdlib only: hmac + json + base64url).

KSeF's tokens are opaque to clients; the emulator mimics the observed claims (§4.7) so the
tokens look familiar, and signs them with a secret persisted in the store so a restarted
emulator still accepts the tokens it issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

__all__ = ["JwtError", "b64url_decode", "b64url_encode", "decode", "encode"]


class JwtError(ValueError):
    """The token is malformed or its signature does not match (never carries the token)."""


def b64url_encode(data: bytes) -> str:
    """Base64url without padding.

    >>> b64url_encode(b"\\xff\\xfe")
    '__4'
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url_encode`; raises :class:`JwtError` on bad input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JwtError("bad base64url") from exc


def encode(claims: dict[str, Any], secret: bytes) -> str:
    """Sign ``claims`` with HS256.

    >>> decode(encode({"a": 1}, b"k"), b"k")
    {'a': 1}
    """
    header = b64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


def decode(token: str, secret: bytes) -> dict[str, Any]:
    """Verify the HS256 signature and return the claims (expiry is the caller's business).

    >>> decode(encode({"a": 1}, b"k"), b"other")
    Traceback (most recent call last):
    ...
    ksefkit.emulator.jwt.JwtError: bad signature
    """
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        raise JwtError("not a JWT")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode("ascii"), hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), b64url_decode(parts[2])):
        raise JwtError("bad signature")
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise JwtError("bad payload") from exc
    if not isinstance(claims, dict):
        raise JwtError("bad payload")
    return claims
