"""``ksefkit invoices`` (list, get, export, sync).

Two layers: the CLI's own logic (options -> filters, tables, JSON, files, counts) against a
fake ``client.invoices`` swapped in through ``invoices._api``; and end to end against the
emulator with seeded invoices (skipped until the SDK resource and the emulator's seeding land).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ksefkit._sync.client import Client
from ksefkit.cli import invoices as cli_invoices
from ksefkit.cli._errors import ExitCode
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.errors import ConfigurationError
from ksefkit.models.invoices import (
    InvoiceMetadata,
    InvoiceQueryFilters,
)

SELLER_NIP = "5265877635"
OTHER_NIP = "7010002137"


def _metadata(n: int, *, seller: str = SELLER_NIP, currency: str = "PLN") -> InvoiceMetadata:
    return InvoiceMetadata.model_validate(
        {
            "ksefNumber": f"{seller}-20260110-{n:012X}-{n % 256:02X}",
            "invoiceNumber": f"FV/{n}",
            "issueDate": "2026-01-10",
            "invoicingDate": "2026-01-10T10:00:00+00:00",
            "acquisitionDate": "2026-01-10T10:00:01+00:00",
            "permanentStorageDate": "2026-01-10T10:00:02+00:00",
            "seller": {"nip": seller, "name": "Seller"},
            "buyer": {"identifier": {"type": "Nip", "value": OTHER_NIP}, "name": "Buyer"},
            "netAmount": 100.0 * n,
            "grossAmount": 123.0 * n,
            "vatAmount": 23.0 * n,
            "currency": currency,
            "invoicingMode": "Online",
            "invoiceType": "Vat",
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "isSelfInvoicing": False,
            "hasAttachment": False,
            "invoiceHash": "AAAA",
        }
    )


class FakeInvoices:
    """``client.invoices`` with a fixed store; records the calls it gets."""

    def __init__(self, items: list[InvoiceMetadata]) -> None:
        self.items = items
        self.calls: list[tuple[str, Any]] = []

    def xml(self, ksef_number: str) -> bytes:
        return f"<Faktura><KSeF>{ksef_number}</KSeF></Faktura>".encode()

    def download(self, ksef_number: str) -> bytes:
        self.calls.append(("download", ksef_number))
        return self.xml(ksef_number)

    def query_metadata(
        self, filters: InvoiceQueryFilters, *, sort_order: str = "Asc", page_size: int = 250
    ) -> Iterator[InvoiceMetadata]:
        self.calls.append(("query", (filters, sort_order, page_size)))
        ordered = self.items if sort_order == "Asc" else list(reversed(self.items))
        yield from ordered

    def export(self, filters: InvoiceQueryFilters, *, into: Path, **options: Any) -> object:
        self.calls.append(("export", (filters, options)))
        meta = {"invoices": [i.to_wire() for i in self.items]}
        (into / "_metadata.json").write_text(json.dumps(meta))
        if not options["only_metadata"]:
            for item in self.items:
                (into / f"{item.ksef_number}.xml").write_bytes(self.xml(item.ksef_number))
        return object()

    def sync(self, subject_type: str, into: Path, **options: Any) -> object:
        self.calls.append(("sync", (subject_type, options["start"])))
        checkpoint = into / ".ksefkit-sync" / "checkpoint"
        if checkpoint.exists():
            done = int(checkpoint.read_text())
        elif options["start"] is None:
            raise ConfigurationError("the first sync needs a start")
        else:
            done = 0
        folder = into / "ctx" / subject_type
        folder.mkdir(parents=True, exist_ok=True)
        for n, item in enumerate(self.items[done:], start=done):
            (folder / f"{item.ksef_number}.xml").write_bytes(self.xml(item.ksef_number))
            options["progress"](f"window 1: {n + 1} invoice(s)")
        checkpoint.parent.mkdir(exist_ok=True)
        checkpoint.write_text(str(len(self.items)))
        return object()


@pytest.fixture
def fake(
    monkeypatch: pytest.MonkeyPatch, cli: Any, emulator: Any, subject: SeededSubject
) -> FakeInvoices:
    """A logged-in CLI whose ``client.invoices`` is a fake with three invoices."""
    cli.login(emulator, subject)
    api = FakeInvoices([_metadata(1), _metadata(2, currency="EUR"), _metadata(3)])
    monkeypatch.setattr(cli_invoices, "_api", lambda client: api)
    return api


def _query(api: FakeInvoices) -> tuple[InvoiceQueryFilters, str, int]:
    found = [args for name, args in api.calls if name == "query"]
    assert len(found) == 1
    filters, order, size = found[0]
    return filters, order, size


def test_list_builds_filters_and_prints_a_table(cli: Any, fake: FakeInvoices) -> None:
    result = cli(
        "invoices", "list", "--subject", "seller", "--date-type", "invoicing",
        "--from", "2026-01-01", "--to", "2026-01-31", "--seller-nip", SELLER_NIP,
        "--buyer-nip", OTHER_NIP, "--currency", "pln", "--currency", "EUR",
        "--type", "vat", "--type", "KOR", "--form", "fa", "--no-attachment",
        "--mode", "offline", "--min-gross", "100", "--max-gross", "500.5",
        "--invoice-number", "FV/1", "--ksef-number", "X",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    filters, order, size = _query(fake)
    assert (order, size) == ("Asc", 250)
    wire = filters.to_wire()
    assert wire["subjectType"] == "Subject1"
    assert wire["dateRange"]["dateType"] == "Invoicing"
    assert wire["dateRange"]["from"].startswith("2026-01-01T00:00:00")
    assert wire["dateRange"]["to"].startswith("2026-01-31T23:59:59")
    assert wire["sellerNip"] == SELLER_NIP
    assert wire["buyerIdentifier"] == {"type": "Nip", "value": OTHER_NIP}
    assert wire["currencyCodes"] == ["PLN", "EUR"]
    assert wire["invoiceTypes"] == ["Vat", "Kor"]
    assert wire["formType"] == "FA"
    assert wire["hasAttachment"] is False
    assert wire["invoicingMode"] == "Offline"
    assert wire["amount"] == {"type": "Brutto", "from": 100.0, "to": 500.5}
    assert wire["invoiceNumber"] == "FV/1"
    assert wire["ksefNumber"] == "X"
    for item in fake.items:
        assert item.ksef_number in result.stdout
        assert item.invoice_number in result.stdout
    assert "369.00" in result.stdout  # gross of the third
    assert "EUR" in result.stdout
    assert "2026-01-10" in result.stdout


def test_list_minimal_filters_desc_limit_json(cli: Any, fake: FakeInvoices) -> None:
    result = cli(
        "--json", "invoices", "list", "--subject", "buyer", "--from", "2026-01-01", "--desc",
        "--limit", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    filters, order, size = _query(fake)
    assert (order, size) == ("Desc", 10)
    wire = filters.to_wire()
    assert wire == {
        "subjectType": "Subject2",
        "dateRange": {"dateType": "Issue", "from": wire["dateRange"]["from"]},
    }
    document = json.loads(result.stdout)
    assert [i["ksefNumber"] for i in document["invoices"]] == [
        fake.items[2].ksef_number,
        fake.items[1].ksef_number,
    ]
    assert document["invoices"][0]["grossAmount"] == 369.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "not a date"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "earlier than --from"),
        (["--from", "2026-01-01", "--min-gross", "5", "--max-gross", "1"], "below --min-gross"),
        (["--from", "2026-01-01", "--subject", "nobody"], "nobody"),
    ],
)
def test_list_usage_errors(cli: Any, fake: FakeInvoices, args: list[str], message: str) -> None:
    if "--subject" not in args:
        args = ["--subject", "seller", *args]
    result = cli("invoices", "list", *args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.output
    assert not fake.calls


def test_get_to_stdout_file_and_json(cli: Any, fake: FakeInvoices, tmp_path: Path) -> None:
    number = fake.items[0].ksef_number
    result = cli("invoices", "get", number)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == fake.xml(number)
    target = tmp_path / "out" / "inv.xml"
    result = cli("--json", "invoices", "get", number, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == fake.xml(number)
    assert json.loads(result.stdout) == {
        "ksefNumber": number,
        "file": str(target.resolve()),
        "size": len(fake.xml(number)),
    }


def test_export_into_a_directory(cli: Any, fake: FakeInvoices, tmp_path: Path) -> None:
    target = tmp_path / "export"
    result = cli(
        "invoices", "export", "--subject", "seller", "--from", "2026-01-01", "-o", str(target),
        "--compression", "targz", "--parallel", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "exported 3 invoice(s)" in result.stdout
    assert "exporting seller invoices" in result.stdout
    (filters, options) = next(args for name, args in fake.calls if name == "export")
    assert filters.to_wire()["dateRange"]["dateType"] == "PermanentStorage"
    assert options["compression"] == "TarGz"
    assert options["parallelism"] == 2
    assert options["only_metadata"] is False
    assert sorted(p.name for p in target.glob("*.xml")) == sorted(
        f"{i.ksef_number}.xml" for i in fake.items
    )


def test_export_metadata_only_json(cli: Any, fake: FakeInvoices, tmp_path: Path) -> None:
    target = tmp_path / "meta"
    result = cli(
        "--json", "invoices", "export", "--subject", "buyer", "--from", "2026-01-01",
        "--to", "2026-01-31", "-o", str(target), "--metadata-only",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["invoiceCount"] == 0
    assert [Path(p).name for p in document["files"]] == ["_metadata.json"]
    assert "exporting buyer invoices" in result.stderr  # progress stays off stdout with --json


def test_sync_twice_then_after_new_invoices(cli: Any, fake: FakeInvoices, tmp_path: Path) -> None:
    target = tmp_path / "sync"
    no_start = cli("invoices", "sync", "--subject", "buyer", "-o", str(target))
    assert no_start.exit_code == ExitCode.CONFIG, no_start.output
    assert no_start.stderr.startswith("error: the first sync needs a start")
    first = cli("invoices", "sync", "--subject", "buyer", "-o", str(target), "--from", "2026-01-01")
    assert first.exit_code == 0, first.output
    assert "3 new invoice(s)" in first.stdout
    assert ("sync", ("Subject2", datetime(2026, 1, 1))) in fake.calls
    second = cli("--json", "invoices", "sync", "--subject", "buyer", "-o", str(target))
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["newInvoices"] == 0
    assert ("sync", ("Subject2", None)) in fake.calls
    fake.items.append(_metadata(4))
    third = cli("--json", "invoices", "sync", "--subject", "buyer", "-o", str(target))
    document = json.loads(third.stdout)
    assert document["newInvoices"] == 1
    assert [Path(p).name for p in document["files"]] == [f"{fake.items[3].ksef_number}.xml"]


def test_not_logged_in_is_exit_3(cli: Any) -> None:
    result = cli("invoices", "get", "123")
    assert result.exit_code == ExitCode.AUTH
    assert result.stderr.startswith("error: not logged in")


# --- end to end against the emulator ---------------------------------------------------------


def _sdk_ready() -> bool:
    """The emulator can seed invoices and the sync client has ``invoices``."""
    with Client() as client:
        return hasattr(client, "invoices") and hasattr(EmulatorState, "seed_invoices")


_E2E = pytest.mark.skipif(
    not _sdk_ready(),
    reason="needs EmulatorState.seed_invoices and client.invoices (issue 5 SDK/emulator)",
)


@pytest.fixture
def seeded(emulator: Any, subject: SeededSubject) -> dict[str, Any]:
    """Five invoices where the subject is the seller, two where it is the buyer."""
    start = datetime.now(UTC) - timedelta(days=3)
    end = datetime.now(UTC) - timedelta(hours=1)
    state: Any = emulator.state
    state.seed_invoices(5, seller_nip=subject.nip, buyer_nip=OTHER_NIP, start=start, end=end)
    state.seed_invoices(2, seller_nip=OTHER_NIP, buyer_nip=subject.nip, start=start, end=end)
    return {"start": start, "end": end}


def _since(seeded: dict[str, Any]) -> str:
    day: date = seeded["start"].date() - timedelta(days=1)
    return day.isoformat()


@_E2E
def test_e2e_list(cli: Any, emulator: Any, subject: SeededSubject, seeded: Any) -> None:
    cli.login(emulator, subject)
    since = _since(seeded)
    result = cli("--json", "invoices", "list", "--subject", "seller", "--from", since)
    assert result.exit_code == 0, result.output
    sold = json.loads(result.stdout)["invoices"]
    assert len(sold) == 5
    assert {i["seller"]["nip"] for i in sold} == {subject.nip}
    result = cli(
        "--json", "invoices", "list", "--subject", "buyer", "--date-type", "storage",
        "--from", since, "--seller-nip", OTHER_NIP, "--currency", "PLN", "--limit", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bought = json.loads(result.stdout)["invoices"]
    assert len(bought) == 1
    assert bought[0]["buyer"]["identifier"]["value"] == subject.nip
    table = cli("invoices", "list", "--subject", "seller", "--from", since, "--desc")
    assert table.exit_code == 0, table.output
    for item in sold:
        assert item["ksefNumber"] in table.stdout


@_E2E
def test_e2e_get_export_sync(
    cli: Any, emulator: Any, subject: SeededSubject, seeded: Any, tmp_path: Path
) -> None:
    cli.login(emulator, subject)
    since = _since(seeded)
    listed = json.loads(
        cli("--json", "invoices", "list", "--subject", "seller", "--from", since).stdout
    )["invoices"]
    number = listed[0]["ksefNumber"]
    target = tmp_path / "one.xml"
    result = cli("invoices", "get", number, "-o", str(target))
    assert result.exit_code == 0, result.output
    with Client(base_url=emulator.api_url) as client:
        client.authenticate(subject.token, nip=subject.nip)
        sdk: Any = client
        assert target.read_bytes() == sdk.invoices.download(number)

    export_dir = tmp_path / "export"
    result = cli(
        "invoices", "export", "--subject", "seller", "--from", since, "-o", str(export_dir)
    )
    assert result.exit_code == 0, result.output
    assert "exported 5 invoice(s)" in result.stdout
    assert {p.stem for p in export_dir.rglob("*.xml")} >= {i["ksefNumber"] for i in listed}

    sync_dir = tmp_path / "sync"
    first = cli(
        "--json", "invoices", "sync", "--subject", "buyer", "-o", str(sync_dir), "--from", since
    )
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["newInvoices"] == 2
    second = cli("--json", "invoices", "sync", "--subject", "buyer", "-o", str(sync_dir))
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["newInvoices"] == 0
    state: Any = emulator.state
    now = datetime.now(UTC)
    state.seed_invoices(
        1, seller_nip=OTHER_NIP, buyer_nip=subject.nip, start=now - timedelta(minutes=5), end=now
    )
    # Sync stops at the HWM (now - hwm_lag): the new invoice becomes visible once the HWM
    # has passed its permanent-storage date.
    time.sleep(state.config.hwm_lag + 0.2)
    third = cli("--json", "invoices", "sync", "--subject", "buyer", "-o", str(sync_dir))
    assert third.exit_code == 0, third.output
    assert json.loads(third.stdout)["newInvoices"] == 1
