"""XAdES authentication through the one ``authenticate`` entry point, every key source."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from ksefkit import AuthenticationFailed
from ksefkit.identifiers import random_nip
from ksefkit.testcerts import company_seal, person_by_nip, person_by_pesel
from ksefkit.xades import XadesSigner


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["rsa", "ec"])
async def test_company_seal_authenticates_into_its_nip(ksef_emulator, key) -> None:
    nip = random_nip()
    cert = company_seal(nip, key=key)
    async with ksef_emulator.async_client() as client:
        result = await client.authenticate(cert.signer(), nip=nip)
        assert result.status.status.code == 200
        async with client.online_session() as session:
            assert session.reference_number


@pytest.mark.anyio
async def test_person_by_nip_owns_the_context(ksef_emulator) -> None:
    nip = random_nip()
    async with ksef_emulator.async_client() as client:
        result = await client.authenticate(person_by_nip(nip).signer(), nip=nip)
        assert result.status.status.code == 200


@pytest.mark.anyio
async def test_encrypted_pem_and_pkcs12_sources(ksef_emulator, tmp_path) -> None:
    nip = random_nip()
    cert = company_seal(nip)
    cert_path, key_path = cert.save(tmp_path, password="s3cret")
    assert b"ENCRYPTED" in key_path.read_bytes()
    from_files = XadesSigner.from_files(cert_path, key_path, password="s3cret")
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(cert.to_pkcs12("p12pass"))
    from_p12 = XadesSigner.from_pkcs12_file(p12, "p12pass")
    pem = XadesSigner.from_pem(
        cert_path.read_bytes(),
        cert.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pw")
        ),
        password="pw",
    )
    for signer in (from_files, from_p12, pem):
        assert "s3cret" not in repr(signer) and "PRIVATE" not in repr(signer)
        async with ksef_emulator.async_client() as client:
            assert (await client.authenticate(signer, nip=nip)).status.status.code == 200


@pytest.mark.anyio
async def test_signer_callback_keeps_the_key_outside(ksef_emulator) -> None:
    nip = random_nip()
    cert = company_seal(nip)
    calls: list[bytes] = []

    def remote_sign(data: bytes) -> bytes:  # stands in for an HSM or a signing service
        calls.append(data)
        return cert.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    signer = XadesSigner.from_callback(cert.certificate, remote_sign)
    async with ksef_emulator.async_client() as client:
        assert (await client.authenticate(signer, nip=nip)).status.status.code == 200
    assert len(calls) == 1


@pytest.mark.anyio
async def test_wrong_context_fails_with_415(ksef_emulator) -> None:
    cert = company_seal(random_nip())
    async with ksef_emulator.async_client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            await client.authenticate(cert.signer(), nip=random_nip())
    assert info.value.code == 415


@pytest.mark.anyio
async def test_person_by_pesel_without_rights_fails(ksef_emulator) -> None:
    async with ksef_emulator.async_client() as client:
        with pytest.raises(AuthenticationFailed) as info:
            await client.authenticate(person_by_pesel("90010112345").signer(), nip=random_nip())
    assert info.value.code == 415


@pytest.mark.anyio
async def test_feature_header_and_chain_switch_are_sent(ksef_emulator) -> None:
    nip = random_nip()
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as http:
        async with ksef_emulator.async_client(http_client=http) as client:
            await client.authenticate(
                company_seal(nip).signer(),
                nip=nip,
                enforce_xades_compliance=True,
                verify_certificate_chain=False,
            )
    posts = [r for r in seen if r.url.path.endswith("/auth/xades-signature")]
    assert len(posts) == 1
    assert posts[0].headers["X-KSeF-Feature"] == "enforce-xades-compliance"
    assert posts[0].headers["Content-Type"] == "application/xml"
    assert posts[0].url.params["verifyCertificateChain"] == "false"
    assert "Authorization" not in posts[0].headers
