"""A readable builder for FA(3) invoices: parties, lines, payments, corrections, advances.

>>> import datetime
>>> from decimal import Decimal
>>> invoice = (
...     InvoiceBuilder(
...         seller=Party.company("9999999999", "ABC AGD sp. z o. o.", "ul. Kwiatowa 1 m. 2",
...                              "00-001 Warszawa"),
...         buyer=Party.company("1111111111", "F.H.U. Jan Kowalski", "ul. Polna 1",
...                             "00-001 Warszawa"),
...     )
...     .number("FV2026/02/150")
...     .issued(datetime.date(2026, 2, 15), place="Warszawa")
...     .sold(datetime.date(2026, 1, 27))
...     .line("lodówka Zimnotech mk1", Decimal(1), Decimal("1626.01"), vat_rate=23)
...     .line("promocja lodówka pełna mleka", Decimal(1), Decimal("0.95"), vat_rate=5)
...     .payment(due=datetime.date(2026, 3, 1), method=PaymentMethod.TRANSFER,
...              account="73111111111111111111111111")
...     .build()
... )
>>> invoice.fa.net_standard, invoice.fa.vat_standard, invoice.fa.total
(Decimal('1626.01'), Decimal('373.98'), Decimal('2000.99'))

Totals (``P_13_x``, ``P_14_x``, ``P_14_xW``, ``P_15``) are computed from the lines by
:func:`~ksefkit.fa3.totals.compute_totals` unless given with :meth:`InvoiceBuilder.totals`;
advance invoices (ZAL) take them from :meth:`InvoiceBuilder.advance_payment`, settlement
invoices (ROZ) subtract the advances given to :meth:`InvoiceBuilder.settles_advance`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ConfigurationError
from .model import (
    Address,
    AdvanceInvoiceRef,
    AdvanceOrder,
    Annotations,
    Attachment,
    BankAccount,
    Buyer,
    Carrier,
    Contact,
    ContractRef,
    CorrectedInvoice,
    CorrectionType,
    DataBlock,
    DueDate,
    DueDateDescription,
    Exemption,
    ExtraInfo,
    Footer,
    FooterInfo,
    Header,
    Invoice,
    InvoiceData,
    InvoiceLine,
    InvoiceType,
    MarginScheme,
    OrderLine,
    OrderRef,
    OwnBankAccount,
    PartialPayment,
    PartyId,
    Payment,
    PaymentMethod,
    Period,
    Registry,
    Seller,
    SellerId,
    Settlement,
    SettlementItem,
    ThirdParty,
    ThirdPartyId,
    ThirdPartyRole,
    TransactionTerms,
    Transport,
    VatRate,
)
from .totals import RATE_FIELDS, compute_totals, round_grosze, split_gross, vat_of

__all__ = ["InvoiceBuilder", "Party", "vat_rate"]

_TOTAL_FIELDS = frozenset(
    {f.net for f in RATE_FIELDS.values()}
    | {f.vat for f in RATE_FIELDS.values() if f.vat}
    | {f.vat_pln for f in RATE_FIELDS.values() if f.vat_pln}
    | {"net_oss", "vat_oss", "net_margin", "total"}
)
_MARGIN_KINDS = ("travel", "used_goods", "works_of_art", "antiques")


def vat_rate(value: VatRate | int | str) -> VatRate:
    """A :class:`VatRate` from a rate, a percent (``23``) or a ``P_12`` code (``"0 KR"``).

    >>> vat_rate(8), vat_rate("zw"), vat_rate(0)
    (<VatRate.R8: '8'>, <VatRate.EXEMPT: 'zw'>, <VatRate.ZERO_DOMESTIC: '0 KR'>)
    """
    if isinstance(value, VatRate):
        return value
    if isinstance(value, bool):
        raise ConfigurationError(f"not a VAT rate: {value!r}")
    if value == 0:
        return VatRate.ZERO_DOMESTIC
    try:
        return VatRate(str(value))
    except ValueError:
        codes = ", ".join(repr(r.value) for r in VatRate)
        raise ConfigurationError(f"not a VAT rate: {value!r} (use one of {codes})") from None


def _address(line1: Address | str | None, line2: str | None, country: str) -> Address | None:
    if line1 is None or isinstance(line1, Address):
        return line1
    return Address(country_code=country, line1=line1, line2=line2)


def _contacts(email: str | None, phone: str | None) -> tuple[Contact, ...]:
    return (Contact(email=email, phone=phone),) if email or phone else ()


@dataclass(frozen=True, slots=True)
class Party:
    """A seller, buyer, third party or carrier, as the builder takes it.

    Exactly one identity: ``nip``; ``eu_code`` + ``eu_vat_number``; ``tax_id`` (with
    ``country_code``); or none (a consumer: ``BrakID``).

    >>> Party.company("1111111111", "XYZ", "ul. Polna 1", "00-001 Warszawa").buyer().identity
    PartyId(nip='1111111111', eu_code=None, eu_vat_number=None, country_code=None, \
tax_id=None, no_id=False, name='XYZ')
    """

    name: str | None
    address: Address | None = None
    nip: str | None = None
    eu_code: str | None = None
    eu_vat_number: str | None = None
    country_code: str | None = None
    tax_id: str | None = None
    contacts: tuple[Contact, ...] = ()
    eu_prefix: str | None = None

    @classmethod
    def company(
        cls,
        nip: str,
        name: str,
        address: Address | str,
        address2: str | None = None,
        *,
        country: str = "PL",
        email: str | None = None,
        phone: str | None = None,
    ) -> Party:
        """A party identified by NIP; ``address`` is an :class:`Address` or its first line."""
        return cls(
            name=name,
            address=_address(address, address2, country),
            nip=nip,
            contacts=_contacts(email, phone),
        )

    @classmethod
    def eu_company(
        cls,
        eu_code: str,
        vat_number: str,
        name: str,
        address: Address | str,
        address2: str | None = None,
        *,
        country: str | None = None,
        email: str | None = None,
        phone: str | None = None,
    ) -> Party:
        """A party identified by an EU VAT number (``KodUE`` + ``NrVatUE``).

        ``country`` of the address defaults to ``eu_code`` (``EL`` -> ``GR``, ``XI`` -> ``GB``).
        """
        default_country = {"EL": "GR", "XI": "GB"}.get(eu_code, eu_code)
        return cls(
            name=name,
            address=_address(address, address2, country or default_country),
            eu_code=eu_code,
            eu_vat_number=vat_number,
            contacts=_contacts(email, phone),
        )

    @classmethod
    def foreign(
        cls,
        country_code: str,
        tax_id: str,
        name: str,
        address: Address | str,
        address2: str | None = None,
        *,
        email: str | None = None,
        phone: str | None = None,
    ) -> Party:
        """A party identified by another country's tax id (``KodKraju`` + ``NrID``)."""
        return cls(
            name=name,
            address=_address(address, address2, country_code),
            country_code=country_code,
            tax_id=tax_id,
            contacts=_contacts(email, phone),
        )

    @classmethod
    def person(
        cls,
        name: str | None,
        address: Address | str | None = None,
        address2: str | None = None,
        *,
        country: str = "PL",
        email: str | None = None,
        phone: str | None = None,
    ) -> Party:
        """A party without a tax identifier (``BrakID``), e.g. a consumer."""
        return cls(
            name=name,
            address=_address(address, address2, country),
            contacts=_contacts(email, phone),
        )

    def party_id(self) -> PartyId:
        """The ``TPodmiot2`` identity (buyer, corrected buyer, carrier)."""
        return PartyId(
            nip=self.nip,
            eu_code=self.eu_code,
            eu_vat_number=self.eu_vat_number,
            country_code=self.country_code,
            tax_id=self.tax_id,
            no_id=not (self.nip or self.eu_vat_number or self.tax_id),
            name=self.name,
        )

    def seller(self) -> Seller:
        """This party as ``Podmiot1`` (it needs a NIP, a name and an address)."""
        if not self.nip or not self.name or self.address is None:
            raise ConfigurationError("the seller needs a NIP, a name and an address")
        return Seller(
            eu_prefix=self.eu_prefix,
            identity=SellerId(nip=self.nip, name=self.name),
            address=self.address,
            contacts=self.contacts,
        )

    def buyer(
        self, *, jst: bool = False, vat_group: bool = False, customer_number: str | None = None
    ) -> Buyer:
        """This party as ``Podmiot2``."""
        return Buyer(
            identity=self.party_id(),
            address=self.address,
            contacts=self.contacts,
            customer_number=customer_number,
            jst=jst,
            vat_group=vat_group,
        )

    def third_party(
        self,
        role: ThirdPartyRole | None = None,
        *,
        role_description: str | None = None,
        share: Decimal | None = None,
    ) -> ThirdParty:
        """This party as ``Podmiot3`` with a ``role`` (or ``role_description`` for another)."""
        if (role is None) == (role_description is None):
            raise ConfigurationError("a third party needs either a role or a role_description")
        ident = self.party_id()
        return ThirdParty(
            identity=ThirdPartyId(
                nip=ident.nip,
                eu_code=ident.eu_code,
                eu_vat_number=ident.eu_vat_number,
                country_code=ident.country_code,
                tax_id=ident.tax_id,
                no_id=ident.no_id,
                name=ident.name,
            ),
            address=self.address,
            contacts=self.contacts,
            role=role,
            other_role=role_description is not None,
            role_description=role_description,
            share=share,
        )

    def carrier(self) -> Carrier:
        """This party as a ``Przewoznik`` (needs an address)."""
        if self.address is None:
            raise ConfigurationError("a carrier needs an address")
        return Carrier(identity=self.party_id(), address=self.address)


