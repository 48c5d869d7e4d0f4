"""The typed model of an FA(3) invoice (``schemat_FA(3)_v1-0E.xsd``).

One frozen, slotted, keyword-only dataclass per XSD complex type, fields in XSD sequence
order. Attribute names are English; the Polish XML name of each field is recorded in its
metadata (``xml("P_11")``) and drives the one engine in ``_xml.py`` that writes and reads
every class (see there for how Python types map to XML text). The whole schema is modelled,
so any XSD-valid FA(3) invoice parses.

XSD choices are flat optional fields (``PartyId.nip`` / ``eu_vat_number`` / ``no_id``): the
model holds what the document says and the XSD says which combinations are valid. Field
documentation quotes the XSD's Polish element names; ``field_map(Class)`` lists them.

>>> invoice = Invoice.from_xml(xml_bytes)          # doctest: +SKIP
>>> invoice.fa.lines[0].net_amount, invoice.fa.total  # doctest: +SKIP
(Decimal('1626.01'), Decimal('2051'))
"""

from __future__ import annotations

import datetime
import enum
from decimal import Decimal

from lxml import etree

from ._xml import model, read_document, write_document, xml, xml_attr, xml_text

__all__ = [
    "Address",
    "AdvanceInvoiceRef",
    "AdvanceOrder",
    "Annotations",
    "Attachment",
    "AttachmentMeta",
    "AttachmentText",
    "AuthorizedContact",
    "AuthorizedEntity",
    "AuthorizedRole",
    "BankAccount",
    "Buyer",
    "CargoType",
    "Carrier",
    "CashDiscount",
    "ColumnType",
    "Contact",
    "ContractRef",
    "CorrectedBuyer",
    "CorrectedInvoice",
    "CorrectedSeller",
    "CorrectionType",
    "DataBlock",
    "DueDate",
    "DueDateDescription",
    "Exemption",
    "ExtraInfo",
    "Footer",
    "FooterInfo",
    "FormCodeValue",
    "Gtu",
    "Header",
    "Invoice",
    "InvoiceData",
    "InvoiceLine",
    "InvoiceType",
    "MarginScheme",
    "NewVehicle",
    "NewVehicles",
    "OrderLine",
    "OrderRef",
    "OwnBankAccount",
    "PartialAdvance",
    "PartialPayment",
    "PartyId",
    "Payment",
    "PaymentMethod",
    "Period",
    "Procedure",
    "Registry",
    "Seller",
    "SellerId",
    "Settlement",
    "SettlementItem",
    "Table",
    "TableColumn",
    "TableHeader",
    "TableMeta",
    "TableRow",
    "TableSummary",
    "TaxpayerStatus",
    "ThirdParty",
    "ThirdPartyId",
    "ThirdPartyRole",
    "TransactionTerms",
    "Transport",
    "TransportType",
    "VatRate",
]


# ------------------------------------------------------------------------------ code lists


class VatRate(enum.StrEnum):
    """``P_12`` (``TStawkaPodatku``): the VAT rate of a line.

    >>> VatRate("0 KR").percent, VatRate.R23.percent, VatRate.EXEMPT.percent
    (Decimal('0'), Decimal('23'), None)
    """

    R23 = "23"
    R22 = "22"
    R8 = "8"
    R7 = "7"
    R5 = "5"
    R4 = "4"
    R3 = "3"
    #: 0 % on domestic supplies ("0 KR"), excluding intra-EU supplies and exports.
    ZERO_DOMESTIC = "0 KR"
    #: 0 % on an intra-community supply of goods ("0 WDT").
    ZERO_WDT = "0 WDT"
    #: 0 % on an export of goods ("0 EX").
    ZERO_EXPORT = "0 EX"
    #: Exempt ("zw").
    EXEMPT = "zw"
    #: Reverse charge ("oo").
    REVERSE_CHARGE = "oo"
    #: Not taxable: supplies outside Poland, except art. 100(1)(4) services ("np I").
    NOT_TAXABLE = "np I"
    #: Not taxable in Poland: art. 100(1)(4) services ("np II").
    NOT_TAXABLE_EU_SERVICES = "np II"

    @property
    def percent(self) -> Decimal | None:
        """The rate in percent (0 for the 0 % rates), None where no VAT is charged."""
        head = self.value.split(" ", 1)[0]
        return Decimal(head) if head.isdigit() else None


class InvoiceType(enum.StrEnum):
    """``RodzajFaktury``.

    >>> InvoiceType("KOR").is_correction
    True
    """

    #: Basic invoice.
    VAT = "VAT"
    #: Correction.
    KOR = "KOR"
    #: Advance-payment invoice (zaliczkowa).
    ZAL = "ZAL"
    #: Settlement invoice after advances (rozliczeniowa, art. 106f(3)).
    ROZ = "ROZ"
    #: Simplified invoice (art. 106e(5)(3)).
    UPR = "UPR"
    #: Correction of an advance-payment invoice.
    KOR_ZAL = "KOR_ZAL"
    #: Correction of a settlement invoice.
    KOR_ROZ = "KOR_ROZ"

    @property
    def is_correction(self) -> bool:
        """True for KOR, KOR_ZAL and KOR_ROZ."""
        return self.value.startswith("KOR")


class CorrectionType(enum.StrEnum):
    """``TypKorekty``: when the correction takes effect in the VAT records."""

    ORIGINAL_DATE = "1"
    CORRECTION_DATE = "2"
    OTHER_DATE = "3"


