"""Invoice totals from lines: the ``P_13_x`` / ``P_14_x`` / ``P_14_xW`` / ``P_15`` rules.

The rules (art. 106e ust. 1 pkt 13-15 and ust. 11 of the VAT act, as the FA(3) field
descriptions prescribe):

* a net-priced line (``P_11``) contributes its net value; VAT is computed once per rate on
  the summed net of that rate, ``net × rate / 100``, rounded half-up to grosze;
* a gross-priced line (``P_11A``, art. 106e ust. 7-8) contributes its gross value; the VAT
  of a rate is ``gross × rate / (100 + rate)`` rounded half-up, the net is gross − VAT;
* 23 % and 22 % share ``P_13_1``/``P_14_1``, 8 % and 7 % share ``P_13_2``/``P_14_2``, 4 % and
  3 % (the taxi flat rates) share ``P_13_4``/``P_14_4``; each rate is rounded on its own,
  then the amounts are added;
* 0 %, exempt, reverse-charge and not-taxable lines fill their net field only; lines without
  ``P_12`` (margin scheme) fill ``P_13_11`` with their gross value; ``P_12_XII`` (OSS) lines
  fill ``P_13_5``/``P_14_5``;
* lines marked ``StanPrzed`` (state before a correction) count negatively, each side
  rounded on its own, so original + correction = corrected invoice;
* ``P_15`` is the sum of every net and VAT amount;
* with an exchange rate, ``P_14_xW`` = ``P_14_x × rate`` rounded half-up (x = 1..4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .model import InvoiceLine, VatRate

__all__ = [
    "RATE_FIELDS",
    "RateFields",
    "compute_totals",
    "round_grosze",
    "split_gross",
    "vat_of",
]

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class RateFields:
    """The ``InvoiceData`` attribute names a VAT rate's totals go to."""

    net: str
    vat: str | None = None
    vat_pln: str | None = None


_STANDARD = RateFields("net_standard", "vat_standard", "vat_standard_pln")
_REDUCED = RateFields("net_reduced", "vat_reduced", "vat_reduced_pln")
_REDUCED_2 = RateFields("net_reduced_2", "vat_reduced_2", "vat_reduced_2_pln")
_TAXI = RateFields("net_taxi", "vat_taxi", "vat_taxi_pln")
_OSS = RateFields("net_oss", "vat_oss")
_MARGIN = RateFields("net_margin")

#: Where each ``P_12`` rate's net / VAT / VAT-in-PLN totals go.
RATE_FIELDS: Mapping[VatRate, RateFields] = {
    VatRate.R23: _STANDARD,
    VatRate.R22: _STANDARD,
    VatRate.R8: _REDUCED,
    VatRate.R7: _REDUCED,
    VatRate.R5: _REDUCED_2,
    VatRate.R4: _TAXI,
    VatRate.R3: _TAXI,
    VatRate.ZERO_DOMESTIC: RateFields("net_zero_domestic"),
    VatRate.ZERO_WDT: RateFields("net_zero_wdt"),
    VatRate.ZERO_EXPORT: RateFields("net_zero_export"),
    VatRate.EXEMPT: RateFields("net_exempt"),
    VatRate.NOT_TAXABLE: RateFields("net_outside_country"),
    VatRate.NOT_TAXABLE_EU_SERVICES: RateFields("net_eu_services"),
    VatRate.REVERSE_CHARGE: RateFields("net_reverse_charge"),
}


def round_grosze(value: Decimal) -> Decimal:
    """Round half-up to 2 places (art. 106e ust. 11).

    >>> round_grosze(Decimal("0.125")), round_grosze(Decimal("-0.125"))
    (Decimal('0.13'), Decimal('-0.13'))
    """
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def vat_of(net: Decimal, percent: Decimal) -> Decimal:
    """VAT on a net amount, rounded to grosze.

    >>> vat_of(Decimal("1626.01") + Decimal("40.65"), Decimal(23))
    Decimal('383.33')
    """
    return round_grosze(net * percent / _HUNDRED)


