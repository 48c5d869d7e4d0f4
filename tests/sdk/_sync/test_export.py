# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""``client.invoices.export``: the whole round trip against the emulator (several parts,
Zip and TarGz, metadata only), an expired part link renewed, failures as typed errors, and
the safe unpacking rules."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import zipfile

import httpx
import pytest

from ksefkit import ExportExpired, ExportFailed, UnsafePackageError
from ksefkit.emulator.clock import ManualClock
from ksefkit.export_unpack import unpack_package
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.testing import run_emulator

BUYER = "7740001454"


def filters(subject_type: str, start: dt.datetime, **extra: object) -> InvoiceQueryFilters:
    return InvoiceQueryFilters(
        subject_type=subject_type,
        date_range=InvoiceQueryDateRange(
            date_type="PermanentStorage", from_=start, restrict_to_permanent_storage_hwm_date=True
        ),
        **extra,
    )


def month_ago(now: dt.datetime | None = None) -> dt.datetime:
    return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=31)


@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
def test_export_round_trip(tmp_path, compression):
    with run_emulator(export_part_size=3000) as emulator:
        subject = emulator.create_subject()
        emulator.state.seed_invoices(
            30,
            seller_nip=subject.nip,
            buyer_nip=BUYER,
            end=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )
        with emulator.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            expected = {
                m.ksef_number
                for m in client.invoices.query_metadata(filters("Subject1", month_ago()))
            }
            result = client.invoices.export(
                filters("Subject1", month_ago()), into=tmp_path, compression=compression
            )
            assert len(result.package.parts) > 1  # several encrypted parts, joined in order
            assert {m.ksef_number for m in result.invoices} == expected
            assert set(result.files) == expected
            for number, path in result.files.items():
                assert path == tmp_path / f"{number}.xml"
                assert path.read_bytes() == client.invoices.download(number)
            assert json.loads((tmp_path / "_metadata.json").read_bytes())["invoices"]
            assert not result.is_truncated
            assert result.permanent_storage_hwm_date is not None
            leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
            assert leftovers == []

            meta_dir = tmp_path / "meta"
            only = client.invoices.export(
                filters("Subject1", month_ago()), into=meta_dir, only_metadata=True
            )
            assert {m.ksef_number for m in only.invoices} == expected
            assert only.files == {}
            assert sorted(p.name for p in meta_dir.iterdir()) == ["_metadata.json"]


@pytest.mark.parametrize("compression", ["Zip", "TarGz"])
def test_export_progress_reports_phases_on_the_calling_thread(tmp_path, compression):
    calls: list[tuple[str, int, int]] = []
    threads: set[int] = set()

    def progress(phase: str, done: int, total: int) -> None:
        calls.append((phase, done, total))
        threads.add(threading.get_ident())

    with run_emulator(export_part_size=3000) as emulator:
        subject = emulator.create_subject()
        emulator.state.seed_invoices(
            20,
            seller_nip=subject.nip,
            buyer_nip=BUYER,
            end=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )
        with emulator.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            result = client.invoices.export(
                filters("Subject1", month_ago()),
                into=tmp_path,
                compression=compression,
                parallelism=3,
                progress=progress,
            )
    assert threads == {threading.get_ident()}
    phases = [phase for phase, _, _ in calls]
    assert phases[0] == "wait"
    assert phases.index("download") > phases.index("wait")
    assert phases.index("unpack") > max(i for i, p in enumerate(phases) if p == "download")
    waits = [done for phase, done, _ in calls if phase == "wait"]
    assert waits == list(range(1, len(waits) + 1))
    total = sum(p.encrypted_part_size for p in result.package.parts)
    download = [(done, t) for phase, done, t in calls if phase == "download"]
    assert all(t == total for _, t in download)
    done = [d for d, _ in download]
    assert done == sorted(done) and len(set(done)) == len(done)  # monotonic, no repeats
    assert done[-1] == total
    unpack = [(d, t) for phase, d, t in calls if phase == "unpack"]
    assert unpack[-1] == (len(result.files) + 1, len(result.files) + 1)  # + _metadata.json