class PaymentMethod(enum.StrEnum):
    """``FormaPlatnosci``."""

    CASH = "1"
    CARD = "2"
    VOUCHER = "3"
    CHEQUE = "4"
    CREDIT = "5"
    TRANSFER = "6"
    MOBILE = "7"


class TaxpayerStatus(enum.StrEnum):
    """``StatusInfoPodatnika``."""

    LIQUIDATION = "1"
    RESTRUCTURING = "2"
    BANKRUPTCY = "3"
    ESTATE = "4"


class ThirdPartyRole(enum.StrEnum):
    """``Rola`` of a ``Podmiot3``."""

    FACTOR = "1"
    RECIPIENT = "2"
    ORIGINAL_ENTITY = "3"
    ADDITIONAL_BUYER = "4"
    ISSUER = "5"
    PAYER = "6"
    JST_ISSUER = "7"
    JST_RECIPIENT = "8"
    VAT_GROUP_ISSUER = "9"
    VAT_GROUP_RECIPIENT = "10"
    EMPLOYEE = "11"


class AuthorizedRole(enum.StrEnum):
    """``RolaPU`` of a ``PodmiotUpowazniony``."""

    ENFORCEMENT_AUTHORITY = "1"
    BAILIFF = "2"
    TAX_REPRESENTATIVE = "3"


class OwnBankAccount(enum.StrEnum):
    """``RachunekWlasnyBanku``: kinds of a bank's own account (art. 106e(1)(25))."""

    RECEIVABLES_SETTLEMENT = "1"
    COLLECTION = "2"
    OWN_ECONOMY = "3"


class TransportType(enum.StrEnum):
    """``RodzajTransportu``."""

    SEA = "1"
    RAIL = "2"
    ROAD = "3"
    AIR = "4"
    POST = "5"
    FIXED_INSTALLATION = "7"
    INLAND_WATERWAY = "8"


class CargoType(enum.StrEnum):
    """``OpisLadunku`` (``TLadunek``)."""

    CAN = "1"
    BARREL = "2"
    CYLINDER = "3"
    CARTON = "4"
    JERRYCAN = "5"
    CAGE = "6"
    CONTAINER = "7"
    BASKET = "8"
    PUNNET = "9"
    MULTIPACK = "10"
    PARCEL = "11"
    PACKAGE = "12"
    PALLET = "13"
    RECEPTACLE = "14"
    BULK_SOLID_CONTAINER = "15"
    BULK_LIQUID_CONTAINER = "16"
    BOX = "17"
    TIN = "18"
    CRATE = "19"
    SACK = "20"


class Gtu(enum.StrEnum):
    """``GTU``: goods and services group codes of the JPK_V7."""

    GTU_01 = "GTU_01"
    GTU_02 = "GTU_02"
    GTU_03 = "GTU_03"
    GTU_04 = "GTU_04"
    GTU_05 = "GTU_05"
    GTU_06 = "GTU_06"
    GTU_07 = "GTU_07"
    GTU_08 = "GTU_08"
    GTU_09 = "GTU_09"
    GTU_10 = "GTU_10"
    GTU_11 = "GTU_11"
    GTU_12 = "GTU_12"
    GTU_13 = "GTU_13"


class Procedure(enum.StrEnum):
    """``Procedura`` / ``ProceduraZ`` (the latter allows neither I_42 nor I_63)."""

    WSTO_EE = "WSTO_EE"
    IED = "IED"
    TT_D = "TT_D"
    I_42 = "I_42"
    I_63 = "I_63"
    B_SPV = "B_SPV"
    B_SPV_DOSTAWA = "B_SPV_DOSTAWA"
    B_MPV_PROWIZJA = "B_MPV_PROWIZJA"


class ColumnType(enum.StrEnum):
    """``Typ`` of an attachment table column (``Kol``)."""

    DATE = "date"
    DATETIME = "datetime"
    DEC = "dec"
    INT = "int"
    TIME = "time"
    TXT = "txt"


# ----------------------------------------------------------------------------- header


@model
class FormCodeValue:
    """``KodFormularza``: always ``FA`` with ``kodSystemowy="FA (3)"``, ``wersjaSchemy="1-0E"``."""

    system_code: str = xml_attr("kodSystemowy", default="FA (3)")
    schema_version: str = xml_attr("wersjaSchemy", default="1-0E")
    value: str = xml_text(default="FA")


@model
class Header:
    """``Naglowek``."""

    form_code: FormCodeValue = xml("KodFormularza", default=FormCodeValue())
    #: ``WariantFormularza`` (3).
    variant: int = xml("WariantFormularza", default=3)
    #: ``DataWytworzeniaFa``: when the invoice document was produced.
    created_at: datetime.datetime = xml("DataWytworzeniaFa")
    #: ``SystemInfo``: the issuing system.
    system_info: str | None = xml("SystemInfo", default=None)


# ----------------------------------------------------------------------------- parties


@model
class Address:
    """``TAdres``: ``KodKraju`` and two free-form lines (``AdresL1``, ``AdresL2``)."""

    country_code: str = xml("KodKraju")
    line1: str = xml("AdresL1")
    line2: str | None = xml("AdresL2", default=None)
    #: ``GLN``: Global Location Number.
    gln: str | None = xml("GLN", default=None)


@model
class Contact:
    """``DaneKontaktowe`` of Podmiot1/2/3."""

    email: str | None = xml("Email", default=None)
    phone: str | None = xml("Telefon", default=None)


