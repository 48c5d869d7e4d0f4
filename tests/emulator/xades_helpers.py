"""Helpers for XAdES tests: signed AuthTokenRequests posted to the emulator, status, redeem.

The emulator's clock in these tests is the real time (a ``ManualClock`` started now), because
``ksefkit.testcerts`` certificates and ``XadesSigner`` signing times are based on it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
from emulator_helpers import Ksef
from lxml import etree

from ksefkit.testcerts import TestCertificate
from ksefkit.xades import AUTH_NS_V20, build_auth_token_request

XML = {"Content-Type": "application/xml"}


def real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


async def challenge(ksef: Ksef) -> str:
    return str((await ksef.http.post("/v2/auth/challenge")).json()["challenge"])


async def signed_request(
    ksef: Ksef,
    cert: TestCertificate,
    context: tuple[str, str],
    *,
    subject_type: str = "certificateSubject",
    namespace: str = AUTH_NS_V20,
    masks: tuple[str, ...] = (),
    addresses: tuple[str, ...] = (),
    ranges: tuple[str, ...] = (),
    edit: Callable[[etree._Element], None] | None = None,
) -> bytes:
    """A fresh challenge, the AuthTokenRequest for it (optionally edited), signed."""
    root = build_auth_token_request(
        challenge=await challenge(ksef),
        context_type=context[0],
        context_value=context[1],
        subject_identifier_type=subject_type,
        allowed_ips=addresses,
        allowed_ranges=ranges,
        allowed_masks=masks,
        namespace=namespace,
    )
    if edit is not None:
        edit(root)
    return cert.signer().sign(root)


async def post_xades(ksef: Ksef, body: bytes, query: str = "") -> httpx.Response:
    return await ksef.http.post(f"/v2/auth/xades-signature{query}", content=body, headers=XML)


def code_of(resp: httpx.Response) -> int:
    assert resp.status_code == 400, resp.text
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])


async def auth_status(ksef: Ksef, init: dict[str, Any]) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    resp = await ksef.http.get(f"/v2/auth/{init['referenceNumber']}", headers=bearer)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def redeem(ksef: Ksef, init: dict[str, Any]) -> dict[str, Any]:
    bearer = {"Authorization": f"Bearer {init['authenticationToken']['token']}"}
    resp = await ksef.http.post("/v2/auth/token/redeem", headers=bearer)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def xades_status(
    ksef: Ksef, cert: TestCertificate, context: tuple[str, str], query: str = "", **kw: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sign, post (202 expected), and return ``(init, status)``."""
    resp = await post_xades(ksef, await signed_request(ksef, cert, context, **kw), query)
    assert resp.status_code == 202, resp.text
    init = dict(resp.json())
    return init, await auth_status(ksef, init)


async def xades_login(
    ksef: Ksef, cert: TestCertificate, context: tuple[str, str], **kw: Any
) -> dict[str, Any]:
    """A successful XAdES authentication; the redeemed token pair."""
    init, status = await xades_status(ksef, cert, context, **kw)
    assert status["status"]["code"] == 200, status
    return await redeem(ksef, init)


def jwt_claims(tokens: dict[str, Any], kind: str = "accessToken") -> dict[str, Any]:
    """The (unverified) claims of a JWT the emulator issued."""
    payload = tokens[kind]["token"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def bearer(tokens: dict[str, Any], kind: str = "accessToken") -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[kind]['token']}"}
