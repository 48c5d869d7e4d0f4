"""A plain HTML rendering of an FA(3) invoice, for people: one self-contained page.

Inline CSS, print-friendly (``@media print``), every text escaped, no scripts, no external
resources. It shows the same data as the XML — parties, dates, lines, the VAT summary per
rate, totals, payment, annotations, corrections, third parties, footer, attachment tables —
and nothing invented: amounts are written as in the XML (Polish notation: ``1 626,01``),
blocks the invoice does not use are left out. Labels are Polish, as on a paper invoice,
each with its XML field name on hover. Parts with no dedicated layout (new means of
transport, transport, ...) are rendered generically from the model, so nothing the model
holds is dropped.

>>> from ksefkit import fa3
>>> html = fa3.render_html(fa3.parse(xml_bytes))  # doctest: +SKIP
>>> format_value(Decimal("1626.01")), format_value(Decimal("-2051"))
('1\\xa0626,01', '-2\\xa0051')
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import html
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ._xml import xml_name
from .model import (
    Address,
    AttachmentMeta,
    AuthorizedEntity,
    AuthorizedRole,
    Buyer,
    CargoType,
    CorrectedBuyer,
    CorrectedSeller,
    CorrectionType,
    DataBlock,
    Invoice,
    InvoiceData,
    InvoiceLine,
    InvoiceType,
    OrderLine,
    OwnBankAccount,
    PartyId,
    PaymentMethod,
    Seller,
    SellerId,
    Table,
    TableMeta,
    TaxpayerStatus,
    ThirdParty,
    ThirdPartyId,
    ThirdPartyRole,
    TransportType,
    VatRate,
)

__all__ = ["format_value", "label", "render_html"]

_NBSP = "\u00a0"

# ---------------------------------------------------------------------------- values

# Keyed by (enum class, code): members of different code lists compare equal ("1" == "1").
_ENUM_LABEL_LIST: tuple[tuple[enum.Enum, str], ...] = (
    (InvoiceType.VAT, "Faktura VAT"),
    (InvoiceType.KOR, "Faktura korygująca"),
    (InvoiceType.ZAL, "Faktura zaliczkowa"),
    (InvoiceType.ROZ, "Faktura rozliczeniowa"),
    (InvoiceType.UPR, "Faktura uproszczona"),
    (InvoiceType.KOR_ZAL, "Faktura korygująca fakturę zaliczkową"),
    (InvoiceType.KOR_ROZ, "Faktura korygująca fakturę rozliczeniową"),
    (PaymentMethod.CASH, "gotówka"),
    (PaymentMethod.CARD, "karta"),
    (PaymentMethod.VOUCHER, "bon"),
    (PaymentMethod.CHEQUE, "czek"),
    (PaymentMethod.CREDIT, "kredyt"),
    (PaymentMethod.TRANSFER, "przelew"),
    (PaymentMethod.MOBILE, "płatność mobilna"),
    (CorrectionType.ORIGINAL_DATE, "w dacie ujęcia faktury pierwotnej"),
    (CorrectionType.CORRECTION_DATE, "w dacie wystawienia faktury korygującej"),
    (CorrectionType.OTHER_DATE, "w innej dacie"),
    (ThirdPartyRole.FACTOR, "faktor"),
    (ThirdPartyRole.RECIPIENT, "odbiorca"),
    (ThirdPartyRole.ORIGINAL_ENTITY, "podmiot pierwotny"),
    (ThirdPartyRole.ADDITIONAL_BUYER, "dodatkowy nabywca"),
    (ThirdPartyRole.ISSUER, "wystawca faktury"),
    (ThirdPartyRole.PAYER, "dokonujący płatności"),
    (ThirdPartyRole.JST_ISSUER, "JST - wystawca"),
    (ThirdPartyRole.JST_RECIPIENT, "JST - odbiorca"),
    (ThirdPartyRole.VAT_GROUP_ISSUER, "członek grupy VAT - wystawca"),
    (ThirdPartyRole.VAT_GROUP_RECIPIENT, "członek grupy VAT - odbiorca"),
    (ThirdPartyRole.EMPLOYEE, "pracownik"),
    (AuthorizedRole.ENFORCEMENT_AUTHORITY, "organ egzekucyjny"),
    (AuthorizedRole.BAILIFF, "komornik sądowy"),
    (AuthorizedRole.TAX_REPRESENTATIVE, "przedstawiciel podatkowy"),
    (TaxpayerStatus.LIQUIDATION, "stan likwidacji"),
    (TaxpayerStatus.RESTRUCTURING, "postępowanie restrukturyzacyjne"),
    (TaxpayerStatus.BANKRUPTCY, "stan upadłości"),
    (TaxpayerStatus.ESTATE, "przedsiębiorstwo w spadku"),
    (OwnBankAccount.RECEIVABLES_SETTLEMENT, "rachunek banku do rozliczeń należności"),
    (OwnBankAccount.COLLECTION, "rachunek banku do pobierania należności"),
    (OwnBankAccount.OWN_ECONOMY, "rachunek własny banku"),
    (TransportType.SEA, "morski"),
    (TransportType.RAIL, "kolejowy"),
    (TransportType.ROAD, "drogowy"),
    (TransportType.AIR, "lotniczy"),
    (TransportType.POST, "przesyłka pocztowa"),
    (TransportType.FIXED_INSTALLATION, "stałe instalacje przesyłowe"),
    (TransportType.INLAND_WATERWAY, "żegluga śródlądowa"),
    (CargoType.CAN, "bańka"),
    (CargoType.BARREL, "beczka"),
    (CargoType.CYLINDER, "butla"),
    (CargoType.CARTON, "karton"),
    (CargoType.JERRYCAN, "kanister"),
    (CargoType.CAGE, "klatka"),
    (CargoType.CONTAINER, "kontener"),
    (CargoType.BASKET, "kosz/koszyk"),
    (CargoType.PUNNET, "łubianka"),
    (CargoType.MULTIPACK, "opakowanie zbiorcze"),
    (CargoType.PARCEL, "paczka"),
    (CargoType.PACKAGE, "pakiet"),
    (CargoType.PALLET, "paleta"),
    (CargoType.RECEPTACLE, "pojemnik"),
    (CargoType.BULK_SOLID_CONTAINER, "pojemnik do ładunków masowych stałych"),
    (CargoType.BULK_LIQUID_CONTAINER, "pojemnik do ładunków masowych w postaci płynnej"),
    (CargoType.BOX, "pudełko"),
    (CargoType.TIN, "puszka"),
    (CargoType.CRATE, "skrzynia"),
    (CargoType.SACK, "worek"),
)
_ENUM_LABELS = {(type(member), member.value): text for member, text in _ENUM_LABEL_LIST}


def _decimal(value: Decimal) -> str:
    # The digits as written in the XML, grouped by thousands with a no-break space and a
    # decimal comma: "1626.01" -> "1 626,01", "2051" -> "2 051".
    text = format(value, "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    grouped = _NBSP.join(groups)
    return f"{sign}{grouped},{fraction}" if fraction else f"{sign}{grouped}"


def format_value(value: object) -> str:
    """How a model value is shown: Polish number notation (the digits as written), ISO
    dates, date-times as written, code lists by name (VAT rates by code), yes/no flags as
    "tak"/"nie".

    >>> format_value(VatRate.R23), format_value(VatRate.ZERO_WDT), format_value(True)
    ('23%', '0% WDT', 'tak')
    >>> format_value(PaymentMethod.TRANSFER), format_value(datetime.date(2026, 2, 1))
    ('przelew', '2026-02-01')
    """
    if isinstance(value, bool):
        return "tak" if value else "nie"
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, VatRate):
        head, _, tail = value.value.partition(" ")
        return f"{head}%" + (f" {tail}" if tail else "") if head.isdigit() else value.value
    if isinstance(value, enum.Enum):
        return _ENUM_LABELS.get((type(value), value.value), str(value.value))
    if isinstance(value, datetime.datetime):
        written = getattr(value, "written", None)
        return written if isinstance(written, str) else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------- labels

_LABELS: dict[str, str] = {
    # header
    "Header.form_code": "Formularz",
    "Header.variant": "Wariant formularza",
    "Header.created_at": "Data wytworzenia",
    "Header.system_info": "System",
    "FormCodeValue.system_code": "Kod systemowy",
    "FormCodeValue.schema_version": "Wersja schemy",
    "FormCodeValue.value": "Kod formularza",
    # parties
    "Seller.eu_prefix": "Prefiks VAT UE",
    "Seller.eori": "Numer EORI",
    "Seller.correspondence_address": "Adres korespondencyjny",
    "Seller.taxpayer_status": "Status podatnika",
    "Buyer.eori": "Numer EORI",
    "Buyer.correspondence_address": "Adres korespondencyjny",
    "Buyer.customer_number": "Numer klienta",
    "Buyer.buyer_id": "ID nabywcy",
    "Buyer.jst": "Jednostka podrzędna JST",
    "Buyer.vat_group": "Członek grupy VAT",
    "ThirdParty.buyer_id": "ID nabywcy",
    "ThirdParty.eori": "Numer EORI",
    "ThirdParty.correspondence_address": "Adres korespondencyjny",
    "ThirdParty.role": "Rola",
    "ThirdParty.other_role": "Inna rola",
    "ThirdParty.role_description": "Opis roli",
    "ThirdParty.share": "Udział %",
    "ThirdParty.customer_number": "Numer klienta",
    "AuthorizedEntity.eori": "Numer EORI",
    "AuthorizedEntity.correspondence_address": "Adres korespondencyjny",
    "AuthorizedEntity.role": "Rola",
    "CorrectedSeller.eu_prefix": "Prefiks VAT UE",
    "CorrectedBuyer.buyer_id": "ID nabywcy",
    "SellerId.nip": "NIP",
    "PartyId.nip": "NIP",
    "PartyId.eu_code": "Kod UE",
    "PartyId.eu_vat_number": "Numer VAT UE",
    "PartyId.country_code": "Kraj",
    "PartyId.tax_id": "Numer identyfikacyjny",
    "PartyId.no_id": "Brak identyfikatora",
    "ThirdPartyId.nip": "NIP",
    "ThirdPartyId.internal_id": "Identyfikator wewnętrzny",
    "ThirdPartyId.eu_code": "Kod UE",
    "ThirdPartyId.eu_vat_number": "Numer VAT UE",
    "ThirdPartyId.country_code": "Kraj",
    "ThirdPartyId.tax_id": "Numer identyfikacyjny",
    "ThirdPartyId.no_id": "Brak identyfikatora",
    "Address.gln": "GLN",
    "Contact.email": "E-mail",
    "Contact.phone": "Telefon",
    "AuthorizedContact.email": "E-mail",
    "AuthorizedContact.phone": "Telefon",
    "Carrier.identity": "Dane identyfikacyjne",
    "Carrier.address": "Adres przewoźnika",
    "PartyId.name": "Nazwa",
    "ThirdPartyId.name": "Nazwa",
    "SellerId.name": "Nazwa",
    # invoice data
    "InvoiceData.currency": "Waluta",
    "InvoiceData.issue_date": "Data wystawienia",
    "InvoiceData.issue_place": "Miejsce wystawienia",
    "InvoiceData.number": "Numer faktury",
    "InvoiceData.warehouse_documents": "Dokumenty WZ",
    "InvoiceData.sale_date": "Data dostawy / wykonania usługi",
    "InvoiceData.period": "Okres, którego dotyczy faktura",
    "InvoiceData.total": "Kwota należności ogółem",
    "InvoiceData.advance_exchange_rate": "Kurs waluty (zaliczka)",
    "InvoiceData.invoice_type": "Rodzaj faktury",
    "InvoiceData.correction_reason": "Przyczyna korekty",
    "InvoiceData.correction_type": "Skutek korekty w ewidencji VAT",
    "InvoiceData.corrected_invoices": "Faktura korygowana",
    "InvoiceData.corrected_period": "Okres, którego dotyczy rabat",
    "InvoiceData.corrected_number": "Poprawny numer faktury korygowanej",
    "InvoiceData.corrected_seller": "Dane sprzedawcy z faktury korygowanej",
    "InvoiceData.corrected_buyers": "Dane nabywcy z faktury korygowanej",
    "InvoiceData.paid_before_correction": "Kwota zapłaty przed korektą",
    "InvoiceData.exchange_rate_before_correction": "Kurs waluty przed korektą",
    "InvoiceData.partial_advances": "Zaliczki częściowe",
    "InvoiceData.for_receipt": "Faktura do paragonu (FP)",
    "InvoiceData.related_parties": "Powiązania między nabywcą a sprzedawcą (TP)",
    "InvoiceData.extra_info": "Dodatkowy opis",
    "InvoiceData.advance_invoices": "Faktury zaliczkowe",
    "InvoiceData.excise_refund": "Zwrot akcyzy (rolnicy)",
    "InvoiceData.settlement": "Rozliczenie",
    "InvoiceData.payment": "Płatność",
    "InvoiceData.terms": "Warunki transakcji",
    "InvoiceData.order": "Zamówienie",
    "Period.start": "od",
    "Period.end": "do",
    "CorrectedInvoice.issue_date": "Data wystawienia",
    "CorrectedInvoice.number": "Numer",
    "CorrectedInvoice.in_ksef": "W KSeF",
    "CorrectedInvoice.ksef_number": "Numer KSeF",
    "CorrectedInvoice.outside_ksef": "Wystawiona poza KSeF",
    "PartialAdvance.payment_date": "Data otrzymania płatności",
    "PartialAdvance.amount": "Kwota",
    "PartialAdvance.exchange_rate": "Kurs waluty",
    "ExtraInfo.line_number": "Wiersz",
    "ExtraInfo.key": "Klucz",
    "ExtraInfo.value": "Wartość",
    "AdvanceInvoiceRef.outside_ksef": "Wystawiona poza KSeF",
    "AdvanceInvoiceRef.number": "Numer faktury zaliczkowej",
    "AdvanceInvoiceRef.ksef_number": "Numer KSeF faktury zaliczkowej",
    # lines
    "InvoiceLine.number": "Lp.",
    "InvoiceLine.uuid": "UU_ID",
    "InvoiceLine.sale_date": "Data dostawy",
    "InvoiceLine.name": "Nazwa towaru lub usługi",
    "InvoiceLine.index": "Indeks",
    "InvoiceLine.gtin": "GTIN",
    "InvoiceLine.pkwiu": "PKWiU",
    "InvoiceLine.cn": "CN",
    "InvoiceLine.pkob": "PKOB",
    "InvoiceLine.unit": "J.m.",
    "InvoiceLine.quantity": "Ilość",
    "InvoiceLine.unit_net_price": "Cena jedn. netto",
    "InvoiceLine.unit_gross_price": "Cena jedn. brutto",
    "InvoiceLine.discount": "Rabat",
    "InvoiceLine.net_amount": "Wartość netto",
    "InvoiceLine.gross_amount": "Wartość brutto",
    "InvoiceLine.vat_amount": "Kwota VAT",
    "InvoiceLine.vat_rate": "Stawka",
    "InvoiceLine.oss_vat_rate": "Stawka OSS %",
    "InvoiceLine.annex_15": "Załącznik 15",
    "InvoiceLine.excise_amount": "Kwota akcyzy",
    "InvoiceLine.gtu": "GTU",
    "InvoiceLine.procedure": "Procedura",
    "InvoiceLine.exchange_rate": "Kurs waluty",
    "InvoiceLine.before_correction": "Stan przed korektą",
    "OrderLine.number": "Lp.",
    "OrderLine.uuid": "UU_ID",
    "OrderLine.name": "Nazwa",
    "OrderLine.index": "Indeks",
    "OrderLine.gtin": "GTIN",
    "OrderLine.pkwiu": "PKWiU",
    "OrderLine.cn": "CN",
    "OrderLine.pkob": "PKOB",
    "OrderLine.unit": "J.m.",
    "OrderLine.quantity": "Ilość",
    "OrderLine.unit_net_price": "Cena jedn. netto",
    "OrderLine.net_amount": "Wartość netto",
    "OrderLine.vat_amount": "Kwota VAT",
    "OrderLine.vat_rate": "Stawka",
    "OrderLine.oss_vat_rate": "Stawka OSS %",
    "OrderLine.annex_15": "Załącznik 15",
    "OrderLine.gtu": "GTU",
    "OrderLine.procedure": "Procedura",
    "OrderLine.excise_amount": "Kwota akcyzy",
    "OrderLine.before_correction": "Stan przed korektą",
    "AdvanceOrder.value": "Wartość zamówienia (z VAT)",
    # annotations
    "Annotations.cash_accounting": "Metoda kasowa",
    "Annotations.self_billing": "Samofakturowanie",
    "Annotations.reverse_charge": "Odwrotne obciążenie",
    "Annotations.split_payment": "Mechanizm podzielonej płatności",
    "Annotations.simplified_procedure": "Procedura uproszczona (transakcja trójstronna)",
    "Exemption.exempt": "Sprzedaż zwolniona",
    "Exemption.basis_act": "Podstawa: przepis ustawy",
    "Exemption.basis_directive": "Podstawa: przepis dyrektywy",
    "Exemption.basis_other": "Podstawa: inna",
    "Exemption.none": "Brak sprzedaży zwolnionej",
    "NewVehicles.intra_eu_supply": "WDT nowych środków transportu",
    "NewVehicles.art_42_5": "Obowiązek z art. 42 ust. 5",
    "NewVehicles.none": "Brak WDT nowych środków transportu",
    "NewVehicles.vehicles": "Nowy środek transportu",
    "NewVehicle.admission_date": "Data dopuszczenia do użytku",
    "NewVehicle.line_number": "Wiersz",
    "NewVehicle.make": "Marka",
    "NewVehicle.model": "Model",
    "NewVehicle.colour": "Kolor",
    "NewVehicle.registration_number": "Numer rejestracyjny",
    "NewVehicle.production_year": "Rok produkcji",
    "NewVehicle.mileage": "Przebieg",
    "NewVehicle.vin": "VIN",
    "MarginScheme.applies": "Procedura marży",
    "MarginScheme.travel": "biura podróży",
    "MarginScheme.used_goods": "towary używane",
    "MarginScheme.works_of_art": "dzieła sztuki",
    "MarginScheme.antiques": "przedmioty kolekcjonerskie i antyki",
    "MarginScheme.none": "Brak procedury marży",
    # settlement, payment, terms
    "Settlement.charges": "Obciążenia",
    "Settlement.charges_total": "Suma obciążeń",
    "Settlement.deductions": "Odliczenia",
    "Settlement.deductions_total": "Suma odliczeń",
    "Settlement.amount_due": "Do zapłaty",
    "Settlement.amount_to_settle": "Do rozliczenia",
    "SettlementItem.amount": "Kwota",
    "SettlementItem.reason": "Powód",
    "Payment.paid": "Zapłacono",
    "Payment.payment_date": "Data zapłaty",
    "Payment.partially_paid": "Zapłata częściowa",
    "Payment.partial_payments": "Zapłata częściowa",
    "Payment.due_dates": "Termin płatności",
    "Payment.method": "Forma płatności",
    "Payment.other_method": "Inna forma płatności",
    "Payment.other_method_description": "Opis płatności",
    "Payment.bank_accounts": "Rachunek bankowy",
    "Payment.factor_accounts": "Rachunek bankowy faktora",
    "Payment.discount": "Skonto",
    "Payment.payment_link": "Link do płatności",
    "Payment.ksef_payment_id": "Identyfikator płatności KSeF",
    "PartialPayment.amount": "Kwota",
    "PartialPayment.payment_date": "Data",
    "PartialPayment.method": "Forma płatności",
    "PartialPayment.other_method": "Inna forma płatności",
    "PartialPayment.other_method_description": "Opis płatności",
    "DueDate.date": "Termin",
    "DueDate.description": "Opis terminu",
    "DueDateDescription.amount": "Ilość",
    "DueDateDescription.unit": "Jednostka",
    "DueDateDescription.start_event": "Zdarzenie początkowe",
    "BankAccount.number": "Numer rachunku",
    "BankAccount.swift": "SWIFT",
    "BankAccount.own_bank_account": "Rachunek własny banku",
    "BankAccount.bank_name": "Bank",
    "BankAccount.description": "Opis rachunku",
    "CashDiscount.conditions": "Warunki skonta",
    "CashDiscount.amount": "Wysokość skonta",
    "TransactionTerms.contracts": "Umowa",
    "TransactionTerms.orders": "Zamówienie",
    "TransactionTerms.batch_numbers": "Numery partii towaru",
    "TransactionTerms.delivery_terms": "Warunki dostawy",
    "TransactionTerms.contract_rate": "Kurs umowny",
    "TransactionTerms.contract_currency": "Waluta umowna",
    "TransactionTerms.transports": "Transport",
    "TransactionTerms.intermediary": "Podmiot pośredniczący",
    "ContractRef.date": "Data umowy",
    "ContractRef.number": "Numer umowy",
    "OrderRef.date": "Data zamówienia",
    "OrderRef.number": "Numer zamówienia",
    "Transport.transport_type": "Rodzaj transportu",
    "Transport.carrier": "Przewoźnik",
    "Transport.order_number": "Numer zlecenia transportu",
    "Transport.cargo": "Opis ładunku",
    "Transport.packaging_unit": "Jednostka opakowania",
    "Transport.started_at": "Rozpoczęcie transportu",
    "Transport.ended_at": "Zakończenie transportu",
    "Transport.ship_from": "Wysyłka z",
    "Transport.ship_via": "Wysyłka przez",
    "Transport.ship_to": "Wysyłka do",
    # footer, attachment
    "FooterInfo.text": "Informacje",
    "Registry.full_name": "Pełna nazwa",
    "Registry.krs": "KRS",
    "Registry.regon": "REGON",
    "Registry.bdo": "BDO",
}


def label(cls: type, attribute: str) -> str:
    """The Polish label of a model field (its XML name when it has none).

    >>> label(InvoiceLine, "net_amount"), label(Address, "line1")
    ('Wartość netto', 'AdresL1')
    """
    return _LABELS.get(f"{cls.__name__}.{attribute}") or xml_name(cls, attribute).lstrip("@")


# ---------------------------------------------------------------------------- html bits


def _e(value: object) -> str:
    # Code lists are StrEnums: they go through format_value, not straight out as str.
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        return html.escape(value)
    return html.escape(format_value(value))


def _th(cls: type, attribute: str, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<th{klass} title="{_e(xml_name(cls, attribute))}">{_e(label(cls, attribute))}</th>'


def _shown(value: object) -> bool:
    # False is how an absent TWybor1 marker (and the usual "2" of a yes/no flag) reads.
    return value is not None and value != () and value is not False


def _fields(obj: Any, skip: Iterable[str] = ()) -> list[tuple[str, object]]:
    skipped = set(skip)
    return [
        (f.name, getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.name not in skipped and _shown(getattr(obj, f.name))
    ]


def _value_html(value: object) -> str:
    if isinstance(value, tuple):
        if all(not dataclasses.is_dataclass(item) for item in value):
            return _e(", ".join(format_value(item) for item in value))
        return "".join(_dl(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if isinstance(value, Address):
            return _address(value)
        return _dl(value)
    return _e(value)


def _dl(obj: object, skip: Iterable[str] = ()) -> str:
    """Every shown field of ``obj`` as a definition list (nested objects nested)."""
    rows = "".join(
        f'<dt title="{_e(xml_name(type(obj), name))}">{_e(label(type(obj), name))}</dt>'
        f"<dd>{_value_html(value)}</dd>"
        for name, value in _fields(obj, skip)
    )
    return f"<dl>{rows}</dl>" if rows else ""


def _section(title: str, body: str, css: str = "") -> str:
    if not body:
        return ""
    klass = f' class="{css}"' if css else ""
    return f"<section{klass}><h2>{_e(title)}</h2>{body}</section>"


def _address(address: Address) -> str:
    lines = [address.line1, address.line2]
    text = "<br>".join(_e(x) for x in lines if x)
    extra = f"<br>{_e(address.country_code)}"
    if address.gln:
        extra += f'<br><span title="GLN">GLN {_e(address.gln)}</span>'
    return f'<span class="address">{text}{extra}</span>'


# ---------------------------------------------------------------------------- parties

_IDENTITY_ATTRS = ("identity", "address", "contacts")


def _identity(identity: SellerId | PartyId | ThirdPartyId) -> str:
    parts: list[str] = []
    name = identity.name
    if name:
        parts.append(f'<div class="name">{_e(name)}</div>')
    parts.append(_dl(identity, skip=("name",)))
    return "".join(parts)


def _party(
    title: str,
    party: Seller | Buyer | ThirdParty | AuthorizedEntity | CorrectedSeller | CorrectedBuyer,
) -> str:
    body = [_identity(party.identity)]
    address = getattr(party, "address", None)
    if address is not None:
        body.append(f"<p>{_address(address)}</p>")
    for contact in getattr(party, "contacts", ()):
        body.append(_dl(contact))
    body.append(_dl(party, skip=_IDENTITY_ATTRS))
    return f'<div class="party"><h3>{_e(title)}</h3>{"".join(body)}</div>'


def _parties(invoice: Invoice) -> str:
    cards = [_party("Sprzedawca", invoice.seller), _party("Nabywca", invoice.buyer)]
    for index, third in enumerate(invoice.third_parties, start=1):
        role = format_value(third.role) if third.role else third.role_description or ""
        cards.append(_party(f"Podmiot trzeci {index}" + (f" ({role})" if role else ""), third))
    if invoice.authorized is not None:
        cards.append(
            _party(
                f"Podmiot upoważniony ({format_value(invoice.authorized.role)})",
                invoice.authorized,
            )
        )
    return f'<div class="parties">{"".join(cards)}</div>'


# ------------------------------------------------------------------------------ header


def _header(invoice: Invoice) -> str:
    fa = invoice.fa
    title = format_value(fa.invoice_type)
    pairs: list[tuple[str, str]] = [
        ("issue_date", _e(fa.issue_date)),
    ]
    if fa.issue_place:
        pairs.append(("issue_place", _e(fa.issue_place)))
    if fa.sale_date is not None:
        pairs.append(("sale_date", _e(fa.sale_date)))
    if fa.period is not None:
        pairs.append(("period", f"{_e(fa.period.start)} – {_e(fa.period.end)}"))
    pairs.append(("currency", _e(fa.currency)))
    if fa.advance_exchange_rate is not None:
        pairs.append(("advance_exchange_rate", _e(fa.advance_exchange_rate)))
    if fa.warehouse_documents:
        pairs.append(("warehouse_documents", _e(", ".join(fa.warehouse_documents))))
    facts = "".join(
        f'<dt title="{_e(xml_name(InvoiceData, attr))}">{_e(label(InvoiceData, attr))}</dt>'
        f"<dd>{value}</dd>"
        for attr, value in pairs
    )
    return (
        f'<header><div><p class="kind" title="RodzajFaktury {_e(fa.invoice_type.value)}">'
        f"{_e(title)}</p><h1>{_e(fa.number)}</h1></div><dl>{facts}</dl></header>"
    )


# ------------------------------------------------------------------------------- lines

_LINE_COLUMNS = (
    "unit",
    "quantity",
    "unit_net_price",
    "unit_gross_price",
    "discount",
    "net_amount",
    "gross_amount",
    "vat_amount",
    "vat_rate",
    "oss_vat_rate",
    "exchange_rate",
)
_NUMERIC = frozenset(_LINE_COLUMNS) - {"unit", "vat_rate"}
_BEFORE_ROW = ' class="before-row"'


def _lines_table(lines: Sequence[InvoiceLine]) -> str:
    if not lines:
        return ""
    columns = [c for c in _LINE_COLUMNS if any(_shown(getattr(x, c)) for x in lines)]
    head = _th(InvoiceLine, "number") + _th(InvoiceLine, "name")
    head += "".join(_th(InvoiceLine, c, "num" if c in _NUMERIC else "") for c in columns)
    rows = []
    for line in lines:
        details = _dl(line, skip=("number", "name", *_LINE_COLUMNS, "before_correction"))
        name = f"{_e(line.name)}" if line.name else ""
        if line.before_correction:
            name = f'<span class="before">{_e(label(InvoiceLine, "before_correction"))}</span> ' + (
                name
            )
        cells = "".join(
            f'<td class="{"num" if c in _NUMERIC else ""}">'
            f"{_e(v) if _shown(v := getattr(line, c)) else ''}</td>"
            for c in columns
        )
        css = _BEFORE_ROW if line.before_correction else ""
        rows.append(f"<tr{css}><td>{_e(line.number)}</td><td>{name}{details}</td>{cells}</tr>")
    return (
        f'<table class="lines"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _order(invoice: Invoice) -> str:
    order = invoice.fa.order
    if order is None:
        return ""
    value = (
        f'<p><span title="WartoscZamowienia">{_e(label(type(order), "value"))}</span>: '
        f"<strong>{_e(order.value)} {_e(invoice.fa.currency)}</strong></p>"
    )
    if not order.lines:
        return value
    columns = [
        f.name
        for f in dataclasses.fields(OrderLine)
        if f.name != "number" and any(_shown(getattr(x, f.name)) for x in order.lines)
    ]
    head = _th(OrderLine, "number") + "".join(_th(OrderLine, c) for c in columns)
    rows = "".join(
        f"<tr{_BEFORE_ROW if x.before_correction else ''}><td>{_e(x.number)}</td>"
        + "".join(f"<td>{_e(v) if _shown(v := getattr(x, c)) else ''}</td>" for c in columns)
        + "</tr>"
        for x in order.lines
    )
    return (
        value + f'<table class="lines"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


# ------------------------------------------------------------------------------ totals

_SUMMARY_ROWS = (
    ("23% lub 22%", "net_standard", "vat_standard", "vat_standard_pln"),
    ("8% lub 7%", "net_reduced", "vat_reduced", "vat_reduced_pln"),
    ("5%", "net_reduced_2", "vat_reduced_2", "vat_reduced_2_pln"),
    ("ryczałt dla taksówek", "net_taxi", "vat_taxi", "vat_taxi_pln"),
    ("procedura OSS", "net_oss", "vat_oss", None),
    ("0% (kraj)", "net_zero_domestic", None, None),
    ("0% WDT", "net_zero_wdt", None, None),
    ("0% eksport", "net_zero_export", None, None),
    ("zwolnione", "net_exempt", None, None),
    ("np (poza krajem)", "net_outside_country", None, None),
    ("np (art. 100 ust. 1 pkt 4)", "net_eu_services", None, None),
    ("odwrotne obciążenie", "net_reverse_charge", None, None),
    ("procedura marży", "net_margin", None, None),
)


def _summary(invoice: Invoice) -> str:
    fa = invoice.fa
    rows = [r for r in _SUMMARY_ROWS if getattr(fa, r[1]) is not None]
    with_pln = any(pln and getattr(fa, pln) is not None for *_, pln in rows)
    table = ""
    if rows:
        head = '<th>Stawka</th><th class="num">Netto</th><th class="num">VAT</th>'
        head += '<th class="num">VAT w PLN</th>' if with_pln else ""
        body = []
        for title, net, vat, pln in rows:
            cells = [f'<td title="{_e(xml_name(InvoiceData, net))}">{_e(title)}</td>']
            for attr in (net, vat, *((pln,) if with_pln else ())):
                value = getattr(fa, attr) if attr else None
                tip = f' title="{_e(xml_name(InvoiceData, attr))}"' if attr else ""
                cells.append(f'<td class="num"{tip}>{_e(value) if value is not None else ""}</td>')
            body.append(f"<tr>{''.join(cells)}</tr>")
        table = (
            f'<table class="summary"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    total = (
        f'<p class="total" title="P_15">{_e(label(InvoiceData, "total"))}: '
        f"<strong>{_e(fa.total)} {_e(fa.currency)}</strong></p>"
    )
    return table + total


# ------------------------------------------------------------------------- annotations


def _annotations(invoice: Invoice) -> str:
    notes = invoice.fa.annotations
    items = []
    for attr in ("cash_accounting", "self_billing", "reverse_charge", "split_payment"):
        items.append((label(type(notes), attr), format_value(getattr(notes, attr))))
    exemption = notes.exemption
    if exemption.exempt:
        basis = exemption.basis_act or exemption.basis_directive or exemption.basis_other or ""
        items.append((label(type(exemption), "exempt"), f"tak – {basis}"))
    else:
        items.append((label(type(exemption), "exempt"), "nie"))
    items.append(
        (label(type(notes), "simplified_procedure"), format_value(notes.simplified_procedure))
    )
    margin = notes.margin
    kinds = [
        label(type(margin), k)
        for k in ("travel", "used_goods", "works_of_art", "antiques")
        if getattr(margin, k)
    ]
    items.append(
        (label(type(margin), "applies"), "tak – " + ", ".join(kinds) if margin.applies else "nie")
    )
    vehicles = notes.new_vehicles
    items.append((label(type(vehicles), "intra_eu_supply"), format_value(vehicles.intra_eu_supply)))
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    extra = _dl(exemption, skip=("exempt", "none")) if exemption.exempt else ""
    if vehicles.intra_eu_supply:
        extra += _dl(vehicles, skip=("intra_eu_supply", "none"))
    return f'<dl class="flags">{rows}</dl>{extra}'


# ------------------------------------------------------------------------- corrections


def _corrections(invoice: Invoice) -> str:
    fa = invoice.fa
    if not fa.invoice_type.is_correction and not fa.corrected_invoices:
        return ""
    parts = [
        _dl(
            fa,
            skip=[
                f.name
                for f in dataclasses.fields(InvoiceData)
                if f.name
                not in (
                    "correction_reason",
                    "correction_type",
                    "corrected_period",
                    "corrected_number",
                    "paid_before_correction",
                    "exchange_rate_before_correction",
                )
            ],
        )
    ]
    if fa.corrected_invoices:
        head = "".join(
            _th(type(fa.corrected_invoices[0]), a) for a in ("number", "issue_date", "ksef_number")
        )
        rows = "".join(
            f"<tr><td>{_e(c.number)}</td><td>{_e(c.issue_date)}</td><td>"
            + (_e(c.ksef_number) if c.ksef_number else _e(label(type(c), "outside_ksef")))
            + "</td></tr>"
            for c in fa.corrected_invoices
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    if fa.corrected_seller is not None:
        parts.append(_party(label(InvoiceData, "corrected_seller"), fa.corrected_seller))
    for buyer in fa.corrected_buyers:
        parts.append(_party(label(InvoiceData, "corrected_buyers"), buyer))
    return "".join(parts)


# ------------------------------------------------------------------------ other blocks


def _other(invoice: Invoice) -> str:
    fa = invoice.fa
    blocks = []
    if fa.extra_info:
        head = "".join(_th(type(fa.extra_info[0]), a) for a in ("line_number", "key", "value"))
        rows = "".join(
            f"<tr><td>{_e(n.line_number) if n.line_number is not None else ''}</td>"
            f"<td>{_e(n.key)}</td><td>{_e(n.value)}</td></tr>"
            for n in fa.extra_info
        )
        blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    blocks.append(
        _dl(
            fa,
            skip=[
                f.name
                for f in dataclasses.fields(InvoiceData)
                if f.name
                not in (
                    "partial_advances",
                    "for_receipt",
                    "related_parties",
                    "advance_invoices",
                    "excise_refund",
                )
            ],
        )
    )
    return "".join(blocks)


def _attachment(invoice: Invoice) -> str:
    if invoice.attachment is None:
        return ""
    return "".join(_block(block) for block in invoice.attachment.blocks)


def _block(block: DataBlock) -> str:
    parts = []
    if block.heading:
        parts.append(f"<h3>{_e(block.heading)}</h3>")
    if block.metadata:
        parts.append(_pairs(block.metadata))
    if block.text is not None:
        parts.extend(f"<p>{_e(p)}</p>" for p in block.text.paragraphs)
    parts.extend(_table(table) for table in block.tables)
    return f'<div class="block">{"".join(parts)}</div>'


def _pairs(items: Sequence[AttachmentMeta | TableMeta]) -> str:
    rows = "".join(f"<dt>{_e(x.key)}</dt><dd>{_e(x.value)}</dd>" for x in items)
    return f"<dl>{rows}</dl>"


def _row(cells: Sequence[str], width: int) -> str:
    # A row shorter than the header (a sub-heading such as "Energia elektryczna czynna")
    # spans the remaining columns with its last cell.
    parts = [f"<td>{_e(cell)}</td>" for cell in cells]
    if parts and len(cells) < width:
        parts[-1] = f'<td colspan="{width - len(cells) + 1}">{_e(cells[-1])}</td>'
    return "<tr>" + "".join(parts) + "</tr>"


def _table(table: Table) -> str:
    parts = []
    if table.metadata:
        parts.append(_pairs(table.metadata))
    if table.description:
        parts.append(f"<p>{_e(table.description)}</p>")
    head = "".join(
        f'<th>{_e(c.heading)} <small class="type" title="Typ">{_e(c.type.value)}</small></th>'
        for c in table.header.columns
    )
    rows = "".join(_row(row.cells, len(table.header.columns)) for row in table.rows)
    foot = ""
    if table.summary is not None:
        cells = "".join(f"<td>{_e(cell)}</td>" for cell in table.summary.cells)
        foot = f"<tfoot><tr>{cells}</tr></tfoot>"
    parts.append(
        f'<table class="attachment"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
        f"{foot}</table>"
    )
    return "".join(parts)


def _footer(invoice: Invoice) -> str:
    footer = invoice.footer
    parts: list[str] = []
    if footer is not None:
        parts.extend(f"<p>{_e(info.text)}</p>" for info in footer.info if info.text)
        parts.extend(_dl(registry) for registry in footer.registries)
    header = invoice.header
    technical = (
        f'<p class="technical">{_e(header.form_code.value)} '
        f"({_e(header.form_code.system_code)}, {_e(header.form_code.schema_version)}), "
        f"{_e(label(type(header), 'variant')).lower()} {_e(header.variant)}; "
        f"{_e(label(type(header), 'created_at')).lower()} {_e(header.created_at)}"
        + (
            f"; {_e(label(type(header), 'system_info')).lower()} {_e(header.system_info)}"
            if header.system_info
            else ""
        )
        + "</p>"
    )
    return f"<footer>{''.join(parts)}{technical}</footer>"


# ---------------------------------------------------------------------------------- page

_CSS = """
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#111;
max-width:60rem;margin:1.5rem auto;padding:0 1rem}
header{display:flex;justify-content:space-between;gap:2rem;border-bottom:2px solid #111;
padding-bottom:.5rem}
h1{margin:0;font-size:1.6rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem;border-bottom:1px solid
#bbb}h3{font-size:.95rem;margin:.2rem 0}
.kind{margin:0;text-transform:uppercase;letter-spacing:.05em;color:#444}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.2rem 0}
dt{color:#555}dd{margin:0}dd dl{margin:0}
.parties{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem;
margin-top:1rem}
.party{border:1px solid #ccc;border-radius:4px;padding:.5rem .7rem}.name{font-weight:600}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{border:1px solid #ccc;padding:.25rem .4rem;vertical-align:top;text-align:left}
th{background:#f2f2f2;font-weight:600}td dl{font-size:.85em;color:#444}
.num{text-align:right;white-space:nowrap}
.before-row{color:#666;background:#fafafa}.before{font-size:.8em;text-transform:uppercase}
.total{font-size:1.15rem;text-align:right}
.flags{grid-template-columns:max-content max-content}
footer{margin-top:1.5rem;border-top:1px solid #bbb;font-size:.9em}
.technical,.type{color:#666;font-size:.85em}
@media print{body{margin:0;max-width:none;font-size:10pt}
section,tr,.party{break-inside:avoid}a{color:inherit;text-decoration:none}
th{background:none}}
"""


def render_html(invoice: Invoice) -> str:
    """The invoice as one self-contained, printable HTML page.

    >>> from ksefkit.fa3 import parse
    >>> page = render_html(parse(xml_bytes))  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    fa = invoice.fa
    title = f"{format_value(fa.invoice_type)} {fa.number}"
    sections = [
        _header(invoice),
        _parties(invoice),
        _section("Korekta", _corrections(invoice)),
        _section("Pozycje", _lines_table(fa.lines)),
        _section(label(InvoiceData, "order"), _order(invoice)),
        _section("Podsumowanie", _summary(invoice)),
        _section("Adnotacje", _annotations(invoice)),
        _section(label(InvoiceData, "settlement"), _dl(fa.settlement) if fa.settlement else ""),
        _section(label(InvoiceData, "payment"), _dl(fa.payment) if fa.payment else ""),
        _section(label(InvoiceData, "terms"), _dl(fa.terms) if fa.terms else ""),
        _section("Informacje dodatkowe", _other(invoice)),
        _section("Załącznik", _attachment(invoice)),
        _footer(invoice),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="pl"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(sections)
        + "</body></html>\n"
    )
