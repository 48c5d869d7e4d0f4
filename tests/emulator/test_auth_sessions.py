"""Authentication sessions: list (scope, isCurrent, paging), revoke current / by reference."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_helpers import Ksef

from ksefkit.emulator.state import EmulatorState, SeededSubject

pytestmark = pytest.mark.anyio


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _code(resp: httpx.Response) -> int:
    assert resp.status_code == 400, resp.text
    return int(resp.json()["exception"]["exceptionDetailList"][0]["exceptionCode"])


async def _login(ksef: Ksef, subject: SeededSubject) -> tuple[str, dict[str, Any]]:
    init = await ksef.start_auth(subject.nip, subject.token)
    bearer = _auth(init["authenticationToken"]["token"])
    tokens = (await ksef.http.post("/v2/auth/token/redeem", headers=bearer)).json()
    return str(init["referenceNumber"]), {**tokens, "operation": bearer}


async def test_list_shows_the_subjects_sessions_with_is_current(
    ksef: Ksef, state: EmulatorState
) -> None:
    subject, stranger = state.create_subject(), state.create_subject()
    first_ref, first = await _login(ksef, subject)
    second_ref, second = await _login(ksef, subject)
    await _login(ksef, stranger)
    resp = await ksef.http.get("/v2/auth/sessions", headers=_auth(second["accessToken"]["token"]))
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert [i["referenceNumber"] for i in items] == sorted([first_ref, second_ref], reverse=True)
    current = {i["referenceNumber"]: i["isCurrent"] for i in items}
    assert current == {first_ref: False, second_ref: True}
    item = items[0]
    assert {"startDate", "authenticationMethod", "authenticationMethodInfo", "status"} <= set(item)
    assert item["status"]["code"] == 200
    assert item["isTokenRedeemed"] is True
    assert "refreshTokenValidUntil" in item
    assert "continuationToken" not in resp.json()
    assert first  # the first pair is still usable below


async def test_revoke_current_with_refresh_token(ksef: Ksef, subject: SeededSubject) -> None:
    ref, tokens = await _login(ksef, subject)
    refresh = _auth(tokens["refreshToken"]["token"])
    access = _auth(tokens["accessToken"]["token"])
    resp = await ksef.http.delete("/v2/auth/sessions/current", headers=refresh)
    assert resp.status_code == 204
    assert _code(await ksef.http.post("/v2/auth/token/refresh", headers=refresh)) == 21301
    status = (await ksef.http.get(f"/v2/auth/{ref}", headers=tokens["operation"])).json()
    assert status["status"]["code"] == 425
    assert status["status"]["description"] == "Uwierzytelnienie unieważnione"
    assert status["status"]["details"]
    # Access tokens already issued keep working until exp; the session leaves the list.
    listed = await ksef.http.get("/v2/auth/sessions", headers=access)
    assert listed.status_code == 200
    assert ref not in {i["referenceNumber"] for i in listed.json()["items"]}
    # Revoking twice is harmless.
    assert (await ksef.http.delete("/v2/auth/sessions/current", headers=access)).status_code == 204


async def test_revoke_other_session_by_reference(ksef: Ksef, subject: SeededSubject) -> None:
    old_ref, old = await _login(ksef, subject)
    _, new = await _login(ksef, subject)
    access = _auth(new["accessToken"]["token"])
    resp = await ksef.http.delete(f"/v2/auth/sessions/{old_ref}", headers=access)
    assert resp.status_code == 204
    old_refresh = _auth(old["refreshToken"]["token"])
    assert _code(await ksef.http.post("/v2/auth/token/refresh", headers=old_refresh)) == 21301
    new_refresh = _auth(new["refreshToken"]["token"])
    assert (await ksef.http.post("/v2/auth/token/refresh", headers=new_refresh)).status_code == 200


async def test_cannot_revoke_another_subjects_session(ksef: Ksef, state: EmulatorState) -> None:
    a, b = state.create_subject(), state.create_subject()
    b_ref, b_tokens = await _login(ksef, b)
    _, a_tokens = await _login(ksef, a)
    url = f"/v2/auth/sessions/{b_ref}"
    resp = await ksef.http.delete(url, headers=_auth(a_tokens["accessToken"]["token"]))
    assert _code(resp) == 21405
    refresh = _auth(b_tokens["refreshToken"]["token"])
    assert (await ksef.http.post("/v2/auth/token/refresh", headers=refresh)).status_code == 200


async def test_paging_and_bad_queries(ksef: Ksef, subject: SeededSubject) -> None:
    for _ in range(11):
        _, tokens = await _login(ksef, subject)
    access = _auth(tokens["accessToken"]["token"])
    first = (await ksef.http.get("/v2/auth/sessions", headers=access)).json()
    assert len(first["items"]) == 10
    nxt = {**access, "x-continuation-token": first["continuationToken"]}
    second = (await ksef.http.get("/v2/auth/sessions", headers=nxt)).json()
    assert len(second["items"]) == 1
    for query, extra, code in [
        ("?pageSize=9", {}, 21405),
        ("?pageSize=101", {}, 21405),
        ("?pageSize=x", {}, 21405),
        ("", {"x-continuation-token": "%%%"}, 21418),
    ]:
        resp = await ksef.http.get(f"/v2/auth/sessions{query}", headers={**access, **extra})
        assert _code(resp) == code
    bad_ref = await ksef.http.delete("/v2/auth/sessions/nope", headers=access)
    assert _code(bad_ref) == 21405


async def test_sessions_need_a_bearer(ksef: Ksef, subject: SeededSubject) -> None:
    assert (await ksef.http.get("/v2/auth/sessions")).status_code == 401
    _, tokens = await _login(ksef, subject)
    # The list and delete-by-reference take access tokens, not refresh tokens.
    refresh = _auth(tokens["refreshToken"]["token"])
    assert (await ksef.http.get("/v2/auth/sessions", headers=refresh)).status_code == 401