@model
class AuthorizedContact:
    """``DaneKontaktowe`` of ``PodmiotUpowazniony``."""

    email: str | None = xml("EmailPU", default=None)
    phone: str | None = xml("TelefonPU", default=None)


@model
class SellerId:
    """``TPodmiot1``: NIP and name."""

    nip: str = xml("NIP")
    name: str = xml("Nazwa")


@model
class PartyId:
    """``TPodmiot2``: one of NIP | EU VAT number | other tax id | no id (``BrakID``), + name."""

    nip: str | None = xml("NIP", default=None)
    #: ``KodUE``: EU country prefix of ``eu_vat_number``.
    eu_code: str | None = xml("KodUE", default=None)
    eu_vat_number: str | None = xml("NrVatUE", default=None)
    #: ``KodKraju``: country that issued ``tax_id``.
    country_code: str | None = xml("KodKraju", default=None)
    #: ``NrID``: another tax identifier.
    tax_id: str | None = xml("NrID", default=None)
    #: ``BrakID``: the party has no tax identifier (or none is shown).
    no_id: bool = xml("BrakID", default=False)
    name: str | None = xml("Nazwa", default=None)


@model
class ThirdPartyId:
    """``TPodmiot3``: like :class:`PartyId` plus an internal id (``IDWew``)."""

    nip: str | None = xml("NIP", default=None)
    #: ``IDWew``: internal identifier with NIP (``NIP-nnnnn``).
    internal_id: str | None = xml("IDWew", default=None)
    eu_code: str | None = xml("KodUE", default=None)
    eu_vat_number: str | None = xml("NrVatUE", default=None)
    country_code: str | None = xml("KodKraju", default=None)
    tax_id: str | None = xml("NrID", default=None)
    no_id: bool = xml("BrakID", default=False)
    name: str | None = xml("Nazwa", default=None)


@model
class Seller:
    """``Podmiot1``: the seller (taxpayer)."""

    #: ``PrefiksPodatnika``: EU VAT prefix of the seller.
    eu_prefix: str | None = xml("PrefiksPodatnika", default=None)
    eori: str | None = xml("NrEORI", default=None)
    identity: SellerId = xml("DaneIdentyfikacyjne")
    address: Address = xml("Adres")
    correspondence_address: Address | None = xml("AdresKoresp", default=None)
    contacts: tuple[Contact, ...] = xml("DaneKontaktowe", default=())
    taxpayer_status: TaxpayerStatus | None = xml("StatusInfoPodatnika", default=None)


@model
class Buyer:
    """``Podmiot2``: the buyer."""

    eori: str | None = xml("NrEORI", default=None)
    identity: PartyId = xml("DaneIdentyfikacyjne")
    address: Address | None = xml("Adres", default=None)
    correspondence_address: Address | None = xml("AdresKoresp", default=None)
    contacts: tuple[Contact, ...] = xml("DaneKontaktowe", default=())
    customer_number: str | None = xml("NrKlienta", default=None)
    #: ``IDNabywcy``: key linking buyer data across corrections.
    buyer_id: str | None = xml("IDNabywcy", default=None)
    #: ``JST``: the invoice concerns a subordinate unit of a local government.
    jst: bool = xml("JST", yes_no=True, default=False)
    #: ``GV``: the invoice concerns a member of a VAT group.
    vat_group: bool = xml("GV", yes_no=True, default=False)


@model
class ThirdParty:
    """``Podmiot3``: a third party (factor, recipient, additional buyer, payer, ...)."""

    buyer_id: str | None = xml("IDNabywcy", default=None)
    eori: str | None = xml("NrEORI", default=None)
    identity: ThirdPartyId = xml("DaneIdentyfikacyjne")
    address: Address | None = xml("Adres", default=None)
    correspondence_address: Address | None = xml("AdresKoresp", default=None)
    contacts: tuple[Contact, ...] = xml("DaneKontaktowe", default=())
    role: ThirdPartyRole | None = xml("Rola", default=None)
    #: ``RolaInna``: a role not in :class:`ThirdPartyRole`, described by ``role_description``.
    other_role: bool = xml("RolaInna", default=False)
    role_description: str | None = xml("OpisRoli", default=None)
    #: ``Udzial``: percentage share of an additional buyer.
    share: Decimal | None = xml("Udzial", default=None)
    customer_number: str | None = xml("NrKlienta", default=None)


@model
class AuthorizedEntity:
    """``PodmiotUpowazniony``: enforcement authority, bailiff or tax representative."""

    eori: str | None = xml("NrEORI", default=None)
    identity: SellerId = xml("DaneIdentyfikacyjne")
    address: Address = xml("Adres")
    correspondence_address: Address | None = xml("AdresKoresp", default=None)
    contacts: tuple[AuthorizedContact, ...] = xml("DaneKontaktowe", default=())
    role: AuthorizedRole = xml("RolaPU")


# ------------------------------------------------------------------------- annotations


@model
class Exemption:
    """``Zwolnienie``: exempt supply (``P_19`` + legal basis) or none (``P_19N``)."""

    exempt: bool = xml("P_19", default=False)
    #: ``P_19A``: provision of the VAT act.
    basis_act: str | None = xml("P_19A", default=None)
    #: ``P_19B``: provision of directive 2006/112/EC.
    basis_directive: str | None = xml("P_19B", default=None)
    #: ``P_19C``: another legal basis.
    basis_other: str | None = xml("P_19C", default=None)
    none: bool = xml("P_19N", default=False)


