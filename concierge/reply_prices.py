"""Prices in a reply: amounts in RWF, ranges ("15-30k"), and numbers that are not prices.

A vendor's text is full of numbers that are doses, sizes, models or counts ("500mg", "iPhone 12",
"3 left"); only amounts with a currency, a "k", or enough digits count as a price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .money import MULTIPLIERS, written_number

_NUMBER = re.compile(
    r"(?:(?<![\w.,])|(?<=rwf)|(?<=frw))"
    r"(?:\d{1,3}(?P<sep>[,.' ])\d{3}(?:(?P=sep)\d{3})*(?![\d])(?![.,]\d)|\d+(?:[.,]\d+)?(?!\d))"
)
_MULT_AFTER = re.compile(r"\s?(?:(k)(?![a-z])|(mille|thousand|million|millions|mln|miliyoni)\b)")
_MULT_BEFORE = re.compile(r"\b(ibihumbi|miliyoni)\s*$")
_CUR_BEFORE = re.compile(r"\b(?:rwf|frw|rfw|frs|rf|fr|rwf:|prix|price|igiciro)\.?\s*:?\s*$")
_CUR_AFTER = re.compile(
    r"\s*(?:rwf|frw|rfw|frs|francs?|fr\b|rf\b|/=|/-|amafaranga|amanyarwanda|f\b)"
)
_UNIT_AFTER = re.compile(
    r"\s*(?:mg|mcg|\u00b5g|ug|g|gr|grams?|kg|kilos?|ml|cl|l|litres?|liters?|iu|%|gb|tb|mb|mah|"
    r"inch(?:es)?|\"|cm|mm|m|km|w|v|hz|mp|caps?|capsules?|tabs?|tablets?|comprimes?|gelules?|ibinini"
    r"|pcs|pieces?|pc|boxes|box|bottles?|x|units?|strips?|packs?|pairs?|years?|yrs|months?|days?"
    r"|jours?|ans|weeks?|hrs?|hours?|h|heures?|min|mins|minutes?|am|pm|sachets?|doses?|times|fois"
    r"|people|persons|meters?|metres?|m2|sqm|bags?|sacs?|sheets?|rolls?|left|remaining|items?|ibice"
    r"|amacupa|model|models|series|pro|max|plus|ultra|st|nd|rd|th|ieme|eme|er)(?![a-z])"
)
_NOT_PRICE_BEFORE = re.compile(
    r"(?:\bx|\bqty|\bquantity|\bsize|\btaille|\bpointure|\bnimero|\bno\.?|\bnumber|\bnum|#|\biphone"
    r"|\bsamsung|\bgalaxy|\bmodel|\bversion|\bv|\bsize|\broom|\bkg|\bkn|\bkk|\bdose|\bdays?|\bafter|\bin)\s*$"
)
_RANGE_JOIN = re.compile(r"^\s*(?:-+|\u2013|\u2014|~|to|a|au|jusqu'a|kugeza|kugera|up\s+to)\s*$")
_MIN_BARE_PRICE = 100
_MIN_ANSWERED_PRICE = 50


@dataclass
class _Amount:
    start: int
    end: int
    value: float
    multiplier: int
    currency: bool
    unit: bool

    @property
    def rwf(self) -> int:
        return int(round(self.value * self.multiplier))


def _is_price(amount: _Amount, floor: int) -> bool:
    priced = amount.multiplier > 1 or amount.currency
    return amount.rwf >= (1 if priced else floor)


def _amounts(text: str) -> list[_Amount]:
    out: list[_Amount] = []
    for m in _NUMBER.finditer(text):
        value = written_number(m.group(0))
        before = text[max(0, m.start() - 20) : m.start()]
        end = m.end()
        multiplier = 1
        mult = _MULT_AFTER.match(text, end)
        mult_before = _MULT_BEFORE.search(before)
        if mult:
            multiplier = MULTIPLIERS[mult.group(1) or mult.group(2)]
            end = mult.end()
        elif mult_before:
            multiplier = MULTIPLIERS[mult_before.group(1)]
        cur = _CUR_AFTER.match(text, end)
        currency = bool(cur) or bool(_CUR_BEFORE.search(before))
        if cur:
            end = cur.end()
        unit = not mult and not cur and (
            bool(_UNIT_AFTER.match(text, m.end())) or bool(_NOT_PRICE_BEFORE.search(before))
        )
        out.append(_Amount(m.start(), end, value, multiplier, currency, unit))
    return out


@dataclass(frozen=True)
class Prices:
    low: int | None
    high: int | None
    inverted: bool
    spans: tuple[tuple[int, int], ...]


def read_prices(text: str, *, answered: bool) -> Prices:
    amounts = [a for a in _amounts(text) if not a.unit]
    pairs: list[tuple[_Amount, _Amount]] = []
    for left, right in zip(amounts, amounts[1:], strict=False):
        if _RANGE_JOIN.match(text[left.end : right.start]):
            pairs.append((left, right))
            # "15-30k" and "15,000 - 30,000 RWF": one side's k or currency is the other's too.
            if left.multiplier == 1 and right.multiplier > 1 and left.value * right.multiplier <= (
                right.value * right.multiplier * 10
            ):
                left.multiplier = right.multiplier
            left.currency = left.currency or right.currency
            right.currency = right.currency or left.currency
    floor = _MIN_ANSWERED_PRICE if answered else _MIN_BARE_PRICE
    kept = [a for a in amounts if _is_price(a, floor)]
    if not kept:
        return Prices(None, None, False, ())
    values = [a.rwf for a in kept]
    kept_ids = {id(a) for a in kept}
    inverted = any(
        id(left) in kept_ids and id(right) in kept_ids and left.rwf > right.rwf
        for left, right in pairs
    )
    return Prices(min(values), max(values), inverted, tuple((a.start, a.end) for a in kept))