def test_export_truncated_package_says_where_to_continue(tmp_path):
    with run_emulator(export_max_invoices=10) as emulator:
        subject = emulator.create_subject()
        emulator.state.seed_invoices(
            25,
            seller_nip=subject.nip,
            buyer_nip=BUYER,
            end=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )
        with emulator.client() as client:
            client.authenticate(subject.token, nip=subject.nip)
            result = client.invoices.export(filters("Subject1", month_ago()), into=tmp_path)
    assert result.is_truncated
    assert len(result.files) == 10
    last = max(m.permanent_storage_date for m in result.invoices)
    assert result.last_permanent_storage_date == last


def test_expired_part_link_is_renewed(tmp_path):
    clock = ManualClock()
    with run_emulator(clock=clock, export_link_lifetime=60, export_part_size=3000) as emulator:
        subject = emulator.create_subject()
        emulator.state.seed_invoices(
            12, seller_nip=subject.nip, buyer_nip=BUYER, end=clock.now() - dt.timedelta(minutes=1)
        )
        part_gets: list[str] = []
        status_gets: list[str] = []

        def hook(request: httpx.Request) -> None:
            if "/storage/exports/" in request.url.path:
                assert "Authorization" not in request.headers
                part_gets.append(request.url.path)
                if len(part_gets) == 1:
                    emulator.state.advance(120)  # this link expires before storage checks it
            elif "/invoices/exports/" in request.url.path:
                status_gets.append(request.url.path)

        with httpx.Client(event_hooks={"request": [hook]}) as http:
            with emulator.client(http_client=http) as client:
                client.authenticate(subject.token, nip=subject.nip)
                result = client.invoices.export(
                    filters("Subject1", month_ago(clock.now())), into=tmp_path, parallelism=1
                )
    assert len(result.files) == 12
    assert len(part_gets) > len(result.package.parts)  # the refused part was fetched again
    assert len(status_gets) >= 2  # the new link came from a fresh status query


def test_expired_package_and_failed_export_are_typed(tmp_path):
    clock = ManualClock()
    with run_emulator(clock=clock, export_package_lifetime=60) as emulator:
        subject = emulator.create_subject()
        emulator.state.seed_invoices(
            3, seller_nip=subject.nip, buyer_nip=BUYER, end=clock.now() - dt.timedelta(minutes=1)
        )

        def hook(request: httpx.Request) -> None:
            if "/storage/exports/" in request.url.path:
                emulator.state.advance(120)  # the whole package expires (status 210)

        with httpx.Client(event_hooks={"request": [hook]}) as http:
            with emulator.client(http_client=http) as client:
                client.authenticate(subject.token, nip=subject.nip)
                with pytest.raises(ExportExpired) as expired:
                    client.invoices.export(
                        filters("Subject1", month_ago(clock.now())), into=tmp_path
                    )
                assert expired.value.code == 210
                assert expired.value.reference_number
                future = clock.now() - dt.timedelta(milliseconds=200)  # after the HWM
                with pytest.raises(ExportFailed) as failed:
                    client.invoices.export(filters("Subject1", future), into=tmp_path)
                assert failed.value.code == 420


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name", ["../evil.xml", "sub/dir.xml", "/abs.xml", ".hidden.xml", "a\\b.xml", "x.exe"]
)
def test_unpack_refuses_unsafe_names(tmp_path, name):
    archive = tmp_path / "p.zip"
    archive.write_bytes(_zip({name: b"<a/>", "_metadata.json": b'{"invoices": []}'}))
    with pytest.raises(UnsafePackageError):
        unpack_package(archive, tmp_path / "out", "Zip")
    assert not (tmp_path / "evil.xml").exists()


def test_unpack_counts_inflated_bytes(tmp_path):
    from ksefkit.export_unpack import UnpackLimits

    archive = tmp_path / "p.zip"
    archive.write_bytes(_zip({"a.xml": b"0" * 5000, "_metadata.json": b'{"invoices": []}'}))
    with pytest.raises(UnsafePackageError):
        unpack_package(archive, tmp_path / "out", "Zip", limits=UnpackLimits(max_invoice_size=4096))
    assert list((tmp_path / "out").iterdir()) == []