@model
class NewVehicle:
    """``NowySrodekTransportu``: a new means of transport supplied intra-EU."""

    admission_date: datetime.date = xml("P_22A")
    line_number: int = xml("P_NrWierszaNST")
    make: str | None = xml("P_22BMK", default=None)
    model: str | None = xml("P_22BMD", default=None)
    colour: str | None = xml("P_22BK", default=None)
    registration_number: str | None = xml("P_22BNR", default=None)
    production_year: str | None = xml("P_22BRP", default=None)
    #: ``P_22B``: mileage of a land vehicle.
    mileage: str | None = xml("P_22B", default=None)
    vin: str | None = xml("P_22B1", default=None)
    body_number: str | None = xml("P_22B2", default=None)
    chassis_number: str | None = xml("P_22B3", default=None)
    frame_number: str | None = xml("P_22B4", default=None)
    vehicle_type: str | None = xml("P_22BT", default=None)
    #: ``P_22C``: operating hours of a vessel.
    vessel_hours: str | None = xml("P_22C", default=None)
    hull_number: str | None = xml("P_22C1", default=None)
    #: ``P_22D``: operating hours of an aircraft.
    aircraft_hours: str | None = xml("P_22D", default=None)
    aircraft_serial_number: str | None = xml("P_22D1", default=None)


@model
class NewVehicles:
    """``NoweSrodkiTransportu``: intra-EU supply of new vehicles (``P_22``) or none."""

    intra_eu_supply: bool = xml("P_22", default=False)
    #: ``P_42_5``: the art. 42(5) obligation applies.
    art_42_5: bool | None = xml("P_42_5", yes_no=True, default=None)
    vehicles: tuple[NewVehicle, ...] = xml("NowySrodekTransportu", default=())
    none: bool = xml("P_22N", default=False)


@model
class MarginScheme:
    """``PMarzy``: margin scheme (``P_PMarzy`` + kind) or none (``P_PMarzyN``)."""

    applies: bool = xml("P_PMarzy", default=False)
    #: ``P_PMarzy_2``: travel services (art. 119).
    travel: bool = xml("P_PMarzy_2", default=False)
    #: ``P_PMarzy_3_1``: second-hand goods (art. 120).
    used_goods: bool = xml("P_PMarzy_3_1", default=False)
    #: ``P_PMarzy_3_2``: works of art.
    works_of_art: bool = xml("P_PMarzy_3_2", default=False)
    #: ``P_PMarzy_3_3``: collectors' items and antiques.
    antiques: bool = xml("P_PMarzy_3_3", default=False)
    none: bool = xml("P_PMarzyN", default=False)


@model
class Annotations:
    """``Adnotacje``. The defaults are the plain case: every flag "2", nothing exempt, no new
    vehicles, no margin scheme."""

    #: ``P_16``: cash accounting ("metoda kasowa").
    cash_accounting: bool = xml("P_16", yes_no=True, default=False)
    #: ``P_17``: self-billing ("samofakturowanie").
    self_billing: bool = xml("P_17", yes_no=True, default=False)
    #: ``P_18``: reverse charge ("odwrotne obciążenie").
    reverse_charge: bool = xml("P_18", yes_no=True, default=False)
    #: ``P_18A``: split payment ("mechanizm podzielonej płatności").
    split_payment: bool = xml("P_18A", yes_no=True, default=False)
    exemption: Exemption = xml("Zwolnienie", default=Exemption(none=True))
    new_vehicles: NewVehicles = xml("NoweSrodkiTransportu", default=NewVehicles(none=True))
    #: ``P_23``: simplified triangular procedure.
    simplified_procedure: bool = xml("P_23", yes_no=True, default=False)
    margin: MarginScheme = xml("PMarzy", default=MarginScheme(none=True))


# ------------------------------------------------------------------------- corrections


@model
class CorrectedInvoice:
    """``DaneFaKorygowanej``: one corrected invoice."""

    issue_date: datetime.date = xml("DataWystFaKorygowanej")
    number: str = xml("NrFaKorygowanej")
    #: ``NrKSeF``: the corrected invoice has a KSeF number (``ksef_number``).
    in_ksef: bool = xml("NrKSeF", default=False)
    ksef_number: str | None = xml("NrKSeFFaKorygowanej", default=None)
    #: ``NrKSeFN``: the corrected invoice was issued outside KSeF.
    outside_ksef: bool = xml("NrKSeFN", default=False)


@model
class CorrectedSeller:
    """``Podmiot1K``: the seller's data as on the corrected invoice."""

    eu_prefix: str | None = xml("PrefiksPodatnika", default=None)
    identity: SellerId = xml("DaneIdentyfikacyjne")
    address: Address = xml("Adres")


@model
class CorrectedBuyer:
    """``Podmiot2K``: a buyer's data as on the corrected invoice."""

    identity: PartyId = xml("DaneIdentyfikacyjne")
    address: Address | None = xml("Adres", default=None)
    buyer_id: str | None = xml("IDNabywcy", default=None)


@model
class PartialAdvance:
    """``ZaliczkaCzesciowa``: one of several advance payments on one invoice."""

    #: ``P_6Z``: date the payment was received.
    payment_date: datetime.date = xml("P_6Z")
    #: ``P_15Z``: the payment's part of ``P_15``.
    amount: Decimal = xml("P_15Z")
    #: ``KursWalutyZW``: exchange rate for its VAT.
    exchange_rate: Decimal | None = xml("KursWalutyZW", default=None)


@model
class ExtraInfo:
    """``DodatkowyOpis`` (``TKluczWartosc``): a key/value note, optionally for one line."""

    line_number: int | None = xml("NrWiersza", default=None)
    key: str = xml("Klucz")
    value: str = xml("Wartosc")


