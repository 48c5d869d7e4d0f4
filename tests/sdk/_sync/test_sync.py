# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""``client.invoices.sync``: incremental HWM sync into a directory tree against the emulator:
several windows, a second run fetching only new invoices, a crash mid-window and a rerun,
several contexts and subject types in one tree, the flat layout."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ksefkit import ConfigurationError
from ksefkit.emulator.clock import ManualClock
from ksefkit.models.invoices import InvoiceQueryDateRange, InvoiceQueryFilters
from ksefkit.testing import run_emulator


class Killed(Exception):
    """Stands for the process dying mid-window."""


def xml_files(directory):
    return sorted(p.name for p in directory.rglob("*.xml"))


def numbers(client, subject_type: str, start: dt.datetime) -> set[str]:
    query = InvoiceQueryFilters(
        subject_type=subject_type,
        date_range=InvoiceQueryDateRange(date_type="PermanentStorage", from_=start),
    )
    return {m.ksef_number for m in client.invoices.query_metadata(query)}


def test_sync_twice_fetches_only_new_invoices(tmp_path):
    clock = ManualClock()
    with run_emulator(clock=clock, export_max_invoices=10) as emulator:
        seller, buyer = emulator.create_subject(), emulator.create_subject()
        start = clock.now() - dt.timedelta(days=20)
        emulator.state.seed_invoices(
            25,
            seller_nip=seller.nip,
            buyer_nip=buyer.nip,
            start=start,
            end=clock.now() - dt.timedelta(minutes=1),
        )
        with emulator.client() as client:
            client.authenticate(seller.token, nip=seller.nip)
            with pytest.raises(ConfigurationError):
                client.invoices.sync("Subject1", tmp_path)  # first run needs start=
            first_set = numbers(client, "Subject1", start)
            first = client.invoices.sync("Subject1", tmp_path, start=start)
            assert first.windows >= 3  # 25 invoices, 10 per package
            assert set(first.fetched) == first_set == set(first.new)
            folder = tmp_path / seller.nip / "Subject1"
            assert xml_files(folder) == sorted(f"{n}.xml" for n in first_set)
            checkpoint = json.loads(
                (tmp_path / ".ksefkit-sync" / f"{seller.nip}-Subject1.json").read_bytes()
            )
            assert dt.datetime.fromisoformat(checkpoint["start"]) == first.checkpoint

            emulator.state.advance(600)
            emulator.state.seed_invoices(
                7,
                seller_nip=seller.nip,
                buyer_nip=buyer.nip,
                start=clock.now() - dt.timedelta(minutes=5),
                end=clock.now() - dt.timedelta(minutes=1),
            )
            everything = numbers(client, "Subject1", start)
            second = client.invoices.sync("Subject1", tmp_path)
            assert set(second.fetched) == set(second.new) == everything - first_set
            assert len(second.new) == 7
            assert second.checkpoint > first.checkpoint
            assert xml_files(folder) == sorted(f"{n}.xml" for n in everything)

            third = client.invoices.sync("Subject1", tmp_path)
            assert third.new == [] and third.fetched == []
            assert not list((tmp_path / ".ksefkit-sync").glob("staging-*"))


@pytest.mark.parametrize("phase", ["downloaded", "stored"])
def test_sync_killed_mid_window_then_rerun_loses_nothing(tmp_path, phase):
    clock = ManualClock()
    with run_emulator(clock=clock, export_max_invoices=10) as emulator:
        seller = emulator.create_subject()
        start = clock.now() - dt.timedelta(days=5)
        emulator.state.seed_invoices(
            34,
            seller_nip=seller.nip,
            buyer_nip="7740001454",
            start=start,
            end=clock.now() - dt.timedelta(minutes=1),
            tie_group=4,
        )

        def kill(progress):
            if progress.window == 2 and progress.phase == phase:
                raise Killed(f"killed in window 2 at {phase}")

        with emulator.client() as client:
            client.authenticate(seller.token, nip=seller.nip)
            expected = numbers(client, "Subject1", start)
            with pytest.raises(Killed):
                client.invoices.sync("Subject1", tmp_path, start=start, progress=kill)
            rerun = client.invoices.sync("Subject1", tmp_path, start=start)
    files = xml_files(tmp_path / seller.nip)
    assert files == sorted(f"{n}.xml" for n in expected)  # each exactly once, none lost
    assert len(files) == len(set(files)) == 34
    assert 0 < len(rerun.fetched) < 34  # the rerun went on from window 1's checkpoint
    assert not list((tmp_path / ".ksefkit-sync").glob("staging-*"))


def test_several_contexts_and_subject_types_in_one_tree(tmp_path):
    clock = ManualClock()
    with run_emulator(clock=clock) as emulator:
        seller, buyer = emulator.create_subject(), emulator.create_subject()
        start = clock.now() - dt.timedelta(days=2)
        emulator.state.seed_invoices(
            6,
            seller_nip=seller.nip,
            buyer_nip=buyer.nip,
            start=start,
            end=clock.now() - dt.timedelta(minutes=1),
        )
        emulator.state.seed_invoices(
            4,
            seller_nip=buyer.nip,
            buyer_nip=seller.nip,
            start=start,
            end=clock.now() - dt.timedelta(minutes=1),
        )
        flat = tmp_path / "flat"
        for subject in (seller, buyer):
            with emulator.client() as client:
                client.authenticate(subject.token, nip=subject.nip)
                for role in ("Subject1", "Subject2"):
                    client.invoices.sync(role, tmp_path / "tree", start=start)
                    client.invoices.sync(role, flat, start=start, layout="flat")
    tree = tmp_path / "tree"
    assert len(xml_files(tree / seller.nip / "Subject1")) == 6
    assert len(xml_files(tree / seller.nip / "Subject2")) == 4
    assert xml_files(tree / buyer.nip / "Subject2") == xml_files(tree / seller.nip / "Subject1")
    assert xml_files(tree / buyer.nip / "Subject1") == xml_files(tree / seller.nip / "Subject2")
    assert len(list(flat.glob("*.xml"))) == 10  # every invoice once, whatever the role
    assert len(list((tree / ".ksefkit-sync").glob("*.json"))) == 4
