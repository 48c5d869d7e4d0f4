# GENERATED from tests/sdk/_async by scripts/unasync.py: do not edit by hand.
"""KOD I / KOD II end to end: an Offline certificate from the emulator, an offline invoice
sent through the SDK, both links built with ``ksefkit.qr``, scanned (decoded from the PNG
with zxing-cpp) and opened on the emulator's verification pages."""

from __future__ import annotations

import datetime as dt
import io

import httpx
import pytest
import zxingcpp
from PIL import Image

from ksefkit.identifiers import random_nip
from ksefkit.invoices import generate_fa3
from ksefkit.qr import (
    certificate_link,
    invoice_link,
    qr_base_url,
    qr_png,
    verify_certificate_link,
)
from ksefkit.testcerts import company_seal

JSON = {"Accept": "application/json"}


def scanned(png: bytes) -> str:
    """What a scanner reads from the image (one QR code, nothing else)."""
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return str(code.text)


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_offline_invoice_codes_are_confirmed_by_the_pages(ksef_emulator, key_type) -> None:
    nip = random_nip()
    issued = dt.datetime.now(dt.UTC).date()
    xml = generate_fa3(
        seller_nip=nip, buyer_nip=random_nip(), invoice_number="OFF/1/QR", issue_date=issued
    )
    with ksef_emulator.client() as client:
        client.authenticate(company_seal(nip, key="ec").signer(), nip=nip)
        offline = client.certificates.enroll_and_wait(
            "Faktury offline", certificate_type="Offline", key_type=key_type
        )
        assert qr_base_url(client.base_url) == ksef_emulator.qr_url
        kod1 = invoice_link(client.base_url, nip, issued, xml)
        kod2 = certificate_link(client.base_url, "Nip", nip, nip, None, xml, offline)
        assert verify_certificate_link(kod2, offline.certificate)
        with httpx.Client() as http:
            before = (http.get(kod1, headers=JSON)).json()
            assert (before["valid"], before["status"]) == (False, "NotFound")
            with client.online_session() as session:
                sent = session.send_and_wait(xml, offline_mode=True)
            number = sent.ksef_number
            assert sent.invoicing_mode == "Offline"

            # what a phone does: read the printed code, open the link
            for png, link in ((qr_png(kod1, number), kod1), (qr_png(kod2), kod2)):
                assert scanned(png) == link
            invoice_page = (http.get(scanned(qr_png(kod1, number)), headers=JSON)).json()
            certificate_page = (http.get(scanned(qr_png(kod2)), headers=JSON)).json()
            html = http.get(kod1, headers={"Accept": "text/html"})

            forged = kod2[:-4] + ("AAAA" if not kod2.endswith("AAAA") else "BBBB")
            forged_page = (http.get(forged, headers=JSON)).json()
            client.certificates.revoke(offline.serial_number)
            revoked_page = (http.get(kod2, headers=JSON)).json()

    assert (invoice_page["valid"], invoice_page["status"]) == (True, "Found")
    assert invoice_page["invoice"]["ksefNumber"] == number
    assert invoice_page["invoice"]["invoicingMode"] == "Offline"
    assert invoice_page["invoice"]["invoiceNumber"] == "OFF/1/QR"
    assert (certificate_page["valid"], certificate_page["status"]) == (True, "Valid")
    assert certificate_page["certificate"]["type"] == "Offline"
    assert certificate_page["certificateSerialNumber"] == offline.serial_number
    assert html.headers["content-type"].startswith("text/html") and number in html.text
    assert (forged_page["valid"], forged_page["detail"]) == (False, "Nieprawidłowy podpis")
    assert (revoked_page["valid"], revoked_page["detail"]) == (False, "Certyfikat odwołany")