def split_gross(gross: Decimal, percent: Decimal) -> tuple[Decimal, Decimal]:
    """(net, VAT) of a gross amount at ``percent``: VAT = gross × p / (100 + p), rounded.

    >>> split_gross(Decimal("20000"), Decimal(23))
    (Decimal('16260.16'), Decimal('3739.84'))
    """
    vat = round_grosze(gross * percent / (_HUNDRED + percent))
    return gross - vat, vat


@dataclass
class _Side:
    net: Decimal = Decimal(0)
    gross: Decimal = Decimal(0)
    has_net: bool = False
    has_gross: bool = False

    def amounts(self, percent: Decimal | None) -> tuple[Decimal, Decimal]:
        """(net, VAT) of this side of a rate group."""
        if percent is None:
            return self.net + self.gross, Decimal(0)
        vat = vat_of(self.net, percent) if self.has_net else Decimal(0)
        if self.has_gross:
            gross_net, gross_vat = split_gross(self.gross, percent)
            return self.net + gross_net, vat + gross_vat
        return self.net, vat


def _group(line: InvoiceLine) -> tuple[RateFields, Decimal | None]:
    if line.vat_rate is not None:
        return RATE_FIELDS[line.vat_rate], line.vat_rate.percent
    if line.oss_vat_rate is not None:
        return _OSS, line.oss_vat_rate
    return _MARGIN, None


def compute_totals(
    lines: Iterable[InvoiceLine], *, exchange_rate: Decimal | None = None
) -> dict[str, Decimal]:
    """``{InvoiceData attribute: amount}`` for every total the lines fill, plus ``total``
    (``P_15``). Lines with neither ``P_11`` nor ``P_11A`` contribute nothing.

    >>> from ksefkit.fa3.model import InvoiceLine, VatRate
    >>> compute_totals([
    ...     InvoiceLine(number=1, net_amount=Decimal("1626.01"), vat_rate=VatRate.R23),
    ...     InvoiceLine(number=2, net_amount=Decimal("40.65"), vat_rate=VatRate.R23),
    ...     InvoiceLine(number=3, net_amount=Decimal("0.95"), vat_rate=VatRate.R5)])
    {'net_standard': Decimal('1666.66'), 'vat_standard': Decimal('383.33'), \
'net_reduced_2': Decimal('0.95'), 'vat_reduced_2': Decimal('0.05'), 'total': Decimal('2050.99')}
    """
    # (fields, percent) -> [after, before]; percent is part of the key so 23 % and 22 %
    # are rounded separately although they share P_13_1.
    groups: dict[tuple[RateFields, Decimal | None], tuple[_Side, _Side]] = {}
    for line in lines:
        if line.net_amount is None and line.gross_amount is None:
            continue
        key = _group(line)
        sides = groups.setdefault(key, (_Side(), _Side()))
        side = sides[1] if line.before_correction else sides[0]
        if line.net_amount is not None:
            side.net += line.net_amount
            side.has_net = True
        else:
            assert line.gross_amount is not None
            side.gross += line.gross_amount
            side.has_gross = True
    totals: dict[str, Decimal] = {}
    total = Decimal(0)
    for (fields, percent), (after, before) in groups.items():
        net_after, vat_after = after.amounts(percent)
        net_before, vat_before = before.amounts(percent)
        net, vat = net_after - net_before, vat_after - vat_before
        totals[fields.net] = totals.get(fields.net, Decimal(0)) + net
        total += net + vat
        if fields.vat is not None:
            totals[fields.vat] = totals.get(fields.vat, Decimal(0)) + vat
            if exchange_rate is not None and fields.vat_pln is not None:
                pln = round_grosze(vat * exchange_rate)
                totals[fields.vat_pln] = totals.get(fields.vat_pln, Decimal(0)) + pln
    totals["total"] = total
    return totals
