"""``/qr/*``: the pages a KSeF QR code points to, served by the emulator (no bearer token).

* ``GET /qr/invoice/{sellerNip}/{DD-MM-YYYY}/{hash}`` — KOD I: is the invoice in KSeF?
* ``GET /qr/certificate/{ctxType}/{ctxValue}/{sellerNip}/{serial}/{hash}/{signature}`` —
  KOD II: is the issuer's Offline certificate valid and the signature right?

``ksefkit.qr`` builds links of ``Environment.LOCAL`` (and of any emulator API URL) under this
``/qr`` base, so a phone or a test scanning an emulator invoice lands here. The base is
``public_url`` (when configured) or the request's own scheme and host: the signed string of a
KOD II link contains the host, so the link must be opened under the host it was signed for.

People get HTML, programs JSON (:mod:`.backends.verification` has the verdicts and the
fields): ``?format=json`` / ``?format=html`` decide, else the ``Accept`` header (JSON when it
prefers ``application/json`` to ``text/html``). The answer is 200 for every verdict of a
well-formed link — valid or not, ``valid`` says which — and 400 for a link that is not one
(status ``Malformed``). Answers are never cached and vary with ``Accept``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .app import Handler
from .backends.verification import MALFORMED, LinkPage, certificate_verdict, invoice_verdict
from .state import EmulatorState

__all__ = ["qr_routes", "wants_json"]

_HEADERS = {"Cache-Control": "no-store", "Vary": "Accept"}
_TITLES = {"invoice": "Weryfikacja faktury (KOD I)", "certificate": "Weryfikacja wystawcy (KOD II)"}
#: Labels of the JSON fields on the HTML page, in the order shown.
_LABELS = {
    "sellerNip": "NIP sprzedawcy",
    "issueDate": "Data wystawienia",
    "invoiceHash": "Skrót SHA-256 faktury",
    "contextIdentifier": "Kontekst wystawcy",
    "certificateSerialNumber": "Numer seryjny certyfikatu",
    "ksefNumber": "Numer KSeF",
    "invoiceNumber": "Numer faktury",
    "seller": "Sprzedawca",
    "buyer": "Nabywca",
    "netAmount": "Kwota netto",
    "vatAmount": "Kwota VAT",
    "grossAmount": "Kwota brutto",
    "currency": "Waluta",
    "invoiceType": "Rodzaj faktury",
    "invoicingMode": "Tryb wystawienia",
    "acquisitionDate": "Data przyjęcia w KSeF",
    "hashOfCorrectedInvoice": "Korygowana faktura (skrót)",
    "code": "Kod statusu",
    "description": "Opis statusu",
    "name": "Nazwa",
    "type": "Typ",
    "status": "Status",
    "commonName": "Nazwa powszechna (CN)",
    "subjectIdentifier": "Właściciel",
    "validFrom": "Ważny od",
    "validTo": "Ważny do",
    "link": "Link",
}
_SECTIONS = {
    "invoice": "Faktura",
    "correctedBy": "Korekta techniczna",
    "rejection": "Odrzucenie",
    "certificate": "Certyfikat KSeF",
}


def qr_routes(state: EmulatorState) -> list[BaseRoute]:
    """The routes under ``/qr`` (absolute paths)."""
    return [
        Route("/qr/invoice/{nip}/{date}/{digest}", _invoice(state), methods=["GET"]),
        Route(
            "/qr/certificate/{ctx_type}/{ctx_value}/{nip}/{serial}/{digest}/{signature}",
            _certificate(state),
            methods=["GET"],
        ),
    ]


def wants_json(request: Request) -> bool:
    """``?format=json|html`` if given, else whether ``Accept`` prefers JSON to HTML.

    >>> from starlette.requests import Request
    >>> def req(accept, query=b""):
    ...     return Request({"type": "http", "query_string": query,
    ...                     "headers": [(b"accept", accept.encode())]})
    >>> wants_json(req("application/json")), wants_json(req("text/html,*/*;q=0.8"))
    (True, False)
    >>> wants_json(req("*/*")), wants_json(req("text/html", b"format=json"))
    (False, True)
    """
    chosen = request.query_params.get("format", "").lower()
    if chosen in ("json", "html"):
        return chosen == "json"
    weights: dict[str, float] = {}
    for item in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media.lower()] = max(quality, weights.get(media.lower(), 0.0))
    json_q = max(weights.get("application/json", 0.0), weights.get("application/*", 0.0))
    html_q = max(weights.get("text/html", 0.0), weights.get("text/*", 0.0))
    return json_q > html_q


def _base(state: EmulatorState, request: Request) -> str:
    root = state.config.public_url or f"{request.url.scheme}://{request.url.netloc}"
    return root.rstrip("/") + "/qr"


def _invoice(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        p = request.path_params
        link = f"{_base(state, request)}/invoice/{p['nip']}/{p['date']}/{p['digest']}"
        return _answer(request, invoice_verdict(state, link))

    return handler


def _certificate(state: EmulatorState) -> Handler:
    async def handler(request: Request) -> Response:
        p = request.path_params
        link = (
            f"{_base(state, request)}/certificate/{p['ctx_type']}/{p['ctx_value']}/{p['nip']}"
            f"/{p['serial']}/{p['digest']}/{p['signature']}"
        )
        return _answer(request, certificate_verdict(state, link))

    return handler


def _answer(request: Request, page: LinkPage) -> Response:
    status = 400 if page.status == MALFORMED else 200
    if wants_json(request):
        return JSONResponse(page.to_json(), status, _HEADERS)
    return HTMLResponse(render_html(page), status, _HEADERS)


def render_html(page: LinkPage) -> str:
    """The page for people: the verdict in a coloured box, then every field."""
    title = _TITLES[page.kind]
    colour = "#1b7f3b" if page.valid else "#b3261e"
    mark = "✔" if page.valid else "✘"
    rows = []
    sections = []
    for key, value in page.fields.items():
        if key in _SECTIONS and isinstance(value, dict):
            sections.append(f"<h2>{escape(_SECTIONS[key])}</h2>{_table(value)}")
        else:
            rows.append((key, value))
    return (
        '<!DOCTYPE html><html lang="pl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)} — emulator KSeF</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
        "padding:0 1rem;color:#1d1d1f}.verdict{border-left:.4rem solid;padding:.8rem 1rem;"
        "background:#f6f6f6}table{border-collapse:collapse;width:100%}"
        "th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;"
        "border-bottom:1px solid #ddd}th{width:35%;font-weight:600}"
        "td{word-break:break-all}footer{margin-top:2rem;color:#666;font-size:.85rem}</style>"
        f"</head><body><h1>{escape(title)}</h1>"
        f'<div class="verdict" style="border-color:{colour}" data-valid="{str(page.valid).lower()}"'
        f' data-status="{escape(page.status)}"><strong style="color:{colour}">{mark}'
        f" {escape(page.status)}</strong><p>{escape(page.detail)}</p></div>"
        f"{_table(dict(rows))}{''.join(sections)}"
        f'<p>Link: <a href="{escape(page.link)}">{escape(page.link)}</a></p>'
        "<footer>Emulator ksefkit — strona testowa, nie jest to Krajowy System e-Faktur."
        " Dla programów: <code>?format=json</code> lub <code>Accept: application/json</code>."
        "</footer></body></html>"
    )


def _table(values: dict[str, Any]) -> str:
    cells = []
    for key, value in values.items():
        if value is None:
            continue
        label = _LABELS.get(key, key)
        cells.append(f"<tr><th>{escape(label)}</th><td>{_cell(value)}</td></tr>")
    return f"<table>{''.join(cells)}</table>" if cells else ""


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        inner = value.get("identifier") if isinstance(value.get("identifier"), dict) else None
        parts = [f"{k}: {v}" for k, v in value.items() if not isinstance(v, dict)]
        if inner is not None:
            parts.insert(0, f"{inner.get('type')}: {inner.get('value')}")
        return escape(", ".join(parts))
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return f'<a href="{escape(value)}">{escape(value)}</a>'
    return escape(str(value))