@model
class AdvanceInvoiceRef:
    """``FakturaZaliczkowa``: an advance invoice settled by this one."""

    #: ``NrKSeFZN``: the advance invoice was issued outside KSeF (``number`` is given).
    outside_ksef: bool = xml("NrKSeFZN", default=False)
    number: str | None = xml("NrFaZaliczkowej", default=None)
    ksef_number: str | None = xml("NrKSeFFaZaliczkowej", default=None)


# ------------------------------------------------------------------------------- lines


@model
class InvoiceLine:
    """``FaWiersz``: one invoice line."""

    #: ``NrWierszaFa``.
    number: int = xml("NrWierszaFa")
    #: ``UU_ID``: universally unique line id.
    uuid: str | None = xml("UU_ID", default=None)
    #: ``P_6A``: delivery date of this line, if it differs.
    sale_date: datetime.date | None = xml("P_6A", default=None)
    #: ``P_7``: name of the goods or service.
    name: str | None = xml("P_7", default=None)
    index: str | None = xml("Indeks", default=None)
    gtin: str | None = xml("GTIN", default=None)
    pkwiu: str | None = xml("PKWiU", default=None)
    cn: str | None = xml("CN", default=None)
    pkob: str | None = xml("PKOB", default=None)
    #: ``P_8A``: unit of measure.
    unit: str | None = xml("P_8A", default=None)
    #: ``P_8B``: quantity.
    quantity: Decimal | None = xml("P_8B", default=None)
    #: ``P_9A``: unit net price.
    unit_net_price: Decimal | None = xml("P_9A", default=None)
    #: ``P_9B``: unit gross price (art. 106e(7)-(8)).
    unit_gross_price: Decimal | None = xml("P_9B", default=None)
    #: ``P_10``: discounts not included in the unit price.
    discount: Decimal | None = xml("P_10", default=None)
    #: ``P_11``: net value of the line.
    net_amount: Decimal | None = xml("P_11", default=None)
    #: ``P_11A``: gross value of the line (art. 106e(7)-(8)).
    gross_amount: Decimal | None = xml("P_11A", default=None)
    #: ``P_11Vat``: VAT of the line (art. 106e(10)).
    vat_amount: Decimal | None = xml("P_11Vat", default=None)
    #: ``P_12``.
    vat_rate: VatRate | None = xml("P_12", default=None)
    #: ``P_12_XII``: OSS VAT rate (percent).
    oss_vat_rate: Decimal | None = xml("P_12_XII", default=None)
    #: ``P_12_Zal_15``: goods/services of annex 15 (split payment).
    annex_15: bool = xml("P_12_Zal_15", default=False)
    excise_amount: Decimal | None = xml("KwotaAkcyzy", default=None)
    gtu: Gtu | None = xml("GTU", default=None)
    procedure: Procedure | None = xml("Procedura", default=None)
    #: ``KursWaluty``: exchange rate used for the VAT of this line.
    exchange_rate: Decimal | None = xml("KursWaluty", default=None)
    #: ``StanPrzed``: the line shows the state before the correction.
    before_correction: bool = xml("StanPrzed", default=False)


# -------------------------------------------------------------------------- settlement


@model
class SettlementItem:
    """``Obciazenia`` / ``Odliczenia``: an amount added to or deducted from ``P_15``."""

    amount: Decimal = xml("Kwota")
    reason: str = xml("Powod")


@model
class Settlement:
    """``Rozliczenie``: charges and deductions on top of ``P_15``."""

    charges: tuple[SettlementItem, ...] = xml("Obciazenia", default=())
    charges_total: Decimal | None = xml("SumaObciazen", default=None)
    deductions: tuple[SettlementItem, ...] = xml("Odliczenia", default=())
    deductions_total: Decimal | None = xml("SumaOdliczen", default=None)
    #: ``DoZaplaty``: P_15 + charges - deductions, when positive.
    amount_due: Decimal | None = xml("DoZaplaty", default=None)
    #: ``DoRozliczenia``: overpaid amount to settle or refund.
    amount_to_settle: Decimal | None = xml("DoRozliczenia", default=None)


# ----------------------------------------------------------------------------- payment


@model
class PartialPayment:
    """``ZaplataCzesciowa``."""

    amount: Decimal = xml("KwotaZaplatyCzesciowej")
    payment_date: datetime.date = xml("DataZaplatyCzesciowej")
    method: PaymentMethod | None = xml("FormaPlatnosci", default=None)
    other_method: bool = xml("PlatnoscInna", default=False)
    other_method_description: str | None = xml("OpisPlatnosci", default=None)


@model
class DueDateDescription:
    """``TerminOpis``: a due date described as "N units after an event"."""

    amount: int = xml("Ilosc")
    unit: str = xml("Jednostka")
    start_event: str = xml("ZdarzeniePoczatkowe")


@model
class DueDate:
    """``TerminPlatnosci``."""

    date: datetime.date | None = xml("Termin", default=None)
    description: DueDateDescription | None = xml("TerminOpis", default=None)


@model
class BankAccount:
    """``TRachunekBankowy``."""

    #: ``NrRB``: full account number (NRB/IBAN).
    number: str = xml("NrRB")
    swift: str | None = xml("SWIFT", default=None)
    own_bank_account: OwnBankAccount | None = xml("RachunekWlasnyBanku", default=None)
    bank_name: str | None = xml("NazwaBanku", default=None)
    description: str | None = xml("OpisRachunku", default=None)


