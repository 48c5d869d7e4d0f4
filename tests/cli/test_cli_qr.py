"""``ksefkit qr invoice|certificate``: links for each environment, PNG/SVG files decoded back
with zxing-cpp, and the whole offline path against the emulator (enroll an Offline certificate,
send offline, draw both codes, the emulator's pages confirm them)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from ksefkit.cli._errors import ExitCode
from ksefkit.identifiers import make_ksef_number, random_nip

KSEF_NUMBER = re.compile(r"\b\d{10}-\d{8}-[0-9A-F]{12}-[0-9A-F]{2}\b")
PASSWORD = "hasło do klucza QR"


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _digest(path: Path) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
    )


def _scan(path: Path) -> str:
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(path.read_bytes())))
    return str(code.text)


def test_qr_invoice_draws_kod1_for_the_environment(
    cli: Any, tmp_path: Path, make_invoice: Any
) -> None:
    nip = random_nip()
    invoice = make_invoice(tmp_path, nip, "fv.xml", "FV/1/QR")
    day = re.search(rb"<P_1>(\d{4})-(\d{2})-(\d{2})</P_1>", invoice.read_bytes())
    assert day is not None
    date = f"{day[3].decode()}-{day[2].decode()}-{day[1].decode()}"
    made = _json(cli("--json", "--env", "demo", "qr", "invoice", str(invoice)))
    link = f"https://qr-demo.ksef.mf.gov.pl/invoice/{nip}/{date}/{_digest(invoice)}"
    assert made == {
        "code": "KOD I",
        "link": link,
        "label": "OFFLINE",
        "file": str(tmp_path / "fv-kod1.png"),
        "sellerNip": nip,
    }
    assert _scan(tmp_path / "fv-kod1.png") == link

    human = cli("--env", "prod", "qr", "invoice", str(invoice), "-o", "out/code.svg")
    assert human.exit_code == 0, human.output
    prod_link = link.replace("qr-demo.", "qr.")
    assert f"KOD I: {prod_link}" in human.stdout
    svg = (tmp_path / "out" / "code.svg").read_text()
    assert svg.startswith("<svg") and f"<title>{prod_link}</title>" in svg and ">OFFLINE<" in svg

    number = make_ksef_number(nip, dt.date(2026, 2, 1), "0123456789AB")
    labelled = cli("qr", "invoice", str(invoice), "--ksef-number", number, "--format", "svg",
                   "--qr-url", "https://verify.example.test/ksef")  # fmt: skip
    assert labelled.exit_code == 0, labelled.output
    text = (tmp_path / "fv-kod1.svg").read_text()
    assert f"https://verify.example.test/ksef/invoice/{nip}/" in text and f">{number}<" in text


def test_qr_errors(cli: Any, tmp_path: Path, make_invoice: Any) -> None:
    invoice = make_invoice(tmp_path, random_nip(), "fv.xml", "FV/2/QR")
    bad_label = cli("qr", "invoice", str(invoice), "--ksef-number", "FV/2/QR")
    assert bad_label.exit_code == ExitCode.CONFIG and "KSeF number" in bad_label.stderr
    not_xml = tmp_path / "note.txt"
    not_xml.write_text("not an invoice")
    unreadable = cli("qr", "invoice", str(not_xml))
    assert unreadable.exit_code == ExitCode.CONFIG and "not well-formed" in unreadable.stderr
    assert cli("qr", "invoice", str(tmp_path / "missing.xml")).exit_code == ExitCode.USAGE
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    bad_context = cli("qr", "certificate", str(invoice), "--cert", str(cert), "--key", str(cert),
                      "--context", "Pesel:90010112345")  # fmt: skip
    assert bad_context.exit_code == ExitCode.USAGE


def test_offline_invoice_codes_from_the_cli_are_confirmed_by_the_emulator(
    cli: Any, emulator: Any, tmp_path: Path, make_invoice: Any
) -> None:
    nip = random_nip()
    login = cli("--base-url", emulator.api_url, "auth", "login", "--nip", nip, "--test-cert")
    assert login.exit_code == 0, login.output
    env = {"KSEF_KEY_PASSWORD": PASSWORD}
    enroll = ("--json", "certificates", "enroll", "--out-dir", "certs", "--name")
    offline = _json(cli(*enroll, "Faktury offline", "--type", "Offline", "--password", env=env))
    auth = _json(cli(*enroll, "Logowanie ERP"))
    invoice = make_invoice(tmp_path, nip, "offline.xml", "OFF/1/QR")

    kod2 = _json(cli("--json", "qr", "certificate", str(invoice), "--cert", offline["certificate"],
                     "--key", offline["privateKey"], "--format", "svg", env=env))  # fmt: skip
    assert kod2["link"].startswith(f"{emulator.server.base_url}/qr/certificate/Nip/{nip}/{nip}/")
    assert kod2["certificateSerialNumber"] == offline["serialNumber"]
    assert kod2["label"] == "CERTYFIKAT" and kod2["file"].endswith("offline-kod2.svg")
    assert PASSWORD not in json.dumps(kod2)

    sent = cli("send", str(invoice), "--offline")
    assert sent.exit_code == 0, sent.output
    [number] = set(KSEF_NUMBER.findall(sent.stdout))
    kod1 = _json(cli("--json", "qr", "invoice", str(invoice), "--ksef-number", number))
    assert _scan(Path(kod1["file"])) == kod1["link"]

    with httpx.Client() as http:
        invoice_page = http.get(kod1["link"], headers={"Accept": "application/json"}).json()
        certificate_page = http.get(kod2["link"], headers={"Accept": "application/json"}).json()
    assert invoice_page["status"] == "Found" and invoice_page["invoice"]["ksefNumber"] == number
    assert invoice_page["invoice"]["invoicingMode"] == "Offline"
    assert certificate_page["valid"] is True, certificate_page

    # an Authentication certificate cannot sign KOD II
    refused = cli("qr", "certificate", str(invoice), "--cert", auth["certificate"],
                  "--key", auth["privateKey"])  # fmt: skip
    assert refused.exit_code == ExitCode.CONFIG and "Offline" in refused.stderr
    # a wrong password for the encrypted key
    wrong = cli("qr", "certificate", str(invoice), "--cert", offline["certificate"],
                "--key", offline["privateKey"], env={"KSEF_KEY_PASSWORD": "nie to"})  # fmt: skip
    assert wrong.exit_code == ExitCode.CONFIG and "KSEF_KEY_PASSWORD" in wrong.stderr
