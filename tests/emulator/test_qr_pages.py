"""The pages KSeF QR codes point to (``/qr/invoice/...``, ``/qr/certificate/...``), over HTTP
with the hand-written client: KOD I verdicts (found, corrected, processing, rejected, not
found, malformed), KOD II verdicts (valid, forged, wrong type, revoked, wrong seller, host),
HTML for people and JSON for programs."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from emulator_helpers import Ksef, b64sha, invoice, send_body
from xades_helpers import bearer, real_now, xades_login

from ksefkit.certificates import CertificateRequest, EnrolledCertificate, sign_link
from ksefkit.emulator.app import create_app
from ksefkit.emulator.clock import ManualClock, warsaw_date
from ksefkit.emulator.state import EmulatorState
from ksefkit.models import RetrieveCertificatesListItem
from ksefkit.qr import certificate_link, invoice_link, parse_link
from ksefkit.testcerts import company_seal

pytestmark = pytest.mark.anyio

NIP = "5265877635"
OTHER = "7740001454"
BASE = "http://emulator.test/qr"
JSON = {"Accept": "application/json"}
Key = tuple[bytes, bytes]


@pytest.fixture
def clock() -> ManualClock:
    # XAdES signing times and the certificates KSeF issues follow the real clock
    return ManualClock(real_now())


@pytest.fixture
def today(clock: ManualClock) -> Any:
    return warsaw_date(clock.now())


class Seller:
    """``NIP`` logged in with its company seal, with an open online session."""

    def __init__(self, ksef: Ksef, headers: dict[str, str], ref: str, key: Key) -> None:
        self.ksef, self.headers, self.ref, self.key = ksef, headers, ref, key

    async def send(self, xml: bytes, **fields: Any) -> dict[str, Any]:
        resp = await self.ksef.send(self.headers, self.ref, send_body(xml, *self.key, **fields))
        assert resp.status_code == 202, resp.text
        return await self.ksef.invoice_status(
            self.headers, self.ref, resp.json()["referenceNumber"]
        )

    async def certificate(self, kind: str = "Offline") -> EnrolledCertificate:
        """A KSeF certificate of ``kind`` for this seller (enrolled, issued, retrieved)."""
        http, headers = self.ksef.http, self.headers
        data = (await http.get("/v2/certificates/enrollments/data", headers=headers)).json()
        request = CertificateRequest.create(data)
        body = {
            "certificateName": f"Certyfikat {kind}",
            "certificateType": kind,
            "csr": base64.b64encode(request.der).decode(),
        }
        resp = await http.post("/v2/certificates/enrollments", json=body, headers=headers)
        assert resp.status_code == 202, resp.text
        status = await http.get(
            f"/v2/certificates/enrollments/{resp.json()['referenceNumber']}", headers=headers
        )
        serial = status.json()["certificateSerialNumber"]
        got = await http.post(
            "/v2/certificates/retrieve",
            json={"certificateSerialNumbers": [serial]},
            headers=headers,
        )
        [item] = got.json()["certificates"]
        return EnrolledCertificate.from_retrieved(
            RetrieveCertificatesListItem.model_validate(item), request.private_key
        )


async def seller_of(ksef: Ksef, key: Key) -> Seller:
    headers = bearer(await xades_login(ksef, company_seal(NIP, key="ec"), ("Nip", NIP)))
    return Seller(ksef, headers, await ksef.open_session(headers, *key), key)


@pytest.fixture
async def seller(ksef: Ksef, session_key: Key) -> Seller:
    return await seller_of(ksef, session_key)


async def page(ksef: Ksef, link: str, **headers: str) -> httpx.Response:
    assert link.startswith(BASE)
    return await ksef.http.get(link.removeprefix("http://emulator.test"), headers=headers)


async def verdict(ksef: Ksef, link: str) -> dict[str, Any]:
    resp = await page(ksef, link, **JSON)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    return dict(resp.json())


# -- KOD I -----------------------------------------------------------------------------------


async def test_an_accepted_invoice_is_found_with_its_data(seller: Seller, today: Any) -> None:
    xml = invoice(NIP, "QR/1", today)
    status = await seller.send(xml, offlineMode=True)
    assert status["status"]["code"] == 200
    link = invoice_link(BASE, NIP, today, xml)
    found = await verdict(seller.ksef, link)
    assert (found["kind"], found["valid"], found["status"]) == ("invoice", True, "Found")
    assert found["link"] == link and found["invoiceHash"] == b64sha(xml)
    data = found["invoice"]
    assert data["ksefNumber"] == status["ksefNumber"]
    assert (data["invoiceNumber"], data["issueDate"]) == ("QR/1", today.isoformat())
    assert data["seller"]["nip"] == NIP and data["invoicingMode"] == "Offline"
    assert data["buyer"]["identifier"] == {"type": "Nip", "value": "7740001454"}
    assert data["grossAmount"] > 0 and data["currency"] == "PLN"

    html = await page(seller.ksef, link)  # no Accept: a browser's page
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'data-valid="true"' in html.text and status["ksefNumber"] in html.text
    assert "QR/1" in html.text and html.headers["vary"] == "Accept"
    # content negotiation: ?format wins over Accept, JSON only when preferred
    as_json = await page(seller.ksef, link + "?format=json", Accept="text/html")
    assert as_json.json()["status"] == "Found"
    as_html = await page(seller.ksef, link + "?format=html", Accept="application/json")
    assert as_html.headers["content-type"].startswith("text/html")
    browser = await page(seller.ksef, link, Accept="text/html,application/json;q=0.9,*/*;q=0.8")
    assert browser.headers["content-type"].startswith("text/html")
    program = await page(seller.ksef, link, Accept="text/html;q=0.5,application/json")
    assert program.json()["valid"] is True


async def test_forged_kod1_links_find_nothing(seller: Seller, today: Any) -> None:
    xml = invoice(NIP, "QR/2", today)
    assert (await seller.send(xml))["status"]["code"] == 200
    other = invoice(NIP, "QR/3", today)
    for link in (
        invoice_link(BASE, NIP, today, other),  # another invoice's hash (never sent)
        invoice_link(BASE, OTHER, today, xml),  # another seller
        invoice_link(BASE, NIP, today.replace(year=today.year - 1), xml),  # another date
    ):
        found = await verdict(seller.ksef, link)
        assert (found["valid"], found["status"]) == (False, "NotFound"), link
        assert "Nie znaleziono" in found["detail"]
    html = await page(seller.ksef, invoice_link(BASE, OTHER, today, xml))
    assert 'data-valid="false"' in html.text and "NotFound" in html.text


@pytest.mark.parametrize(
    "path",
    [
        f"/qr/invoice/{NIP}/2026-02-01/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE",
        f"/qr/invoice/{NIP}/01-02-2026/UtQp9Gpc51y",
        "/qr/invoice/0000000000/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE",
        f"/qr/certificate/Pesel/{NIP}/{NIP}/0123456789ABCDEF/"
        "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE/c2ln",
    ],
)
async def test_malformed_links_are_400(ksef: Ksef, path: str) -> None:
    resp = await ksef.http.get(path, headers=JSON)
    assert resp.status_code == 400
    assert (resp.json()["valid"], resp.json()["status"]) == (False, "Malformed")
    assert "Nieprawidłowy format" in resp.json()["detail"]
    html = await ksef.http.get(path)
    assert html.status_code == 400 and "Malformed" in html.text


async def test_a_rejected_invoice_is_named_rejected(seller: Seller, today: Any) -> None:
    first = invoice(NIP, "QR/DUP", today)
    assert (await seller.send(first))["status"]["code"] == 200
    duplicate = first.replace(b"</Faktura>", b"</Faktura>\n")  # same number, other hash
    assert (await seller.send(duplicate))["status"]["code"] == 440
    rejected = await verdict(seller.ksef, invoice_link(BASE, NIP, today, duplicate))
    assert (rejected["valid"], rejected["status"]) == (False, "Rejected")
    assert rejected["rejection"]["code"] == 440
    # the rejection is the seller's: another seller's link with that hash finds nothing
    elsewhere = await verdict(seller.ksef, invoice_link(BASE, OTHER, today, duplicate))
    assert elsewhere["status"] == "NotFound"


async def test_a_technically_corrected_original_points_to_its_correction(
    seller: Seller, today: Any
) -> None:
    good = invoice(NIP, "QR/TC", today)
    original = good.replace(b"<KodWaluty>PLN</KodWaluty>", b"<KodWaluty>ZZZ</KodWaluty>")
    assert (await seller.send(original, offlineMode=True))["status"]["code"] == 430
    original_link = invoice_link(BASE, NIP, today, original)
    assert (await verdict(seller.ksef, original_link))["status"] == "Rejected"
    correction = await seller.send(good, offlineMode=True, hashOfCorrectedInvoice=b64sha(original))
    assert correction["status"]["code"] == 200
    scanned = await verdict(seller.ksef, original_link)
    assert (scanned["valid"], scanned["status"]) == (False, "Corrected")
    pointer = scanned["correctedBy"]
    assert pointer["ksefNumber"] == correction["ksefNumber"]
    assert pointer["invoiceHash"] == b64sha(good)
    assert pointer["link"] == invoice_link(BASE, NIP, today, good)
    assert correction["ksefNumber"] in scanned["detail"]
    followed = await verdict(seller.ksef, pointer["link"])
    assert (followed["status"], followed["invoice"]["ksefNumber"]) == (
        "Found",
        correction["ksefNumber"],
    )
    assert followed["invoice"]["hashOfCorrectedInvoice"] == b64sha(original)
    html = await page(seller.ksef, original_link)
    assert pointer["link"] in html.text and "Korekta techniczna" in html.text


async def test_an_invoice_in_processing_is_named_so(clock: ManualClock, session_key: Key) -> None:
    with EmulatorState(clock=clock, processing="manual") as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
            ksef = Ksef(http, state)
            seller = await _manual_seller(ksef, session_key, state.step)
            day = warsaw_date(clock.now())
            xml = invoice(NIP, "QR/WAIT", day)
            resp = await ksef.send(seller.headers, seller.ref, send_body(xml, *session_key))
            assert resp.status_code == 202, resp.text
            link = invoice_link(BASE, NIP, day, xml)
            assert (await verdict(ksef, link))["status"] == "Processing"
            state.step()
            assert (await verdict(ksef, link))["status"] == "Found"


async def _manual_seller(ksef: Ksef, key: Key, step: Any) -> Seller:
    """Log in with processing "manual": the authentication itself waits for a step."""
    from xades_helpers import post_xades, redeem, signed_request

    body = await signed_request(ksef, company_seal(NIP, key="ec"), ("Nip", NIP))
    resp = await post_xades(ksef, body)
    assert resp.status_code == 202, resp.text
    step()
    headers = bearer(await redeem(ksef, resp.json()))
    return Seller(ksef, headers, await ksef.open_session(headers, *key), key)


# -- KOD II ----------------------------------------------------------------------------------


async def test_a_kod2_link_of_an_offline_certificate_is_confirmed(
    seller: Seller, today: Any
) -> None:
    offline = await seller.certificate("Offline")
    xml = invoice(NIP, "QR/K2", today)
    link = certificate_link(BASE, "Nip", NIP, NIP, None, xml, offline)
    valid = await verdict(seller.ksef, link)
    assert (valid["kind"], valid["valid"], valid["status"]) == ("certificate", True, "Valid")
    assert valid["detail"] == "Certyfikat wystawcy zweryfikowany"
    assert valid["contextIdentifier"] == {"type": "Nip", "value": NIP}
    assert valid["certificateSerialNumber"] == offline.serial_number
    assert valid["invoiceHash"] == b64sha(xml)
    certificate = valid["certificate"]
    assert (certificate["type"], certificate["status"]) == ("Offline", "Active")
    assert certificate["subjectIdentifier"] == {"type": "Nip", "value": NIP}
    html = await page(seller.ksef, link)
    assert 'data-valid="true"' in html.text and offline.serial_number in html.text


async def test_forged_kod2_links_are_rejected_with_a_reason(seller: Seller, today: Any) -> None:
    offline = await seller.certificate("Offline")
    login = await seller.certificate("Authentication")
    xml = invoice(NIP, "QR/K2F", today)
    link = certificate_link(BASE, "Nip", NIP, NIP, None, xml, offline)
    parsed = parse_link(link)
    other_xml = invoice(NIP, "QR/K2G", today)
    swapped = link.replace(
        parsed.invoice_hash, parse_link(invoice_link(BASE, NIP, today, other_xml)).invoice_hash
    )

    def signed_by_login(seller_nip: str = NIP) -> str:
        unsigned = (
            f"{BASE}/certificate/Nip/{NIP}/{seller_nip}/{login.serial_number}/{parsed.invoice_hash}"
        )
        return f"{unsigned}/{sign_link(login.private_key, unsigned.removeprefix('http://'))}"

    wrong_seller = certificate_link(BASE, "Nip", NIP, OTHER, None, xml, offline)
    unknown = link.replace(offline.serial_number, "0123456789ABCDEF")
    other_host = certificate_link("http://elsewhere.test/qr", "Nip", NIP, NIP, None, xml, offline)
    cases = {
        swapped: "Nieprawidłowy podpis",  # the signature of another invoice's link
        link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"): "Nieprawidłowy podpis",
        signed_by_login(): "nie jest certyfikatem typu Offline",
        wrong_seller: "Kontekst nie może wystawiać faktur sprzedawcy",
        unknown: "Certyfikat nie istnieje",
        # signed for another host, opened here: the host is part of the signed string
        BASE + other_host.removeprefix("http://elsewhere.test/qr"): "Nieprawidłowy podpis",
    }
    for url, reason in cases.items():
        found = await verdict(seller.ksef, url)
        assert (found["valid"], found["status"]) == (False, "Invalid"), url
        assert reason in found["detail"], (url, found["detail"])
    # revoked: valid before, rejected after
    assert (await verdict(seller.ksef, link))["valid"]
    resp = await seller.ksef.http.post(
        f"/v2/certificates/{offline.serial_number}/revoke", json={}, headers=seller.headers
    )
    assert resp.status_code == 204, resp.text
    revoked = await verdict(seller.ksef, link)
    assert (revoked["valid"], revoked["detail"]) == (False, "Certyfikat odwołany")
    assert revoked["certificate"]["status"] == "Revoked"


async def test_public_url_is_the_base_pages_check_links_against(
    clock: ManualClock, session_key: Key
) -> None:
    public = "https://ksef.example.test"
    with EmulatorState(clock=clock, public_url=public) as state:
        transport = httpx.ASGITransport(app=create_app(state))
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test") as http:
            ksef = Ksef(http, state)
            seller = await seller_of(ksef, session_key)
            offline = await seller.certificate("Offline")
            xml = invoice(NIP, "QR/PUB", warsaw_date(clock.now()))
            link = certificate_link(public + "/qr", "Nip", NIP, NIP, None, xml, offline)
            # opened through any host (a proxy), checked as the public link it was signed as
            resp = await http.get(link.removeprefix(public), headers=JSON)
            assert resp.json()["valid"] is True and resp.json()["link"] == link


async def test_a_self_billing_context_may_sign_for_the_seller_that_authorized_it(
    seller: Seller, state: EmulatorState, today: Any
) -> None:
    offline = await seller.certificate("Offline")
    xml = invoice(OTHER, "QR/SELF", today)
    link = certificate_link(BASE, "Nip", NIP, OTHER, None, xml, offline)
    assert "sprzedawcy" in (await verdict(seller.ksef, link))["detail"]
    # OTHER lets NIP issue its invoices (self-billing): the same link now checks out
    owner = await seller.ksef.bearer(state.create_subject(OTHER))
    grant = {
        "subjectIdentifier": {"type": "Nip", "value": NIP},
        "permission": "SelfInvoicing",
        "description": "Samofakturowanie",
        "subjectDetails": {"fullName": "Nabywca sp. z o.o."},
    }
    resp = await seller.ksef.http.post(
        "/v2/permissions/authorizations/grants", json=grant, headers=owner
    )
    assert resp.status_code == 202, resp.text
    operation = await seller.ksef.http.get(
        f"/v2/permissions/operations/{resp.json()['referenceNumber']}", headers=owner
    )
    assert operation.json()["status"]["code"] == 200, operation.text
    assert (await verdict(seller.ksef, link))["valid"] is True