@model
class CashDiscount:
    """``Skonto``."""

    conditions: str = xml("WarunkiSkonta")
    amount: str = xml("WysokoscSkonta")


@model
class Payment:
    """``Platnosc``."""

    #: ``Zaplacono``: paid in full (on ``payment_date``).
    paid: bool = xml("Zaplacono", default=False)
    payment_date: datetime.date | None = xml("DataZaplaty", default=None)
    #: ``ZnacznikZaplatyCzesciowej``: "1" paid in part, "2" paid in full in parts.
    partially_paid: bool | None = xml("ZnacznikZaplatyCzesciowej", yes_no=True, default=None)
    partial_payments: tuple[PartialPayment, ...] = xml("ZaplataCzesciowa", default=())
    due_dates: tuple[DueDate, ...] = xml("TerminPlatnosci", default=())
    method: PaymentMethod | None = xml("FormaPlatnosci", default=None)
    other_method: bool = xml("PlatnoscInna", default=False)
    other_method_description: str | None = xml("OpisPlatnosci", default=None)
    bank_accounts: tuple[BankAccount, ...] = xml("RachunekBankowy", default=())
    factor_accounts: tuple[BankAccount, ...] = xml("RachunekBankowyFaktora", default=())
    discount: CashDiscount | None = xml("Skonto", default=None)
    payment_link: str | None = xml("LinkDoPlatnosci", default=None)
    #: ``IPKSeF``: KSeF payment identifier.
    ksef_payment_id: str | None = xml("IPKSeF", default=None)


# ----------------------------------------------------------------------- transactions


@model
class ContractRef:
    """``Umowy``."""

    date: datetime.date | None = xml("DataUmowy", default=None)
    number: str | None = xml("NrUmowy", default=None)


@model
class OrderRef:
    """``Zamowienia``."""

    date: datetime.date | None = xml("DataZamowienia", default=None)
    number: str | None = xml("NrZamowienia", default=None)


@model
class Carrier:
    """``Przewoznik``."""

    identity: PartyId = xml("DaneIdentyfikacyjne")
    address: Address = xml("AdresPrzewoznika")


@model
class Transport:
    """``Transport``."""

    transport_type: TransportType | None = xml("RodzajTransportu", default=None)
    other_transport: bool = xml("TransportInny", default=False)
    other_transport_description: str | None = xml("OpisInnegoTransportu", default=None)
    carrier: Carrier | None = xml("Przewoznik", default=None)
    order_number: str | None = xml("NrZleceniaTransportu", default=None)
    cargo: CargoType | None = xml("OpisLadunku", default=None)
    other_cargo: bool = xml("LadunekInny", default=False)
    other_cargo_description: str | None = xml("OpisInnegoLadunku", default=None)
    packaging_unit: str | None = xml("JednostkaOpakowania", default=None)
    started_at: datetime.datetime | None = xml("DataGodzRozpTransportu", default=None)
    ended_at: datetime.datetime | None = xml("DataGodzZakTransportu", default=None)
    ship_from: Address | None = xml("WysylkaZ", default=None)
    ship_via: tuple[Address, ...] = xml("WysylkaPrzez", default=())
    ship_to: Address | None = xml("WysylkaDo", default=None)


@model
class TransactionTerms:
    """``WarunkiTransakcji``."""

    contracts: tuple[ContractRef, ...] = xml("Umowy", default=())
    orders: tuple[OrderRef, ...] = xml("Zamowienia", default=())
    batch_numbers: tuple[str, ...] = xml("NrPartiiTowaru", default=())
    #: ``WarunkiDostawy``: delivery terms (e.g. an Incoterm).
    delivery_terms: str | None = xml("WarunkiDostawy", default=None)
    contract_rate: Decimal | None = xml("KursUmowny", default=None)
    contract_currency: str | None = xml("WalutaUmowna", default=None)
    transports: tuple[Transport, ...] = xml("Transport", default=())
    #: ``PodmiotPosredniczacy``: supply by an intermediary (art. 22(2d)).
    intermediary: bool = xml("PodmiotPosredniczacy", default=False)


@model
class OrderLine:
    """``ZamowienieWiersz``: a line of the order an advance invoice refers to."""

    number: int = xml("NrWierszaZam")
    uuid: str | None = xml("UU_IDZ", default=None)
    name: str | None = xml("P_7Z", default=None)
    index: str | None = xml("IndeksZ", default=None)
    gtin: str | None = xml("GTINZ", default=None)
    pkwiu: str | None = xml("PKWiUZ", default=None)
    cn: str | None = xml("CNZ", default=None)
    pkob: str | None = xml("PKOBZ", default=None)
    unit: str | None = xml("P_8AZ", default=None)
    quantity: Decimal | None = xml("P_8BZ", default=None)
    unit_net_price: Decimal | None = xml("P_9AZ", default=None)
    net_amount: Decimal | None = xml("P_11NettoZ", default=None)
    vat_amount: Decimal | None = xml("P_11VatZ", default=None)
    vat_rate: VatRate | None = xml("P_12Z", default=None)
    oss_vat_rate: Decimal | None = xml("P_12Z_XII", default=None)
    annex_15: bool = xml("P_12Z_Zal_15", default=False)
    gtu: Gtu | None = xml("GTUZ", default=None)
    procedure: Procedure | None = xml("ProceduraZ", default=None)
    excise_amount: Decimal | None = xml("KwotaAkcyzyZ", default=None)
    before_correction: bool = xml("StanPrzedZ", default=False)


