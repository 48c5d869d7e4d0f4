"""Offline marking and technical corrections over HTTP (KSEF_API.md §9, §13.2): the
auto-offline rule at the Warsaw midnight; corrections accepted after a rejected offline
invoice, linked to the original, and refused with 21166 / 21167 / 21405 per the rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from emulator_helpers import TODAY, Ksef, b64sha, invoice, send_body

from ksefkit.emulator.clock import ManualClock
from ksefkit.emulator.state import EmulatorState, SeededSubject
from ksefkit.invoices.rewrite import rewrite_invoice

pytestmark = pytest.mark.anyio
Key = tuple[bytes, bytes]
SAMPLES = Path("/work/shared/ksef-spec/samples/FA3")


def _error(resp: Any) -> tuple[int, list[str]]:
    entry = resp.json()["exception"]["exceptionDetailList"][0]
    return int(entry["exceptionCode"]), list(entry.get("details") or [])


def _broken(xml: bytes) -> bytes:
    """Not XSD-valid (an unknown currency code): status 430, P_1 still readable."""
    assert b"<KodWaluty>PLN</KodWaluty>" in xml
    return xml.replace(b"<KodWaluty>PLN</KodWaluty>", b"<KodWaluty>ZZZ</KodWaluty>")


class Flow:
    """One logged-in subject with an open online session."""

    def __init__(self, ksef: Ksef, nip: str, headers: dict[str, str], ref: str, key: Key) -> None:
        self.ksef, self.nip, self.headers, self.ref, self.key = ksef, nip, headers, ref, key

    async def send(self, xml: bytes, **overrides: Any) -> Any:
        return await self.ksef.send(self.headers, self.ref, send_body(xml, *self.key, **overrides))

    async def status(self, xml: bytes, **overrides: Any) -> dict[str, Any]:
        sent = await self.send(xml, **overrides)
        assert sent.status_code == 202, sent.text
        return await self.ksef.invoice_status(
            self.headers, self.ref, sent.json()["referenceNumber"]
        )

    async def rejected_offline(self, number: str) -> bytes:
        """An offline invoice KSeF rejected (430); returns its XML."""
        xml = _broken(invoice(self.nip, number))
        status = await self.status(xml, offlineMode=True)
        assert status["status"]["code"] == 430
        return xml

    async def correct(self, original: bytes, fixed: bytes, **overrides: Any) -> Any:
        fields = {"offlineMode": True, "hashOfCorrectedInvoice": b64sha(original), **overrides}
        return await self.send(fixed, **fields)


@pytest.fixture
async def flow(ksef: Ksef, subject: SeededSubject, session_key: Key) -> Flow:
    headers = await ksef.bearer(subject)
    ref = await ksef.open_session(headers, *session_key)
    return Flow(ksef, subject.nip, headers, ref, session_key)


async def test_correction_of_a_rejected_offline_invoice_is_accepted_and_linked(
    flow: Flow, state: EmulatorState
) -> None:
    original = await flow.rejected_offline("TC/1")
    fixed = invoice(flow.nip, "TC/1")
    sent = await flow.correct(original, fixed)
    assert sent.status_code == 202, sent.text
    status = await flow.ksef.invoice_status(flow.headers, flow.ref, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 200
    assert status["invoicingMode"] == "Offline"
    link = state.corrections.corrected_by(b64sha(original))
    assert link is not None
    assert link.ksef_number == status["ksefNumber"]
    assert link.invoice_hash == b64sha(fixed)
    assert link.issue_date == TODAY
    assert state.corrections.correction(b64sha(fixed)) == link
    assert state.corrections.corrected_by(b64sha(fixed)) is None
    # Only one accepted correction per original (the OAS detail of 21166).
    again = await flow.correct(
        original, invoice(flow.nip, "TC/1", TODAY).replace(b"</Faktura>", b"</Faktura>\n")
    )
    assert again.status_code == 400
    assert _error(again) == (
        21166,
        [
            "Faktura posiada już przetworzoną prawidłowo korektę techniczną."
            f" Numer KSeF korekty: {status['ksefNumber']}."
        ],
    )


async def test_metadata_of_the_correction_names_the_original(
    flow: Flow, state: EmulatorState
) -> None:
    original = await flow.rejected_offline("TC/META")
    status = await flow.status(
        invoice(flow.nip, "TC/META"),
        offlineMode=True,
        hashOfCorrectedInvoice=b64sha(original),
    )
    assert status["status"]["code"] == 200
    row = state.store.one(
        "SELECT hash_of_corrected FROM invoices WHERE ksef_number = ?", (status["ksefNumber"],)
    )
    assert row["hash_of_corrected"] == b64sha(original)


async def test_an_accepted_original_cannot_be_corrected(flow: Flow) -> None:
    xml = invoice(flow.nip, "TC/OK")
    accepted = await flow.status(xml, offlineMode=True)
    assert accepted["status"]["code"] == 200
    refused = await flow.correct(xml, invoice(flow.nip, "TC/OK2"))
    assert refused.status_code == 400
    code, details = _error(refused)
    assert code == 21167
    assert details[0].startswith(
        "Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury."
    )
    assert accepted["ksefNumber"] in details[0]


async def test_original_or_correction_still_processing(flow: Flow, state: EmulatorState) -> None:
    state.config.processing = "manual"
    pending = invoice(flow.nip, "TC/PEND")
    assert (await flow.send(_broken(pending), offlineMode=True)).status_code == 202
    refused = await flow.correct(_broken(pending), pending)
    assert _error(refused)[0] == 21167
    state.step()  # the original is rejected now
    first = await flow.correct(_broken(pending), pending)
    assert first.status_code == 202, first.text
    second = await flow.correct(_broken(pending), pending.replace(b"</Faktura>", b"</Faktura>\n"))
    assert _error(second) == (
        21166,
        ["Korekta techniczna tej faktury jest w trakcie przetwarzania."],
    )
    state.step()
    assert state.corrections.corrected_by(b64sha(_broken(pending))) is not None


async def test_a_rejected_correction_does_not_block_another(flow: Flow) -> None:
    original = await flow.rejected_offline("TC/TWICE")
    still_broken = _broken(invoice(flow.nip, "TC/TWICE")).replace(b"</Faktura>", b"</Faktura>\n")
    first = await flow.status(
        still_broken, offlineMode=True, hashOfCorrectedInvoice=b64sha(original)
    )
    assert first["status"]["code"] == 430
    second = await flow.status(
        invoice(flow.nip, "TC/TWICE"), offlineMode=True, hashOfCorrectedInvoice=b64sha(original)
    )
    assert second["status"]["code"] == 200
    # ... but a correction is no original: its own hash cannot be corrected.
    refused = await flow.correct(still_broken, invoice(flow.nip, "TC/TWICE2"))
    assert _error(refused) == (
        21166,
        ["Wskazana faktura jest korektą techniczną: wskaż skrót faktury pierwotnej."],
    )


async def test_online_originals_and_permission_failures_are_not_correctable(
    flow: Flow,
) -> None:
    online = _broken(invoice(flow.nip, "TC/ONLINE"))
    assert (await flow.status(online))["status"]["code"] == 430
    refused = await flow.correct(online, invoice(flow.nip, "TC/ONLINE"))
    assert _error(refused) == (
        21166,
        ["Korekta techniczna dotyczy wyłącznie faktur wystawionych offline."],
    )
    foreign = invoice("7740001454", "TC/FOREIGN")  # the context may not issue for this seller
    assert (await flow.status(foreign, offlineMode=True))["status"]["code"] == 410
    refused = await flow.correct(foreign, invoice("7740001454", "TC/FOREIGN2"))
    code, details = _error(refused)
    assert code == 21166
    assert "braku uprawnień" in details[0]


async def test_auto_offline_original_is_correctable(flow: Flow) -> None:
    # Sent without offlineMode a day after its P_1: KSeF counts it as offline (§9).
    yesterday = TODAY - dt.timedelta(days=1)
    original = _broken(invoice(flow.nip, "TC/AUTO", yesterday))
    assert (await flow.status(original))["status"]["code"] == 430
    fixed = invoice(flow.nip, "TC/AUTO", yesterday)
    status = await flow.status(fixed, offlineMode=True, hashOfCorrectedInvoice=b64sha(original))
    assert status["status"]["code"] == 200
    assert status["invoicingMode"] == "Offline"


async def test_request_rules(flow: Flow) -> None:
    original = await flow.rejected_offline("TC/REQ")
    fixed = invoice(flow.nip, "TC/REQ")
    no_offline = await flow.correct(original, fixed, offlineMode=False)
    assert _error(no_offline) == (
        21405,
        ["Korekta techniczna faktury offline wymaga offlineMode: true."],
    )
    bad_hash = await flow.correct(original, fixed, hashOfCorrectedInvoice="not-a-hash")
    assert _error(bad_hash)[0] == 21405
    unknown = await flow.correct(b"<never-sent/>", fixed)
    code, details = _error(unknown)
    assert code == 21166
    assert details == [f"Nie odnaleziono odrzuconej faktury o skrócie {b64sha(b'<never-sent/>')}."]
    same = await flow.correct(original, original)
    assert _error(same) == (
        21166,
        ["Skrót korekty technicznej jest równy skrótowi faktury korygowanej."],
    )


async def test_originals_of_another_context_are_not_found(
    ksef: Ksef, flow: Flow, state: EmulatorState, session_key: Key
) -> None:
    original = await flow.rejected_offline("TC/CTX")
    other = state.create_subject()
    headers = await ksef.bearer(other)
    ref = await ksef.open_session(headers, *session_key)
    fixed = invoice(other.nip, "TC/CTX")
    refused = await ksef.send(
        headers,
        ref,
        send_body(fixed, *session_key, offlineMode=True, hashOfCorrectedInvoice=b64sha(original)),
    )
    assert _error(refused)[0] == 21166


async def test_correction_must_keep_the_seller(flow: Flow, state: EmulatorState) -> None:
    state.config.check_seller_context = False  # let another seller through to the rule
    number = "TC/SELLER"
    assert (await flow.status(invoice(flow.nip, number)))["status"]["code"] == 200
    duplicate = invoice(flow.nip, number).replace(b"</Faktura>", b"</Faktura>\n")
    assert (await flow.status(duplicate, offlineMode=True))["status"]["code"] == 440
    other_seller = invoice("7740001454", "TC/SELLER2")
    status = await flow.status(
        other_seller, offlineMode=True, hashOfCorrectedInvoice=b64sha(duplicate)
    )
    assert status["status"]["code"] == 450
    assert "jest inny niż sprzedawca faktury korygowanej" in status["status"]["details"][0]
    renumbered = invoice(flow.nip, "TC/SELLER3")  # a duplicate is fixed by a new number
    status = await flow.status(
        renumbered, offlineMode=True, hashOfCorrectedInvoice=b64sha(duplicate)
    )
    assert status["status"]["code"] == 200


async def test_a_correction_may_carry_attachments_in_an_online_session(flow: Flow) -> None:
    sample = rewrite_invoice(
        (SAMPLES / "FA_3_Przyklad_24.xml").read_bytes(),
        seller_nip=flow.nip,
        invoice_number="TC/ZAL/1",
        issue_date=TODAY,
    )
    original = await flow.status(sample, offlineMode=True)
    assert original["status"]["code"] == 415  # attachments: batch sessions only
    fixed = sample.replace(b"</Faktura>", b"</Faktura>\n")
    status = await flow.status(fixed, offlineMode=True, hashOfCorrectedInvoice=b64sha(sample))
    assert status["status"]["code"] == 200, status


async def test_auto_offline_follows_the_warsaw_day_of_sending(
    ksef: Ksef, subject: SeededSubject, session_key: Key, clock: ManualClock
) -> None:
    """The documented example: P_1 3 October, sent 23:59:59 that day → Online; sent
    00:00:01 on 4 October (Warsaw) → Offline although offlineMode was false."""
    clock.set(dt.datetime(2025, 10, 3, 21, 59, 0, tzinfo=dt.UTC))
    headers = await ksef.bearer(subject)
    flow = Flow(
        ksef, subject.nip, headers, await ksef.open_session(headers, *session_key), session_key
    )
    issued = dt.date(2025, 10, 3)
    clock.set(dt.datetime(2025, 10, 3, 21, 59, 59, tzinfo=dt.UTC))  # 23:59:59 CEST
    same_day = await flow.status(invoice(flow.nip, "AUTO/1", issued))
    assert (same_day["status"]["code"], same_day["invoicingMode"]) == (200, "Online")
    clock.set(dt.datetime(2025, 10, 3, 22, 0, 1, tzinfo=dt.UTC))  # 00:00:01 on 4 October
    next_day = await flow.status(invoice(flow.nip, "AUTO/2", issued))
    assert (next_day["status"]["code"], next_day["invoicingMode"]) == (200, "Offline")
    declared = await flow.status(
        invoice(flow.nip, "AUTO/3", dt.date(2025, 10, 4)), offlineMode=True
    )
    assert declared["invoicingMode"] == "Offline"
