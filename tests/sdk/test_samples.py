"""All 26 official FA(3) samples are accepted (P_1/P_2/seller rewritten so they are neither
future-dated nor duplicates), and broken variants are rejected with the right codes."""

from __future__ import annotations

import datetime as dt

import pytest

from ksefkit import FormCode, InvoiceRejected
from ksefkit.identifiers import is_valid_ksef_number

# KSeF takes invoices with attachments (Zalacznik) only in batch sessions (KSEF_API.md §5.2):
# online, samples 24 and 25 must be refused with 415; every other sample must be accepted.
WITH_ATTACHMENT = {"FA_3_Przyklad_24.xml", "FA_3_Przyklad_25.xml"}


def test_all_official_samples_accepted(ksef_client, make_invoice, spec_dir) -> None:
    samples = sorted((spec_dir / "samples" / "FA3").glob("*.xml"))
    assert len(samples) == 26
    with ksef_client.online_session(FormCode.FA3) as session:
        sent = {p.name: session.send(make_invoice.sample(p), file_name=p.name) for p in samples}
        results = {
            name: session.wait_for_invoice(s.reference_number, raise_on_error=False)
            for name, s in sent.items()
        }
    rejected = {n: r.status.code for n, r in results.items() if r.status.code != 200}
    assert rejected == dict.fromkeys(WITH_ATTACHMENT, 415)
    accepted = [r for n, r in results.items() if n not in WITH_ATTACHMENT]
    assert all(is_valid_ksef_number(r.ksef_number or "") for r in accepted)
    final = session.wait_until_processed()
    assert final.successful_invoice_count == 24
    assert final.failed_invoice_count == 2


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda xml: xml.replace(b"<P_2>", b"<P_2x>", 1).replace(b"</P_2>", b"</P_2x>", 1), 430),
        (lambda xml: b"\xef\xbb\xbf" + xml, 430),
        (lambda xml: xml.replace(b"?>", b"?><?pi x?>", 1), 430),
    ],
    ids=["xsd", "bom", "processing-instruction"],
)
def test_broken_sample_variants_rejected(ksef_client, make_invoice, spec_dir, mutate, code) -> None:
    xml = mutate(make_invoice.sample(spec_dir / "samples" / "FA3" / "FA_3_Przyklad_26.xml"))
    with ksef_client.online_session(preflight=False) as session:
        sent = session.send(xml)
        with pytest.raises(InvoiceRejected) as info:
            session.wait_for_invoice(sent.reference_number)
    assert info.value.code == code


def test_future_dated_sample_rejected_450(ksef_client, make_invoice, spec_dir) -> None:
    from ksefkit.invoices.rewrite import rewrite_invoice

    xml = rewrite_invoice(
        make_invoice.sample(spec_dir / "samples" / "FA3" / "FA_3_Przyklad_1.xml"),
        issue_date=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=10),
    )
    with ksef_client.online_session() as session:
        sent = session.send(xml)
        with pytest.raises(InvoiceRejected) as info:
            session.wait_for_invoice(sent.reference_number)
    assert info.value.code == 450