@model
class AdvanceOrder:
    """``Zamowienie``: the order or contract an advance invoice (ZAL) is for."""

    #: ``WartoscZamowienia``: order value including VAT.
    value: Decimal = xml("WartoscZamowienia")
    lines: tuple[OrderLine, ...] = xml("ZamowienieWiersz", default=())


# ---------------------------------------------------------------------- invoice data


@model
class Period:
    """``OkresFa``: the period an invoice covers."""

    start: datetime.date = xml("P_6_Od")
    end: datetime.date = xml("P_6_Do")


@model
class InvoiceData:
    """``Fa``: the invoice proper. Amounts are in ``currency``; ``*_pln`` fields (``P_14_xW``)
    hold VAT converted to PLN on foreign-currency invoices."""

    #: ``KodWaluty``: ISO 4217 code.
    currency: str = xml("KodWaluty")
    #: ``P_1``: issue date.
    issue_date: datetime.date = xml("P_1")
    #: ``P_1M``: place of issue.
    issue_place: str | None = xml("P_1M", default=None)
    #: ``P_2``: invoice number.
    number: str = xml("P_2")
    #: ``WZ``: warehouse dispatch document numbers.
    warehouse_documents: tuple[str, ...] = xml("WZ", default=())
    #: ``P_6``: date of supply or of the payment received, if not the issue date.
    sale_date: datetime.date | None = xml("P_6", default=None)
    period: Period | None = xml("OkresFa", default=None)
    #: ``P_13_1``: net at the standard rate (23 % or 22 %).
    net_standard: Decimal | None = xml("P_13_1", default=None)
    #: ``P_14_1``.
    vat_standard: Decimal | None = xml("P_14_1", default=None)
    #: ``P_14_1W``.
    vat_standard_pln: Decimal | None = xml("P_14_1W", default=None)
    #: ``P_13_2``: net at the first reduced rate (8 % or 7 %).
    net_reduced: Decimal | None = xml("P_13_2", default=None)
    vat_reduced: Decimal | None = xml("P_14_2", default=None)
    vat_reduced_pln: Decimal | None = xml("P_14_2W", default=None)
    #: ``P_13_3``: net at the second reduced rate (5 %).
    net_reduced_2: Decimal | None = xml("P_13_3", default=None)
    vat_reduced_2: Decimal | None = xml("P_14_3", default=None)
    vat_reduced_2_pln: Decimal | None = xml("P_14_3W", default=None)
    #: ``P_13_4``: net under the flat rate for taxis.
    net_taxi: Decimal | None = xml("P_13_4", default=None)
    vat_taxi: Decimal | None = xml("P_14_4", default=None)
    vat_taxi_pln: Decimal | None = xml("P_14_4W", default=None)
    #: ``P_13_5``: net under the OSS special procedure (chapter 6a of section XII).
    net_oss: Decimal | None = xml("P_13_5", default=None)
    vat_oss: Decimal | None = xml("P_14_5", default=None)
    #: ``P_13_6_1``: 0 % domestic.
    net_zero_domestic: Decimal | None = xml("P_13_6_1", default=None)
    #: ``P_13_6_2``: 0 % intra-community supply.
    net_zero_wdt: Decimal | None = xml("P_13_6_2", default=None)
    #: ``P_13_6_3``: 0 % export.
    net_zero_export: Decimal | None = xml("P_13_6_3", default=None)
    #: ``P_13_7``: exempt.
    net_exempt: Decimal | None = xml("P_13_7", default=None)
    #: ``P_13_8``: supplies outside Poland ("np I").
    net_outside_country: Decimal | None = xml("P_13_8", default=None)
    #: ``P_13_9``: art. 100(1)(4) services ("np II").
    net_eu_services: Decimal | None = xml("P_13_9", default=None)
    #: ``P_13_10``: reverse charge ("oo").
    net_reverse_charge: Decimal | None = xml("P_13_10", default=None)
    #: ``P_13_11``: margin scheme.
    net_margin: Decimal | None = xml("P_13_11", default=None)
    #: ``P_15``: total amount due (gross).
    total: Decimal = xml("P_15")
    #: ``KursWalutyZ``: exchange rate of an advance invoice.
    advance_exchange_rate: Decimal | None = xml("KursWalutyZ", default=None)
    annotations: Annotations = xml("Adnotacje", default=Annotations())
    invoice_type: InvoiceType = xml("RodzajFaktury", default=InvoiceType.VAT)
    correction_reason: str | None = xml("PrzyczynaKorekty", default=None)
    correction_type: CorrectionType | None = xml("TypKorekty", default=None)
    corrected_invoices: tuple[CorrectedInvoice, ...] = xml("DaneFaKorygowanej", default=())
    #: ``OkresFaKorygowanej``: period a discount correction covers (art. 106j(3)).
    corrected_period: str | None = xml("OkresFaKorygowanej", default=None)
    #: ``NrFaKorygowany``: the correct number when the corrected invoice's number was wrong.
    corrected_number: str | None = xml("NrFaKorygowany", default=None)
    corrected_seller: CorrectedSeller | None = xml("Podmiot1K", default=None)
    corrected_buyers: tuple[CorrectedBuyer, ...] = xml("Podmiot2K", default=())
    #: ``P_15ZK``: amount paid before the correction (corrections of advance invoices).
    paid_before_correction: Decimal | None = xml("P_15ZK", default=None)
    #: ``KursWalutyZK``: exchange rate before the correction.
    exchange_rate_before_correction: Decimal | None = xml("KursWalutyZK", default=None)
    partial_advances: tuple[PartialAdvance, ...] = xml("ZaliczkaCzesciowa", default=())
    #: ``FP``: invoice for a receipt (art. 109(3d)).
    for_receipt: bool = xml("FP", default=False)
    #: ``TP``: buyer and seller are related (§ 10(4)(3) of the JPK regulation).
    related_parties: bool = xml("TP", default=False)
    extra_info: tuple[ExtraInfo, ...] = xml("DodatkowyOpis", default=())
    advance_invoices: tuple[AdvanceInvoiceRef, ...] = xml("FakturaZaliczkowa", default=())
    #: ``ZwrotAkcyzy``: information for farmers claiming an excise refund.
    excise_refund: bool = xml("ZwrotAkcyzy", default=False)
    lines: tuple[InvoiceLine, ...] = xml("FaWiersz", default=())
    settlement: Settlement | None = xml("Rozliczenie", default=None)
    payment: Payment | None = xml("Platnosc", default=None)
    terms: TransactionTerms | None = xml("WarunkiTransakcji", default=None)
    order: AdvanceOrder | None = xml("Zamowienie", default=None)


