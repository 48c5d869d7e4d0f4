"""The batch-session workflow end to end against the emulator: package, parallel streamed
uploads, close, wait, results mapped to file names, UPO pages, retries, expiry, resume."""

from __future__ import annotations

import json
import os
import re
import stat

import httpx
import pytest

from ksefkit import BatchSessionState, ConfigurationError, FormCode, StorageError
from ksefkit.emulator.clock import ManualClock
from ksefkit.errors import BatchPreflightError
from ksefkit.identifiers import is_valid_ksef_number
from ksefkit.testing import run_emulator
from ksefkit.upo import parse_upo

ATTACHMENT_SAMPLES = ("FA_3_Przyklad_24.xml", "FA_3_Przyklad_25.xml")
SMALL_PART = 600  # bytes of archive per part: a handful of invoices make several parts


class Crash(Exception):
    """Stands for the process dying in the middle of an upload."""


class Recorder:
    """httpx event hooks: remembers every request; can fail chosen part uploads."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.fail_once: dict[int, BaseException] = {}
        self.crash_at_put: int | None = None

    @property
    def puts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "PUT"]

    async def hook(self, request: httpx.Request) -> None:
        self.requests.append(request)
        if request.method != "PUT":
            return
        if self.crash_at_put is not None and len(self.puts) == self.crash_at_put:
            raise Crash(f"killed at upload {self.crash_at_put}")
        ordinal = int(request.url.path.rsplit("/", 1)[-1])
        error = self.fail_once.pop(ordinal, None)
        if error is not None:
            raise error


def pairs(make_invoice, count: int, prefix: str = "inv") -> list[tuple[str, bytes]]:
    return [(f"{prefix}-{i:03d}.xml", make_invoice()) for i in range(1, count + 1)]


@pytest.mark.anyio
@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
async def test_send_several_parts(
    ksef_emulator, ksef_subject, make_invoice, tmp_path, compression
) -> None:
    recorder = Recorder()
    invoices = pairs(make_invoice, 12)
    state_path = tmp_path / "batch.json"
    async with httpx.AsyncClient(event_hooks={"request": [recorder.hook]}) as http:
        async with ksef_emulator.async_client(http_client=http) as client:
            await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
            batch = client.batch_session(FormCode.FA3, state_path=state_path, parallelism=3)
            seen: list[tuple[str, int, int]] = []
            result = await batch.send(
                invoices,
                compression=compression,
                part_size=SMALL_PART,
                progress=lambda phase, done, total: seen.append((phase, done, total)),
                keep_package=True,
            )
            parts = batch.package.parts
            assert len(parts) >= 3
            assert result.status_code == 200
            assert [i.file_name for i in result.invoices] == [name for name, _ in invoices]
            assert result.failed == ()
            numbers = [i.ksef_number or "" for i in result.invoices]
            assert all(is_valid_ksef_number(n) and n.startswith(ksef_subject.nip) for n in numbers)
            assert len(set(numbers)) == len(invoices)
            assert all(i.status_code == 200 and i.reference_number for i in result.invoices)
            assert result.status.successful_invoice_count == len(invoices)

            pages = await result.upo_pages()
            assert len(pages) == 1
            upo = parse_upo(pages[0])
            assert upo.session_reference == result.reference_number
            assert sorted(d.ksef_number for d in upo.documents) == sorted(numbers)
            listed = {i.invoice_file_name: i.ksef_number async for i in batch.invoices()}
            assert listed == {i.file_name: i.ksef_number for i in result.invoices}
            assert [i async for i in batch.failed_invoices()] == []

    # every part went up exactly once, streamed with its length and the storage headers only
    puts = recorder.puts
    assert sorted(int(r.url.path.rsplit("/", 1)[-1]) for r in puts) == [
        p.ordinal_number for p in parts
    ]
    sizes = {p.ordinal_number: p.size for p in parts}
    for request in puts:
        ordinal = int(request.url.path.rsplit("/", 1)[-1])
        assert "authorization" not in request.headers
        assert request.headers["x-ms-blob-type"] == "BlockBlob"
        assert request.headers["content-length"] == str(sizes[ordinal])
        assert "transfer-encoding" not in request.headers
        assert not isinstance(request.stream, httpx.ByteStream)  # streamed, not read whole
        assert "x-error-format" not in request.headers
    api = [r for r in recorder.requests if r.url.path.startswith("/v2/sessions")]
    assert api and all(r.headers["authorization"].startswith("Bearer ") for r in api)

    # the state on disk: closed, every part confirmed
    state = BatchSessionState.load(state_path)
    assert state.closed and state.reference_number == result.reference_number
    assert list(state.uploaded) == [p.ordinal_number for p in parts]
    assert state.missing_parts() == []
    # progress: packing, encrypting and uploading, ending with every byte
    phases = {phase for phase, _, _ in seen}
    assert {"upload"} <= phases
    last_upload = [s for s in seen if s[0] == "upload"][-1]
    assert last_upload[1] == last_upload[2] == sum(sizes.values())


@pytest.mark.anyio
async def test_attachments_accepted_in_batch(ksef_async_client, make_invoice, spec_dir) -> None:
    samples = spec_dir / "samples" / "FA3"
    source = [(name, make_invoice.sample(samples / name)) for name in ATTACHMENT_SAMPLES]
    source.append(("plain.xml", make_invoice()))
    result = await ksef_async_client.batch_session().send(source)
    assert result.status_code == 200
    assert {i.file_name: i.status_code for i in result.invoices} == {
        **dict.fromkeys(ATTACHMENT_SAMPLES, 200),
        "plain.xml": 200,
    }
    assert all(i.accepted for i in result.invoices)


@pytest.mark.anyio
async def test_failed_invoices_mapped_to_file_names(ksef_async_client, make_invoice) -> None:
    earlier = make_invoice()
    async with ksef_async_client.online_session() as online:
        sent = await online.send(earlier)
        first_number = await online.wait_for_ksef_number(sent.reference_number)
    broken = make_invoice().replace(b"<P_2>", b"<P_2x>", 1).replace(b"</P_2>", b"</P_2x>", 1)
    source = [
        ("good-1.xml", make_invoice()),
        ("duplicate.xml", earlier),
        ("broken.xml", broken),
        ("good-2.xml", make_invoice()),
    ]
    batch = ksef_async_client.batch_session()
    result = await batch.send(source, preflight=False)
    assert result.status_code == 200  # per-invoice errors do not fail the batch
    by_name = result.by_file_name()
    assert by_name["good-1.xml"].accepted and by_name["good-2.xml"].accepted
    assert by_name["duplicate.xml"].status_code == 440
    assert by_name["duplicate.xml"].extensions.get("originalKsefNumber") == first_number
    assert by_name["broken.xml"].status_code == 430
    assert {i.file_name for i in result.failed} == {"duplicate.xml", "broken.xml"}
    assert all(i.ksef_number is None for i in result.failed)
    failed = {i.invoice_file_name: i.status.code async for i in batch.failed_invoices()}
    assert failed == {"duplicate.xml": 440, "broken.xml": 430}


@pytest.mark.anyio
async def test_all_rejected_is_reported_per_file(ksef_async_client, make_invoice) -> None:
    broken = make_invoice().replace(b"<P_2>", b"<P_2x>", 1).replace(b"</P_2>", b"</P_2x>", 1)
    result = await ksef_async_client.batch_session().send([("bad.xml", broken)], preflight=False)
    assert result.status_code == 445  # no valid invoice: the files still say why
    assert [(i.file_name, i.status_code) for i in result.failed] == [("bad.xml", 430)]


@pytest.mark.anyio
async def test_transport_error_on_a_part_is_retried(
    ksef_emulator, ksef_subject, make_invoice, monkeypatch
) -> None:
    from ksefkit import _polling

    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(_polling, "async_sleep", no_sleep)
    recorder = Recorder()
    recorder.fail_once[1] = httpx.ReadError("connection reset by peer")
    async with httpx.AsyncClient(event_hooks={"request": [recorder.hook]}) as http:
        async with ksef_emulator.async_client(http_client=http) as client:
            await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
            batch = client.batch_session(parallelism=2)
            result = await batch.send(pairs(make_invoice, 6), part_size=SMALL_PART)
    assert result.status_code == 200 and len(result.accepted) == 6
    ordinals = [int(r.url.path.rsplit("/", 1)[-1]) for r in recorder.puts]
    assert ordinals.count(1) == 2  # the failed attempt and its retry
    assert len(ordinals) == len(batch.package.parts) + 1


@pytest.mark.anyio
async def test_resume_after_crash_between_parts(
    ksef_emulator, ksef_subject, make_invoice, tmp_path
) -> None:
    state_path = tmp_path / "batch.json"
    invoices = pairs(make_invoice, 12)
    first = Recorder()
    first.crash_at_put = 3  # dies as the third part starts: parts 1 and 2 are up
    async with httpx.AsyncClient(event_hooks={"request": [first.hook]}) as http:
        async with ksef_emulator.async_client(http_client=http) as client:
            await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
            batch = client.batch_session(state_path=state_path, parallelism=1)
            with pytest.raises(Crash):
                await batch.send(invoices, part_size=SMALL_PART)
    saved = BatchSessionState.load(state_path)
    assert saved.reference_number and not saved.closed
    assert list(saved.uploaded) == [1, 2]
    total_parts = len(saved.part_ordinals)
    assert total_parts >= 4

    # "another process": a new client, only the state file in common
    second = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [second.hook]}) as http:
        async with ksef_emulator.async_client(http_client=http) as client:
            await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
            resumed = client.resume_batch_session(state_path)
            assert resumed.reference_number == saved.reference_number
            result = await resumed.resume()
    assert sorted(int(r.url.path.rsplit("/", 1)[-1]) for r in second.puts) == list(
        range(3, total_parts + 1)
    )
    assert not [r for r in second.requests if r.url.path.endswith("/sessions/batch")]
    assert result.reference_number == saved.reference_number
    assert len(result.accepted) == len(invoices)
    assert BatchSessionState.load(state_path).closed


@pytest.mark.anyio
async def test_resume_before_open_and_after_a_lost_close(
    ksef_emulator, ksef_subject, make_invoice, tmp_path
) -> None:
    state_path = tmp_path / "batch.json"
    async with ksef_emulator.async_client() as client:
        await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
        batch = client.batch_session(state_path=state_path)
        await batch.prepare(pairs(make_invoice, 3))  # "crash" before open
        assert BatchSessionState.load(state_path).reference_number is None

        resumed = client.resume_batch_session(state_path)
        await resumed.open()
        await resumed.upload()
        before_close = state_path.read_bytes()
        await resumed.close()
        # the close reached KSeF but the process died before recording it
        state_path.write_bytes(before_close)
        again = client.resume_batch_session(state_path)
        assert not again.state.closed
        result = await again.resume()
        assert len(result.accepted) == 3
        assert BatchSessionState.load(state_path).closed
        sessions = [s async for s in client.sessions.list("Batch")]
        assert [s.reference_number for s in sessions] == [result.reference_number]


@pytest.mark.anyio
async def test_expired_upload_link_then_resume_in_a_new_session(invoice_factory, tmp_path) -> None:
    state_path = tmp_path / "batch.json"
    with run_emulator(clock=ManualClock()) as emulator:
        subject = emulator.create_subject()
        await _expired_then_reopened(emulator, subject, invoice_factory(subject.nip), state_path)


async def _expired_then_reopened(emulator, subject, make_invoice, state_path) -> None:
    async with emulator.async_client() as client:
        await client.authenticate(subject.token, nip=subject.nip)
        batch = client.batch_session(state_path=state_path)
        await batch.prepare(pairs(make_invoice, 5), part_size=SMALL_PART)
        await batch.open()
        first_ref = batch.reference_number
        parts = len(batch.package.parts)
        emulator.state.advance(20 * 60 * parts + 60)  # past 20 min x parts
        with pytest.raises(StorageError) as caught:
            await batch.upload()
        error = caught.value
        assert error.status_code == 403 and error.expired
        assert error.ordinal_number in range(1, parts + 1)
        assert "upload window expired" in str(error)
        assert "sig=" not in str(error)
        # the state still names the session and no confirmed part: resumable as it is
        saved = BatchSessionState.load(state_path)
        assert saved.reference_number == first_ref and saved.uploaded == ()

        # KSeF never processes an unclosed session: sending the package again is safe
        resumed = client.resume_batch_session(state_path)
        with pytest.raises(StorageError):
            await resumed.resume()
        result = await client.resume_batch_session(state_path).resume(reopen_expired=True)
        assert result.reference_number != first_ref
        assert len(result.accepted) == 5
        final = BatchSessionState.load(state_path)
        assert final.abandoned == (first_ref,) and final.closed


@pytest.mark.anyio
async def test_state_json_hides_secrets_from_repr(ksef_async_client, make_invoice, tmp_path):
    state_path = tmp_path / "batch.json"
    batch = ksef_async_client.batch_session(state_path=state_path)
    await batch.prepare(pairs(make_invoice, 2))
    await batch.open()
    state = batch.state
    key = state.symmetric_key.get_secret_value()
    url = state.part_uploads[0].url.get_secret_value()
    signature = re.search(r"sig=([^&]+)", url)
    assert signature
    text = state_path.read_text()
    assert key in text and url in json.loads(text)["part_uploads"][0]["url"]
    for shown in (repr(state), str(state), repr(batch), repr(state.part_uploads[0])):
        assert key not in shown and signature.group(1) not in shown
    if os.name == "posix":
        assert stat.S_IMODE(state_path.stat().st_mode) == 0o600
    assert BatchSessionState.load(state_path) == state


@pytest.mark.anyio
async def test_resume_refuses_changed_part_files(ksef_async_client, make_invoice, tmp_path):
    state_path = tmp_path / "batch.json"
    batch = ksef_async_client.batch_session(state_path=state_path)
    package = await batch.prepare(pairs(make_invoice, 6), part_size=SMALL_PART)
    await batch.open()
    victim = package.parts[-1]
    victim.path.write_bytes(b"\0" * victim.size)
    with pytest.raises(ConfigurationError, match=rf"part files \[{victim.ordinal_number}\]"):
        await ksef_async_client.resume_batch_session(state_path).resume()


@pytest.mark.anyio
async def test_storage_refusing_a_part_is_not_retried(
    ksef_emulator, ksef_subject, make_invoice, tmp_path
) -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(event_hooks={"request": [recorder.hook]}) as http:
        async with ksef_emulator.async_client(http_client=http) as client:
            await client.authenticate(ksef_subject.token, nip=ksef_subject.nip)
            batch = client.batch_session(state_path=tmp_path / "batch.json", parallelism=1)
            package = await batch.prepare(pairs(make_invoice, 6), part_size=SMALL_PART)
            await batch.open()
            victim = package.parts[1]
            victim.path.write_bytes(b"\0" * victim.size)  # same size, other bytes
            with pytest.raises(StorageError) as caught:
                await batch.upload()
    error = caught.value
    assert (error.status_code, error.ordinal_number, error.expired) == (400, 2, False)
    assert error.error_code == "Md5Mismatch"
    assert "sig=" not in str(error)
    ordinals = [int(r.url.path.rsplit("/", 1)[-1]) for r in recorder.puts]
    assert ordinals == [1, 2]  # no retry of a refused part, nothing started after it
    assert BatchSessionState.load(tmp_path / "batch.json").uploaded == (1,)


@pytest.mark.anyio
async def test_limits_checked_before_opening(ksef_async_client, make_invoice, tmp_path) -> None:
    batch = ksef_async_client.batch_session(state_path=tmp_path / "batch.json")
    with pytest.raises(BatchPreflightError, match="invoices-per-session limit"):
        await batch.send(pairs(make_invoice, 3), max_invoices=2)
    assert [s async for s in ksef_async_client.sessions.list("Batch")] == []
    assert await batch.context_invoice_limit() >= 1


@pytest.mark.anyio
async def test_resume_needs_a_state_file(ksef_async_client, tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="nothing was sent"):
        ksef_async_client.resume_batch_session(tmp_path / "missing.json")
