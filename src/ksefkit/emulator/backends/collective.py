"""Collective identifiers (``/collective-identifiers*``, new in API 2.7.0).

Rules (open-api.json descriptions; the emulator's decisions where it is silent):

* ``POST /collective-identifiers``: 1-500 distinct KSeF numbers (21405 otherwise), each with an
  optional ``payment {amount, currency (CurrencyCode)}`` and ``description`` (≤ 512). Every
  invoice must be one the current context can see — it plays a role on it (seller, buyer,
  third subject, authorised subject) and it is stored — and all must have the seller of the
  first such invoice; each one that fails is a detail of one 400/71001. An invoice already
  in 132 identifiers created in this context is 71002. The number is
  ``<seller NIP>-IZ<YYYYMM>-<12 hex>-<CRC-8 of the first 32 characters>`` (month of creation,
  Europe/Warsaw), answered with 201.
* ``POST /collective-identifiers/query``: identifiers created in the context, and — in a
  ``Nip`` context — those whose seller is that NIP; ``dateCreatedFrom``..``dateCreatedTo``
  (both inclusive) at most 100 days; filters on the number, invoice count and
  ``createdInCurrentContext``.
* ``GET /collective-identifiers/{n}/invoices``: any context with the permission may list the
  KSeF numbers (that is what a payer needs); ``payment`` and ``description`` are shown only to
  the context that created the identifier or plays a role on that invoice, otherwise they are
  left out and ``detailsHidden`` is true (false when there was nothing to hide). **Decision:**
  an unknown number is 21405.
* ``GET /collective-identifiers/ksef/{ksefNumber}``: the identifiers holding the invoice that
  were created in this context, or all of them when the context plays a role on the invoice.
  **Decision:** a KSeF number of no stored invoice is 21405, as an unknown identifier number
  is (the issue asks every unknown reference to be a 4xx); a stored invoice the context may
  not see answers an empty list, as before.
* Lists are sorted as the spec's ``x-sort`` says and paged with ``x-continuation-token``
  (``pageSize`` 10-200, default 10). Everything is durable in the store.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ...identifiers import KSEF_NUMBER_V1_RE, crc8
from ...models.common import CurrencyCode
from ..clock import isoformat, parse_datetime
from ..errors import KsefApiError, bad_request, validation_error
from . import Int32, int_query, paginate, parse_body
from .auth import Claims
from .metadata import visible_invoice

if TYPE_CHECKING:
    from ..state import EmulatorState

__all__ = [
    "COLLECTIVE_PERMISSIONS",
    "MAX_IDENTIFIERS_PER_INVOICE",
    "MAX_INVOICES",
    "CollectiveIdentifiers",
    "check_collective_number",
]

#: ``x-required-permissions`` of all four operations (any one of them).
COLLECTIVE_PERMISSIONS = ("InvoiceRead", "InvoiceWrite", "CollectiveIdentifierManage")
MAX_INVOICES = 500
MAX_IDENTIFIERS_PER_INVOICE = 132
MAX_QUERY_RANGE = dt.timedelta(days=100)
_NUMBER_RE = re.compile(
    r"^[1-9]((\d[1-9])|([1-9]\d))\d{7}-IZ(20[2-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})"
    r"(0[1-9]|1[0-2])-[0-9A-F]{12}-[0-9A-F]{2}$"
)
_CURRENCIES = frozenset(c.value for c in CurrencyCode)

SCHEMA = """
CREATE TABLE IF NOT EXISTS collective_identifiers (
    number TEXT PRIMARY KEY, seller_nip TEXT NOT NULL, context_type TEXT NOT NULL,
    context_value TEXT NOT NULL, date_created TEXT NOT NULL, invoice_count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS collective_ctx ON collective_identifiers (context_type, context_value);
CREATE INDEX IF NOT EXISTS collective_seller ON collective_identifiers (seller_nip);
CREATE TABLE IF NOT EXISTS collective_identifier_invoices (
    number TEXT NOT NULL, ksef_number TEXT NOT NULL, amount REAL, currency TEXT,
    description TEXT, PRIMARY KEY (number, ksef_number));
CREATE INDEX IF NOT EXISTS collective_invoice ON collective_identifier_invoices (ksef_number);
"""


def check_collective_number(value: str, field: str) -> str:
    """``value`` if it has the collective identifier's format; 400/21405 otherwise.

    >>> check_collective_number("1111111111-IZ202607-65ED02180000-E7", "n")
    '1111111111-IZ202607-65ED02180000-E7'
    """
    if not (value.isascii() and _NUMBER_RE.fullmatch(value)):
        raise validation_error(
            f"{field}: {value[:64]!r} nie jest numerem identyfikatora zbiorczego"
            " (NIP-IZRRRRMM-FFFFFFFFFFFF-FF)."
        )
    return value


class _Payment(BaseModel):
    amount: float
    currency: str


class _Invoice(BaseModel):
    ksefNumber: str
    payment: _Payment | None = None
    description: str | None = Field(default=None, max_length=512)


class _Generate(BaseModel):
    invoices: list[_Invoice] = Field(min_length=1, max_length=MAX_INVOICES)


class _Query(BaseModel):
    collectiveIdentifierNumber: str | None = None
    dateCreatedFrom: str
    dateCreatedTo: str
    invoiceCountFrom: Int32 | None = None
    invoiceCountTo: Int32 | None = None
    createdInCurrentContext: bool | None = None


class CollectiveIdentifiers:
    """Collective identifiers and their invoices, over the store."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._store = state.store
        self._store.script(SCHEMA)

    # -- create ----------------------------------------------------------------------------

    def generate(self, claims: Claims, body: object) -> dict[str, str]:
        """``POST /collective-identifiers`` → ``{collectiveIdentifierNumber}``."""
        # JSON numbers may be integers (``"amount": 100``): accept them as amounts.
        req = parse_body(_Generate, _ints_as_floats(body))
        _check_items(req.invoices)
        with self._store.tx():
            sellers = [self._seller(claims, item.ksefNumber) for item in req.invoices]
            # The first invoice the context may assign names the seller of them all.
            seller = next((found for found in sellers if found is not None), None)
            refused = [
                f"Faktura o numerze KSeF {item.ksefNumber} nie może zostac przypisana do"
                " Identyfikatora Zbiorczego."
                for item, found in zip(req.invoices, sellers, strict=True)
                if found is None or found != seller
            ]
            if refused or seller is None:
                raise bad_request(71001, *refused)
            full = [
                item.ksefNumber
                for item in req.invoices
                if self._count_in_context(claims, item.ksefNumber) >= MAX_IDENTIFIERS_PER_INVOICE
            ]
            if full:
                raise bad_request(
                    71002,
                    *(
                        f"Faktura o numerze KSeF {n} jest już przypisana do maksymalnej liczby"
                        " Identyfikatorów Zbiorczych."
                        for n in full
                    ),
                )
            number = self._new_number(seller)
            self._store.run(
                "INSERT INTO collective_identifiers VALUES (?, ?, ?, ?, ?, ?)",
                (
                    number,
                    seller,
                    claims.context_type,
                    claims.context_value,
                    isoformat(self._state.clock.now()),
                    len(req.invoices),
                ),
            )
            for item in req.invoices:
                payment = item.payment
                self._store.run(
                    "INSERT INTO collective_identifier_invoices VALUES (?, ?, ?, ?, ?)",
                    (
                        number,
                        item.ksefNumber,
                        payment.amount if payment else None,
                        payment.currency if payment else None,
                        item.description,
                    ),
                )
        return {"collectiveIdentifierNumber": number}

    def _seller(self, claims: Claims, ksef_number: str) -> str | None:
        """The seller NIP of an invoice the context sees, else None."""
        if not self._sees(claims, ksef_number):
            return None
        row = self._store.one(
            "SELECT seller_nip FROM invoices WHERE ksef_number = ?", (ksef_number,)
        )
        return None if row is None else str(row["seller_nip"])

    def _sees(self, claims: Claims, ksef_number: str) -> bool:
        """Whether the context plays a role on a stored invoice (as the metadata query sees)."""
        try:
            visible_invoice(self._state, claims.context_value, ksef_number)
        except KsefApiError:
            return False
        return True

    def _count_in_context(self, claims: Claims, ksef_number: str) -> int:
        row = self._store.one(
            "SELECT COUNT(*) AS n FROM collective_identifier_invoices i"
            " JOIN collective_identifiers c ON c.number = i.number"
            " WHERE i.ksef_number = ? AND c.context_type = ? AND c.context_value = ?",
            (ksef_number, claims.context_type, claims.context_value),
        )
        return int(row["n"]) if row is not None else 0

    def _new_number(self, seller: str) -> str:
        day = self._state.today()
        while True:
            data = f"{seller}-IZ{day:%Y%m}-{self._state.ids.hex(12)}"
            number = f"{data}-{crc8(data.encode('ascii')):02X}"
            taken = self._store.one(
                "SELECT 1 FROM collective_identifiers WHERE number = ?", (number,)
            )
            if taken is None:
                return number

    # -- queries ---------------------------------------------------------------------------

    def query(
        self, claims: Claims, body: object, page_size: object, token: str | None
    ) -> dict[str, Any]:
        """``POST /collective-identifiers/query`` → ``CollectiveIdentifiersQueryResponse``."""
        size = int_query(page_size, "pageSize", default=10, low=10, high=200)
        req = parse_body(_Query, body)
        start = _instant(req.dateCreatedFrom, "dateCreatedFrom")
        end = _instant(req.dateCreatedTo, "dateCreatedTo")
        if end < start:
            raise validation_error("dateCreatedTo: data wcześniejsza niż dateCreatedFrom.")
        if end - start > MAX_QUERY_RANGE:
            raise validation_error("dateCreatedFrom: maksymalny przedział czasu to 100 dni.")
        sql = (
            "SELECT * FROM collective_identifiers WHERE ((context_type = ? AND context_value = ?)"
            " OR (? = 'Nip' AND seller_nip = ?)) AND date_created >= ? AND date_created <= ?"
        )
        params: list[Any] = [
            claims.context_type,
            claims.context_value,
            claims.context_type,
            claims.context_value,
            isoformat(start),
            isoformat(end),
        ]
        for clause, value in (
            (" AND number = ?", req.collectiveIdentifierNumber),
            (" AND invoice_count >= ?", req.invoiceCountFrom),
            (" AND invoice_count <= ?", req.invoiceCountTo),
        ):
            if value is not None:
                sql += clause
                params.append(value)
        rows = self._store.all(sql + " ORDER BY date_created DESC, number DESC", params)
        items = [
            {
                "collectiveIdentifierNumber": r["number"],
                "dateCreated": r["date_created"],
                "invoiceCount": r["invoice_count"],
                "createdInCurrentContext": self._ours(claims, r),
            }
            for r in rows
        ]
        if req.createdInCurrentContext is not None:
            items = [
                i for i in items if i["createdInCurrentContext"] is req.createdInCurrentContext
            ]
        page, next_token = paginate(items, token, size)
        return {"collectiveIdentifiers": page, "continuationToken": next_token}

    def invoices(
        self, claims: Claims, number: str, page_size: object, token: str | None
    ) -> dict[str, Any]:
        """``GET /collective-identifiers/{n}/invoices`` → its invoices, ``ksefNumber`` desc."""
        size = int_query(page_size, "pageSize", default=10, low=10, high=200)
        head = self._store.one("SELECT * FROM collective_identifiers WHERE number = ?", (number,))
        if head is None:
            raise validation_error(
                f"collectiveIdentifierNumber: identyfikator zbiorczy {number} nie istnieje."
            )
        rows = self._store.all(
            "SELECT * FROM collective_identifier_invoices WHERE number = ?"
            " ORDER BY ksef_number DESC",
            (number,),
        )
        page, next_token = paginate(rows, token, size)
        creator = self._ours(claims, head)
        return {
            "invoices": [self._invoice_item(claims, r, creator) for r in page],
            "continuationToken": next_token,
        }

    def _invoice_item(self, claims: Claims, row: Any, creator: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"ksefNumber": row["ksef_number"]}
        has_details = row["currency"] is not None or row["description"] is not None
        if has_details and not (creator or self._sees(claims, row["ksef_number"])):
            item["detailsHidden"] = True
            return item
        if row["currency"] is not None:
            item["payment"] = {"amount": row["amount"], "currency": row["currency"]}
        if row["description"] is not None:
            item["description"] = row["description"]
        item["detailsHidden"] = False
        return item

    def by_ksef_number(
        self, claims: Claims, ksef_number: str, page_size: object, token: str | None
    ) -> dict[str, Any]:
        """``GET /collective-identifiers/ksef/{ksefNumber}`` → identifiers holding it."""
        size = int_query(page_size, "pageSize", default=10, low=10, high=200)
        if self._store.one("SELECT 1 FROM invoices WHERE ksef_number = ?", (ksef_number,)) is None:
            raise validation_error(
                f"ksefNumber: faktura o numerze KSeF {ksef_number} nie istnieje."
            )
        rows = self._store.all(
            "SELECT c.* FROM collective_identifiers c JOIN collective_identifier_invoices i"
            " ON i.number = c.number WHERE i.ksef_number = ?"
            " ORDER BY c.date_created DESC, c.number DESC",
            (ksef_number,),
        )
        party = self._sees(claims, ksef_number)
        items = [
            {
                "collectiveIdentifierNumber": r["number"],
                "createdInCurrentContext": self._ours(claims, r),
                "dateCreated": r["date_created"],
            }
            for r in rows
            if party or self._ours(claims, r)
        ]
        page, next_token = paginate(items, token, size)
        return {"collectiveIdentifiers": page, "continuationToken": next_token}

    @staticmethod
    def _ours(claims: Claims, row: Any) -> bool:
        return (row["context_type"], row["context_value"]) == (
            claims.context_type,
            claims.context_value,
        )


def _check_items(items: list[_Invoice]) -> None:
    problems: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"invoices[{i}]"
        if not (item.ksefNumber.isascii() and KSEF_NUMBER_V1_RE.fullmatch(item.ksefNumber)):
            problems.append(f"{where}.ksefNumber: {item.ksefNumber[:64]!r} nie jest numerem KSeF.")
        elif item.ksefNumber in seen:
            problems.append(f"{where}.ksefNumber: numer {item.ksefNumber} powtórzony.")
        seen.add(item.ksefNumber)
        if item.payment is not None:
            if not math.isfinite(item.payment.amount):
                problems.append(f"{where}.payment.amount: oczekiwano liczby.")
            if item.payment.currency not in _CURRENCIES:
                problems.append(f"{where}.payment.currency: nieznany kod waluty.")
    if problems:
        raise validation_error(*problems)


def _ints_as_floats(body: object) -> object:
    """The request with integer ``payment.amount`` values as floats (strict parsing)."""
    if not isinstance(body, dict) or not isinstance(body.get("invoices"), list):
        return body
    invoices = []
    for item in body["invoices"]:
        payment = item.get("payment") if isinstance(item, dict) else None
        if isinstance(payment, dict):
            amount = payment.get("amount")
            if isinstance(amount, int) and not isinstance(amount, bool):
                item = {**item, "payment": {**payment, "amount": float(amount)}}
        invoices.append(item)
    return {**body, "invoices": invoices}


def _instant(text: str, field: str) -> dt.datetime:
    try:
        return parse_datetime(text)
    except (ValueError, TypeError):
        raise validation_error(f"{field}: nieprawidłowa data {text[:40]!r} (ISO 8601).") from None
