"""Wire models shared by several API areas: statuses, encryption data, form codes, context
identifiers. Enum-valued fields are typed ``str`` (unknown values from KSeF still parse); the
``StrEnum`` classes list the known values.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from ksefkit.models._base import KsefModel

__all__ = [
    "AuthenticationContextIdentifier",
    "AuthenticationContextIdentifierType",
    "CommonSessionStatus",
    "CompressionType",
    "CurrencyCode",
    "EncryptionInfo",
    "InvoiceStatusInfo",
    "InvoicingMode",
    "SortOrder",
    "StatusInfo",
    "TokenInfo",
    "WireFormCode",
]


class AuthenticationContextIdentifierType(StrEnum):
    """Known values of KSeF ``AuthenticationContextIdentifierType``."""

    NIP = "Nip"
    INTERNAL_ID = "InternalId"
    NIP_VAT_UE = "NipVatUe"
    PEPPOL_ID = "PeppolId"


class CommonSessionStatus(StrEnum):
    """Known values of KSeF ``CommonSessionStatus``."""

    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class CompressionType(StrEnum):
    """Known values of KSeF ``CompressionType``."""

    ZIP = "Zip"
    TAR_GZ = "TarGz"


class CurrencyCode(StrEnum):
    """Known values of KSeF ``CurrencyCode``."""

    AED = "AED"
    AFN = "AFN"
    ALL = "ALL"
    AMD = "AMD"
    ANG = "ANG"
    AOA = "AOA"
    ARS = "ARS"
    AUD = "AUD"
    AWG = "AWG"
    AZN = "AZN"
    BAM = "BAM"
    BBD = "BBD"
    BDT = "BDT"
    BGN = "BGN"
    BHD = "BHD"
    BIF = "BIF"
    BMD = "BMD"
    BND = "BND"
    BOB = "BOB"
    BOV = "BOV"
    BRL = "BRL"
    BSD = "BSD"
    BTN = "BTN"
    BWP = "BWP"
    BYN = "BYN"
    BZD = "BZD"
    CAD = "CAD"
    CDF = "CDF"
    CHE = "CHE"
    CHF = "CHF"
    CHW = "CHW"
    CLF = "CLF"
    CLP = "CLP"
    CNY = "CNY"
    COP = "COP"
    COU = "COU"
    CRC = "CRC"
    CUC = "CUC"
    CUP = "CUP"
    CVE = "CVE"
    CZK = "CZK"
    DJF = "DJF"
    DKK = "DKK"
    DOP = "DOP"
    DZD = "DZD"
    EGP = "EGP"
    ERN = "ERN"
    ETB = "ETB"
    EUR = "EUR"
    FJD = "FJD"
    FKP = "FKP"
    GBP = "GBP"
    GEL = "GEL"
    GGP = "GGP"
    GHS = "GHS"
    GIP = "GIP"
    GMD = "GMD"
    GNF = "GNF"
    GTQ = "GTQ"
    GYD = "GYD"
    HKD = "HKD"
    HNL = "HNL"
    HRK = "HRK"
    HTG = "HTG"
    HUF = "HUF"
    IDR = "IDR"
    ILS = "ILS"
    IMP = "IMP"
    INR = "INR"
    IQD = "IQD"
    IRR = "IRR"
    ISK = "ISK"
    JEP = "JEP"
    JMD = "JMD"
    JOD = "JOD"
    JPY = "JPY"
    KES = "KES"
    KGS = "KGS"
    KHR = "KHR"
    KMF = "KMF"
    KPW = "KPW"
    KRW = "KRW"
    KWD = "KWD"
    KYD = "KYD"
    KZT = "KZT"
    LAK = "LAK"
    LBP = "LBP"
    LKR = "LKR"
    LRD = "LRD"
    LSL = "LSL"
    LYD = "LYD"
    MAD = "MAD"
    MDL = "MDL"
    MGA = "MGA"
    MKD = "MKD"
    MMK = "MMK"
    MNT = "MNT"
    MOP = "MOP"
    MRU = "MRU"
    MUR = "MUR"
    MVR = "MVR"
    MWK = "MWK"
    MXN = "MXN"
    MXV = "MXV"
    MYR = "MYR"
    MZN = "MZN"
    NAD = "NAD"
    NGN = "NGN"
    NIO = "NIO"
    NOK = "NOK"
    NPR = "NPR"
    NZD = "NZD"
    OMR = "OMR"
    PAB = "PAB"
    PEN = "PEN"
    PGK = "PGK"
    PHP = "PHP"
    PKR = "PKR"
    PLN = "PLN"
    PYG = "PYG"
    QAR = "QAR"
    RON = "RON"
    RSD = "RSD"
    RUB = "RUB"
    RWF = "RWF"
    SAR = "SAR"
    SBD = "SBD"
    SCR = "SCR"
    SDG = "SDG"
    SEK = "SEK"
    SGD = "SGD"
    SHP = "SHP"
    SLL = "SLL"
    SOS = "SOS"
    SRD = "SRD"
    SSP = "SSP"
    STN = "STN"
    SVC = "SVC"
    SYP = "SYP"
    SZL = "SZL"
    THB = "THB"
    TJS = "TJS"
    TMT = "TMT"
    TND = "TND"
    TOP = "TOP"
    TRY = "TRY"
    TTD = "TTD"
    TWD = "TWD"
    TZS = "TZS"
    UAH = "UAH"
    UGX = "UGX"
    USD = "USD"
    USN = "USN"
    UYI = "UYI"
    UYU = "UYU"
    UYW = "UYW"
    UZS = "UZS"
    VES = "VES"
    VND = "VND"
    VUV = "VUV"
    WST = "WST"
    XAF = "XAF"
    XAG = "XAG"
    XAU = "XAU"
    XBA = "XBA"
    XBB = "XBB"
    XBC = "XBC"
    XBD = "XBD"
    XCD = "XCD"
    XCG = "XCG"
    XDR = "XDR"
    XOF = "XOF"
    XPD = "XPD"
    XPF = "XPF"
    XPT = "XPT"
    XSU = "XSU"
    XUA = "XUA"
    XXX = "XXX"
    YER = "YER"
    ZAR = "ZAR"
    ZMW = "ZMW"
    ZWL = "ZWL"


class InvoicingMode(StrEnum):
    """Known values of KSeF ``InvoicingMode``."""

    ONLINE = "Online"
    OFFLINE = "Offline"


class SortOrder(StrEnum):
    """Known values of KSeF ``SortOrder``."""

    ASC = "Asc"
    DESC = "Desc"


class AuthenticationContextIdentifier(KsefModel):
    """The context (NIP, internal id, NIP-VAT-UE or Peppol id) a caller authenticates into."""

    type: str  # AuthenticationContextIdentifierType
    value: str


class EncryptionInfo(KsefModel):
    """The AES-256 key (RSA-OAEP encrypted, Base64) and IV (Base64) a session or export is
    encrypted with.
    """

    encrypted_symmetric_key: str
    initialization_vector: str
    public_key_id: str | None = None


class WireFormCode(KsefModel):
    """The invoice schema a session carries (``systemCode`` e.g. ``FA (3)``, ``schemaVersion``
    e.g. ``1-0E``, ``value`` e.g. ``FA``); see ``ksefkit.formcodes.FormCode`` for the known
    ones.
    """

    system_code: str
    schema_version: str
    value: str


class InvoiceStatusInfo(KsefModel):
    """The processing status of one invoice in a session (code 100/150/200 or a rejection code
    such as 440 duplicate), with optional details and extensions.
    """

    code: int
    description: str
    details: list[str] | None = None
    extensions: dict[str, str | None] | None = None


class StatusInfo(KsefModel):
    """A status of an asynchronous KSeF operation: numeric ``code`` (100 in progress, 200 success,
    4xx/5xx failures), description and optional details.
    """

    code: int
    description: str
    details: list[str] | None = None


class TokenInfo(KsefModel):
    """A JWT issued by KSeF (authentication, access or refresh token) with its expiry.

    ``repr`` never shows the token itself.
    """

    token: str = Field(repr=False)
    valid_until: datetime