class InvoiceBuilder:
    """Builds an :class:`~ksefkit.fa3.model.Invoice` step by step; every method returns the
    builder, :meth:`build` returns the (immutable) invoice. See the module docstring."""

    def __init__(
        self,
        *,
        seller: Party | Seller,
        buyer: Party | Buyer,
        currency: str = "PLN",
        exchange_rate: Decimal | None = None,
    ) -> None:
        self._seller = seller.seller() if isinstance(seller, Party) else seller
        self._buyer = buyer.buyer() if isinstance(buyer, Party) else buyer
        self._currency = currency
        self._exchange_rate = exchange_rate
        self._number: str | None = None
        self._issue_date: datetime.date | None = None
        self._issue_place: str | None = None
        self._sale_date: datetime.date | None = None
        self._period: Period | None = None
        self._created_at: datetime.datetime | None = None
        self._system_info: str | None = "ksefkit"
        self._type = InvoiceType.VAT
        self._lines: list[InvoiceLine] = []
        self._third_parties: list[ThirdParty] = []
        self._annotations = Annotations()
        self._overrides: dict[str, Decimal] = {}
        self._notes: list[ExtraInfo] = []
        self._warehouse_documents: list[str] = []
        self._for_receipt = False
        self._related_parties = False
        # corrections
        self._correction = False
        self._correction_reason: str | None = None
        self._correction_type: CorrectionType | None = None
        self._corrected: list[CorrectedInvoice] = []
        self._paid_before_correction: Decimal | None = None
        self._rate_before_correction: Decimal | None = None
        # advances
        self._advances: list[tuple[VatRate, Decimal]] = []
        self._order_lines: list[OrderLine] = []
        self._order_value: Decimal | None = None
        self._advance_refs: list[AdvanceInvoiceRef] = []
        self._advances_paid: list[tuple[VatRate, Decimal]] = []
        # payment
        self._payment: dict[str, Any] = {}
        self._due_dates: list[DueDate] = []
        self._partial_payments: list[PartialPayment] = []
        self._accounts: list[BankAccount] = []
        self._factor_accounts: list[BankAccount] = []
        # terms, settlement, footer, attachment
        self._contracts: list[ContractRef] = []
        self._orders: list[OrderRef] = []
        self._batch_numbers: list[str] = []
        self._delivery_terms: str | None = None
        self._transports: list[Transport] = []
        self._charges: list[SettlementItem] = []
        self._deductions: list[SettlementItem] = []
        self._footer_info: list[FooterInfo] = []
        self._registries: list[Registry] = []
        self._blocks: list[DataBlock] = []

    # ------------------------------------------------------------------ identity and dates

    def number(self, number: str) -> InvoiceBuilder:
        """``P_2``: the invoice number."""
        if not number.strip():
            raise ConfigurationError("the invoice number (P_2) must not be empty")
        self._number = number
        return self

    def issued(self, date: datetime.date, place: str | None = None) -> InvoiceBuilder:
        """``P_1`` (issue date) and ``P_1M`` (place of issue)."""
        self._issue_date, self._issue_place = date, place
        return self

    def sold(self, date: datetime.date) -> InvoiceBuilder:
        """``P_6``: date of supply, or of receiving the payment (advance invoices)."""
        self._sale_date, self._period = date, None
        return self

    def period(self, start: datetime.date, end: datetime.date) -> InvoiceBuilder:
        """``OkresFa``: the period the invoice covers (instead of ``P_6``)."""
        if end < start:
            raise ConfigurationError(f"the period ends ({end}) before it starts ({start})")
        self._period, self._sale_date = Period(start=start, end=end), None
        return self

    def created(self, at: datetime.datetime) -> InvoiceBuilder:
        """``DataWytworzeniaFa`` (default: the time of :meth:`build`); timezone-aware."""
        if at.tzinfo is None:
            raise ConfigurationError("DataWytworzeniaFa must be timezone-aware")
        self._created_at = at
        return self

    def system_info(self, name: str | None) -> InvoiceBuilder:
        """``SystemInfo`` (default ``ksefkit``; None leaves it out)."""
        self._system_info = name
        return self

    def currency(self, code: str, exchange_rate: Decimal | None = None) -> InvoiceBuilder:
        """``KodWaluty``; with ``exchange_rate`` every line gets ``KursWaluty`` (unless it
        has its own; on an advance invoice the rate is ``KursWalutyZ``) and ``P_14_xW``
        (VAT in PLN) is computed."""
        if len(code) != 3 or not code.isalpha() or not code.isupper():
            raise ConfigurationError(f"currency must be an ISO 4217 code, not {code!r}")
        self._currency, self._exchange_rate = code, exchange_rate
        return self

    # ------------------------------------------------------------------------------ lines

    def _next_line_number(self) -> int:
        # A "before correction" line takes the number its corrected twin will get, as the
        # official samples do (StanPrzed line 1, then the new line 1).
        return sum(1 for line in self._lines if not line.before_correction) + 1

    def line(
        self,
        name: str,
        quantity: Decimal,
        unit_net_price: Decimal,
        vat_rate: VatRate | int | str = VatRate.R23,
        unit: str | None = "szt.",
        *,
        discount: Decimal | None = None,
        net_amount: Decimal | None = None,
        before_correction: bool = False,
        number: int | None = None,
        **extra: Any,
    ) -> InvoiceBuilder:
        """A net-priced line: ``P_11`` = ``quantity`` × ``unit_net_price`` − ``discount``,
        rounded half-up to grosze (unless ``net_amount`` is given).

        ``extra`` sets any other :class:`InvoiceLine` field (``gtu``, ``cn``, ``uuid``,
        ``sale_date``, ``index``, ``exchange_rate``, ...).
        """
        if net_amount is None:
            net_amount = round_grosze(quantity * unit_net_price - (discount or Decimal(0)))
        return self.add_line(
            InvoiceLine(
                number=number or self._next_line_number(),
                name=name,
                unit=unit,
                quantity=quantity,
                unit_net_price=unit_net_price,
                discount=discount,
                net_amount=net_amount,
                vat_rate=_rate_or_none(vat_rate),
                before_correction=before_correction,
                **extra,
            )
        )

    def gross_line(
        self,
        name: str,
        quantity: Decimal,
        unit_gross_price: Decimal,
        vat_rate: VatRate | int | str | None = VatRate.R23,
        unit: str | None = "szt.",
        *,
        gross_amount: Decimal | None = None,
        before_correction: bool = False,
        number: int | None = None,
        **extra: Any,
    ) -> InvoiceBuilder:
        """A gross-priced line (``P_9B``/``P_11A``, art. 106e ust. 7-8). ``vat_rate=None``
        leaves ``P_12`` out: a margin-scheme line (totals go to ``P_13_11``)."""
        if gross_amount is None:
            gross_amount = round_grosze(quantity * unit_gross_price)
        return self.add_line(
            InvoiceLine(
                number=number or self._next_line_number(),
                name=name,
                unit=unit,
                quantity=quantity,
                unit_gross_price=unit_gross_price,
                gross_amount=gross_amount,
                vat_rate=_rate_or_none(vat_rate),
                before_correction=before_correction,
                **extra,
            )
        )

    def add_line(self, line: InvoiceLine) -> InvoiceBuilder:
        """Add a ready :class:`InvoiceLine` as is."""
        self._lines.append(line)
        return self

    def totals(self, **amounts: Decimal) -> InvoiceBuilder:
        """Give totals explicitly, by ``InvoiceData`` attribute (``net_standard=...``,
        ``vat_standard=...``, ``total=...``); they replace the computed ones."""
        unknown = sorted(set(amounts) - _TOTAL_FIELDS)
        if unknown:
            raise ConfigurationError(f"not total fields: {', '.join(unknown)}")
        self._overrides.update(amounts)
        return self

    # ------------------------------------------------------------------------ annotations

    def annotate(
        self,
        *,
        cash_accounting: bool | None = None,
        self_billing: bool | None = None,
        reverse_charge: bool | None = None,
        split_payment: bool | None = None,
        simplified_procedure: bool | None = None,
    ) -> InvoiceBuilder:
        """Set ``P_16`` (cash accounting), ``P_17`` (self-billing), ``P_18`` (reverse
        charge), ``P_18A`` (split payment), ``P_23`` (simplified triangular procedure)."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("cash_accounting", cash_accounting),
                ("self_billing", self_billing),
                ("reverse_charge", reverse_charge),
                ("split_payment", split_payment),
                ("simplified_procedure", simplified_procedure),
            )
            if value is not None
        }
        self._annotations = dataclasses.replace(self._annotations, **changes)
        return self

    def exempt(
        self,
        *,
        basis_act: str | None = None,
        basis_directive: str | None = None,
        basis_other: str | None = None,
    ) -> InvoiceBuilder:
        """``P_19``: an exempt supply, with exactly one legal basis (``P_19A``/``B``/``C``)."""
        if sum(b is not None for b in (basis_act, basis_directive, basis_other)) != 1:
            raise ConfigurationError("an exemption (P_19) needs exactly one legal basis")
        exemption = Exemption(
            exempt=True,
            basis_act=basis_act,
            basis_directive=basis_directive,
            basis_other=basis_other,
        )
        self._annotations = dataclasses.replace(self._annotations, exemption=exemption)
        return self

    def margin(self, kind: str) -> InvoiceBuilder:
        """``P_PMarzy``: margin scheme of ``kind`` travel, used_goods, works_of_art or
        antiques. Add its lines with :meth:`gross_line` and ``vat_rate=None``."""
        if kind not in _MARGIN_KINDS:
            raise ConfigurationError(f"margin kind must be one of {', '.join(_MARGIN_KINDS)}")
        scheme = MarginScheme(applies=True, **{kind: True})
        self._annotations = dataclasses.replace(self._annotations, margin=scheme)
        return self

    # ---------------------------------------------------------------------------- parties

    def third_party(
        self,
        party: Party | ThirdParty,
        role: ThirdPartyRole | None = None,
        *,
        role_description: str | None = None,
        share: Decimal | None = None,
    ) -> InvoiceBuilder:
        """``Podmiot3``: a factor, recipient, additional buyer, payer, ..."""
        if isinstance(party, Party):
            party = party.third_party(role, role_description=role_description, share=share)
        self._third_parties.append(party)
        return self

    # ------------------------------------------------------------------------ corrections

    def correction(
        self, *, reason: str | None = None, kind: CorrectionType | None = None
    ) -> InvoiceBuilder:
        """Make this a correction (KOR; KOR_ZAL / KOR_ROZ when the invoice is an advance /
        settlement one) with ``PrzyczynaKorekty`` and ``TypKorekty``. Name the corrected
        invoices with :meth:`corrects`; lines with ``before_correction=True`` count
        negatively in the totals."""
        self._correction = True
        self._correction_reason, self._correction_type = reason, kind
        return self

    def corrects(
        self, number: str, issue_date: datetime.date, ksef_number: str | None = None
    ) -> InvoiceBuilder:
        """``DaneFaKorygowanej``: a corrected invoice (its KSeF number, or none if it was
        issued outside KSeF)."""
        self._corrected.append(
            CorrectedInvoice(
                issue_date=issue_date,
                number=number,
                in_ksef=ksef_number is not None,
                ksef_number=ksef_number,
                outside_ksef=ksef_number is None,
            )
        )
        return self

    def paid_before_correction(
        self, amount: Decimal, exchange_rate: Decimal | None = None
    ) -> InvoiceBuilder:
        """``P_15ZK`` (and ``KursWalutyZK``): the amount paid before the correction."""
        self._paid_before_correction, self._rate_before_correction = amount, exchange_rate
        return self

    # --------------------------------------------------------------------------- advances

    def advance_payment(
        self, gross: Decimal, vat_rate: VatRate | int | str = VatRate.R23
    ) -> InvoiceBuilder:
        """Make this an advance invoice (ZAL) for a payment of ``gross`` at ``vat_rate``
        (call once per rate); totals are the payment split into net and VAT."""
        self._type = InvoiceType.ZAL
        self._advances.append((_taxed_rate(vat_rate), gross))
        return self

    def order_line(
        self,
        name: str,
        quantity: Decimal,
        unit_net_price: Decimal,
        vat_rate: VatRate | int | str = VatRate.R23,
        unit: str | None = None,
        *,
        before_correction: bool = False,
        number: int | None = None,
        **extra: Any,
    ) -> InvoiceBuilder:
        """A ``ZamowienieWiersz`` of the order an advance invoice is for; ``P_11NettoZ``,
        ``P_11VatZ`` and ``WartoscZamowienia`` are computed."""
        rate = _rate_or_none(vat_rate)
        net = round_grosze(quantity * unit_net_price)
        percent = rate.percent if rate is not None else None
        if number is None:
            number = sum(1 for o in self._order_lines if not o.before_correction) + 1
        self._order_lines.append(
            OrderLine(
                number=number,
                name=name,
                unit=unit,
                quantity=quantity,
                unit_net_price=unit_net_price,
                net_amount=net,
                vat_amount=vat_of(net, percent) if percent is not None else None,
                vat_rate=rate,
                before_correction=before_correction,
                **extra,
            )
        )
        return self

    def order_value(self, value: Decimal) -> InvoiceBuilder:
        """``WartoscZamowienia`` given explicitly (default: the order lines' net + VAT)."""
        self._order_value = value
        return self

    def settles_advance(
        self,
        ksef_number: str | None = None,
        *,
        number: str | None = None,
        paid: Mapping[VatRate | int | str, Decimal] | None = None,
    ) -> InvoiceBuilder:
        """Make this a settlement invoice (ROZ) for an advance invoice (``FakturaZaliczkowa``:
        its KSeF number, or its ``number`` if issued outside KSeF). ``paid`` maps each VAT
        rate to the gross amount already invoiced as advances; it is taken off the totals."""
        if (ksef_number is None) == (number is None):
            raise ConfigurationError("name the advance invoice by ksef_number or by number")
        self._type = InvoiceType.ROZ
        self._advance_refs.append(
            AdvanceInvoiceRef(
                outside_ksef=ksef_number is None, number=number, ksef_number=ksef_number
            )
        )
        for rate, gross in (paid or {}).items():
            self._advances_paid.append((_taxed_rate(rate), gross))
        return self

    # ---------------------------------------------------------------------------- payment

    def payment(
        self,
        *,
        due: datetime.date | None = None,
        method: PaymentMethod | None = None,
        account: str | None = None,
        bank_name: str | None = None,
        swift: str | None = None,
        link: str | None = None,
    ) -> InvoiceBuilder:
        """``Platnosc``: a due date, the method (``FormaPlatnosci``) and an account."""
        if due is not None:
            self._due_dates.append(DueDate(date=due))
        if method is not None:
            self._payment["method"] = method
        if link is not None:
            self._payment["payment_link"] = link
        if account is not None:
            self.bank_account(account, bank_name=bank_name, swift=swift)
        return self

    def due_after(self, amount: int, unit: str, start_event: str) -> InvoiceBuilder:
        """A due date described as ``amount`` ``unit`` after ``start_event`` (``TerminOpis``)."""
        description = DueDateDescription(amount=amount, unit=unit, start_event=start_event)
        self._due_dates.append(DueDate(description=description))
        return self

    def bank_account(
        self,
        number: str,
        *,
        bank_name: str | None = None,
        swift: str | None = None,
        description: str | None = None,
        own_bank_account: OwnBankAccount | None = None,
        factor: bool = False,
    ) -> InvoiceBuilder:
        """``RachunekBankowy`` (or ``RachunekBankowyFaktora`` with ``factor=True``)."""
        account = BankAccount(
            number=number,
            swift=swift,
            own_bank_account=own_bank_account,
            bank_name=bank_name,
            description=description,
        )
        (self._factor_accounts if factor else self._accounts).append(account)
        return self

    def paid(self, date: datetime.date, method: PaymentMethod | None = None) -> InvoiceBuilder:
        """``Zaplacono`` on ``DataZaplaty``: paid in full."""
        self._payment.update(paid=True, payment_date=date)
        if method is not None:
            self._payment["method"] = method
        return self

    def partial_payment(
        self, amount: Decimal, date: datetime.date, method: PaymentMethod | None = None
    ) -> InvoiceBuilder:
        """``ZaplataCzesciowa``: a part paid before the invoice was issued."""
        self._payment["partially_paid"] = True
        self._partial_payments.append(
            PartialPayment(amount=amount, payment_date=date, method=method)
        )
        return self

    # -------------------------------------------------------------------- terms and extras

    def note(self, key: str, value: str, *, line: int | None = None) -> InvoiceBuilder:
        """``DodatkowyOpis``: a key/value note (for one line with ``line``)."""
        self._notes.append(ExtraInfo(line_number=line, key=key, value=value))
        return self

    def order_ref(
        self, number: str | None = None, date: datetime.date | None = None
    ) -> InvoiceBuilder:
        """``WarunkiTransakcji/Zamowienia``: the buyer's order."""
        self._orders.append(OrderRef(date=date, number=number))
        return self

    def contract_ref(
        self, number: str | None = None, date: datetime.date | None = None
    ) -> InvoiceBuilder:
        """``WarunkiTransakcji/Umowy``: the contract."""
        self._contracts.append(ContractRef(date=date, number=number))
        return self

    def delivery(
        self, *, terms: str | None = None, batch_numbers: Iterable[str] = ()
    ) -> InvoiceBuilder:
        """``WarunkiDostawy`` and ``NrPartiiTowaru``."""
        if terms is not None:
            self._delivery_terms = terms
        self._batch_numbers.extend(batch_numbers)
        return self

    def transport(self, transport: Transport) -> InvoiceBuilder:
        """``Transport``: see :class:`~ksefkit.fa3.model.Transport` (carrier via
        :meth:`Party.carrier`)."""
        self._transports.append(transport)
        return self

    def warehouse_document(self, number: str) -> InvoiceBuilder:
        """``WZ``: a dispatch note number."""
        self._warehouse_documents.append(number)
        return self

    def for_receipt(self) -> InvoiceBuilder:
        """``FP``: an invoice issued for a till receipt (art. 109 ust. 3d)."""
        self._for_receipt = True
        return self

    def related_parties(self) -> InvoiceBuilder:
        """``TP``: seller and buyer are related."""
        self._related_parties = True
        return self

    def settlement(
        self,
        *,
        charges: Iterable[tuple[Decimal, str]] = (),
        deductions: Iterable[tuple[Decimal, str]] = (),
    ) -> InvoiceBuilder:
        """``Rozliczenie``: ``(amount, reason)`` charges added to and deductions taken from
        ``P_15``; the sums and ``DoZaplaty`` / ``DoRozliczenia`` are computed."""
        self._charges.extend(SettlementItem(amount=a, reason=r) for a, r in charges)
        self._deductions.extend(SettlementItem(amount=a, reason=r) for a, r in deductions)
        return self

    def footer(
        self,
        text: str | None = None,
        *,
        krs: str | None = None,
        regon: str | None = None,
        bdo: str | None = None,
        full_name: str | None = None,
    ) -> InvoiceBuilder:
        """``Stopka``: free text and register numbers."""
        if text is not None:
            self._footer_info.append(FooterInfo(text=text))
        if any(v is not None for v in (krs, regon, bdo, full_name)):
            self._registries.append(Registry(full_name=full_name, krs=krs, regon=regon, bdo=bdo))
        return self

    def attachment(self, *blocks: DataBlock) -> InvoiceBuilder:
        """``Zalacznik``: data blocks (key/value metadata, text, tables)."""
        self._blocks.extend(blocks)
        return self

    # ------------------------------------------------------------------------------ build

    def _invoice_type(self) -> InvoiceType:
        if not self._correction:
            return self._type
        return {
            InvoiceType.ZAL: InvoiceType.KOR_ZAL,
            InvoiceType.ROZ: InvoiceType.KOR_ROZ,
        }.get(self._type, InvoiceType.KOR)

    def _totals(self) -> dict[str, Decimal]:
        rate = self._exchange_rate
        if self._type is InvoiceType.ZAL and self._advances:
            lines = [
                InvoiceLine(number=i, gross_amount=gross, vat_rate=r)
                for i, (r, gross) in enumerate(self._advances, start=1)
            ]
            totals = compute_totals(lines, exchange_rate=rate)
        else:
            lines = [*self._lines]
            # Advances already invoiced count like "before" lines: their net and VAT
            # (split from the gross paid) come off the settlement invoice's totals.
            for r, gross in self._advances_paid:
                net, _vat = split_gross(gross, _percent(r))
                lines.append(
                    InvoiceLine(number=0, net_amount=net, vat_rate=r, before_correction=True)
                )
            totals = compute_totals(lines, exchange_rate=rate)
        totals.update(self._overrides)
        return totals

    def build(self) -> Invoice:
        """The finished invoice. Raises ConfigurationError when the number or the issue
        date is missing, or a correction names no corrected invoice."""
        if self._number is None:
            raise ConfigurationError("the invoice needs a number (P_2): call .number()")
        if self._issue_date is None:
            raise ConfigurationError("the invoice needs an issue date (P_1): call .issued()")
        invoice_type = self._invoice_type()
        if invoice_type.is_correction and not self._corrected:
            raise ConfigurationError("a correction needs the corrected invoice: .corrects()")
        totals: dict[str, Any] = dict(self._totals())
        total: Decimal = totals.pop("total")
        lines = self._lines
        if self._exchange_rate is not None:
            lines = [
                line
                if line.exchange_rate is not None
                else dataclasses.replace(line, exchange_rate=self._exchange_rate)
                for line in lines
            ]
        created = self._created_at or datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        fa = InvoiceData(
            currency=self._currency,
            issue_date=self._issue_date,
            issue_place=self._issue_place,
            number=self._number,
            warehouse_documents=tuple(self._warehouse_documents),
            sale_date=self._sale_date,
            period=self._period,
            total=total,
            # An advance invoice has no lines to carry KursWaluty: its rate is KursWalutyZ.
            advance_exchange_rate=self._exchange_rate if invoice_type is InvoiceType.ZAL else None,
            annotations=self._annotations,
            invoice_type=invoice_type,
            correction_reason=self._correction_reason,
            correction_type=self._correction_type,
            corrected_invoices=tuple(self._corrected),
            paid_before_correction=self._paid_before_correction,
            exchange_rate_before_correction=self._rate_before_correction,
            for_receipt=self._for_receipt,
            related_parties=self._related_parties,
            extra_info=tuple(self._notes),
            advance_invoices=tuple(self._advance_refs),
            lines=tuple(lines),
            settlement=self._build_settlement(total),
            payment=self._build_payment(),
            terms=self._build_terms(),
            order=self._build_order(),
            **totals,
        )
        footer = None
        if self._footer_info or self._registries:
            footer = Footer(info=tuple(self._footer_info), registries=tuple(self._registries))
        return Invoice(
            header=Header(created_at=created, system_info=self._system_info),
            seller=self._seller,
            buyer=self._buyer,
            third_parties=tuple(self._third_parties),
            fa=fa,
            footer=footer,
            attachment=Attachment(blocks=tuple(self._blocks)) if self._blocks else None,
        )

    def _build_settlement(self, total: Decimal) -> Settlement | None:
        if not self._charges and not self._deductions:
            return None
        charged = sum((c.amount for c in self._charges), Decimal(0))
        deducted = sum((d.amount for d in self._deductions), Decimal(0))
        due = total + charged - deducted
        return Settlement(
            charges=tuple(self._charges),
            charges_total=charged if self._charges else None,
            deductions=tuple(self._deductions),
            deductions_total=deducted if self._deductions else None,
            amount_due=due if due >= 0 else None,
            amount_to_settle=-due if due < 0 else None,
        )

    def _build_payment(self) -> Payment | None:
        if not (
            self._payment
            or self._due_dates
            or self._partial_payments
            or self._accounts
            or self._factor_accounts
        ):
            return None
        return Payment(
            due_dates=tuple(self._due_dates),
            partial_payments=tuple(self._partial_payments),
            bank_accounts=tuple(self._accounts),
            factor_accounts=tuple(self._factor_accounts),
            **self._payment,
        )

    def _build_terms(self) -> TransactionTerms | None:
        if not (
            self._contracts
            or self._orders
            or self._batch_numbers
            or self._delivery_terms
            or self._transports
        ):
            return None
        return TransactionTerms(
            contracts=tuple(self._contracts),
            orders=tuple(self._orders),
            batch_numbers=tuple(self._batch_numbers),
            delivery_terms=self._delivery_terms,
            transports=tuple(self._transports),
        )

    def _build_order(self) -> AdvanceOrder | None:
        if not self._order_lines and self._order_value is None:
            return None
        value = self._order_value
        if value is None:
            value = sum(
                (
                    (o.net_amount or Decimal(0)) + (o.vat_amount or Decimal(0))
                    for o in self._order_lines
                    if not o.before_correction
                ),
                Decimal(0),
            )
        return AdvanceOrder(value=value, lines=tuple(self._order_lines))


def _rate_or_none(value: VatRate | int | str | None) -> VatRate | None:
    # None is a line without P_12 (margin scheme).
    return None if value is None else vat_rate(value)


def _taxed_rate(value: VatRate | int | str) -> VatRate:
    rate = vat_rate(value)
    if rate.percent is None:
        raise ConfigurationError(f"advances need a taxed VAT rate, not {rate.value!r}")
    return rate


def _percent(rate: VatRate) -> Decimal:
    percent = rate.percent
    if percent is None:
        raise ConfigurationError(f"rate {rate.value!r} has no percentage")
    return percent