# ------------------------------------------------------------------------------ footer


@model
class FooterInfo:
    """``Informacje``."""

    text: str | None = xml("StopkaFaktury", default=None)


@model
class Registry:
    """``Rejestry``: numbers in other registers."""

    full_name: str | None = xml("PelnaNazwa", default=None)
    krs: str | None = xml("KRS", default=None)
    regon: str | None = xml("REGON", default=None)
    bdo: str | None = xml("BDO", default=None)


@model
class Footer:
    """``Stopka``."""

    info: tuple[FooterInfo, ...] = xml("Informacje", default=())
    registries: tuple[Registry, ...] = xml("Rejestry", default=())


# -------------------------------------------------------------------------- attachment


@model
class AttachmentMeta:
    """``MetaDane``."""

    key: str = xml("ZKlucz")
    value: str = xml("ZWartosc")


@model
class AttachmentText:
    """``Tekst``: up to 10 paragraphs (``Akapit``)."""

    paragraphs: tuple[str, ...] = xml("Akapit", default=())


@model
class TableMeta:
    """``TMetaDane``."""

    key: str = xml("TKlucz")
    value: str = xml("TWartosc")


@model
class TableColumn:
    """``Kol``: a column heading (``NKom``) and its type (``@Typ``)."""

    type: ColumnType = xml_attr("Typ")
    heading: str = xml("NKom")


@model
class TableHeader:
    """``TNaglowek``."""

    columns: tuple[TableColumn, ...] = xml("Kol", default=())


@model
class TableRow:
    """``Wiersz``."""

    cells: tuple[str, ...] = xml("WKom", default=())


@model
class TableSummary:
    """``Suma``."""

    cells: tuple[str, ...] = xml("SKom", default=())


@model
class Table:
    """``Tabela``."""

    metadata: tuple[TableMeta, ...] = xml("TMetaDane", default=())
    description: str | None = xml("Opis", default=None)
    header: TableHeader = xml("TNaglowek")
    rows: tuple[TableRow, ...] = xml("Wiersz", default=())
    summary: TableSummary | None = xml("Suma", default=None)


@model
class DataBlock:
    """``BlokDanych``."""

    heading: str | None = xml("ZNaglowek", default=None)
    metadata: tuple[AttachmentMeta, ...] = xml("MetaDane", default=())
    text: AttachmentText | None = xml("Tekst", default=None)
    tables: tuple[Table, ...] = xml("Tabela", default=())


@model
class Attachment:
    """``Zalacznik``."""

    blocks: tuple[DataBlock, ...] = xml("BlokDanych", default=())


# ----------------------------------------------------------------------------- invoice


@model
class Invoice:
    """``Faktura``: a whole FA(3) invoice.

    >>> import datetime
    >>> from decimal import Decimal
    >>> invoice = Invoice(
    ...     header=Header(created_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC)),
    ...     seller=Seller(identity=SellerId(nip="9999999999", name="ABC"),
    ...                   address=Address(country_code="PL", line1="ul. Kwiatowa 1")),
    ...     buyer=Buyer(identity=PartyId(nip="1111111111", name="XYZ")),
    ...     fa=InvoiceData(currency="PLN", issue_date=datetime.date(2026, 2, 1),
    ...                    number="FV/1", total=Decimal("0")),
    ... )
    >>> Invoice.from_xml(invoice.to_xml()) == invoice
    True
    """

    header: Header = xml("Naglowek")
    seller: Seller = xml("Podmiot1")
    buyer: Buyer = xml("Podmiot2")
    third_parties: tuple[ThirdParty, ...] = xml("Podmiot3", default=())
    authorized: AuthorizedEntity | None = xml("PodmiotUpowazniony", default=None)
    fa: InvoiceData = xml("Fa")
    footer: Footer | None = xml("Stopka", default=None)
    attachment: Attachment | None = xml("Zalacznik", default=None)

    def to_xml(self, *, pretty: bool = True) -> bytes:
        """The invoice as FA(3) XML: UTF-8 with an XML declaration, elements in XSD order
        (indented unless ``pretty=False``)."""
        return write_document(self, pretty=pretty)

    @classmethod
    def from_xml(cls, data: bytes | etree._Element) -> Invoice:
        """Parse FA(3) XML; raises :class:`~ksefkit.errors.InvoiceParseError` naming the
        element for anything the model cannot hold."""
        return read_document(data, cls)
