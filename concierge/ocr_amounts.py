"""Money as OCR reads it: the amounts in a stretch of text (lookalike letters, grouping spaces and a
decimal point read as a space repaired), whether a page prints cents, and amounts in whole cents so
sums compare exactly. One printed amount ('12,500', '1.500.000', '9,00', '.01', 'RM 9.00') becomes a
number in ``money.printed_amount``, where every written amount does; only the repairs of what the
engine misread live here.
"""

from __future__ import annotations

import re

from concierge.money import printed_amount
from concierge.ocr_fields import DIGIT_LOOKALIKE, LOOKALIKE_CHARS

# ".01": receipts print an amount under one unit without its leading zero (a rounding of RM .01).
_MONEY = re.compile(r"(?<![\d.,])\.\d{2}(?!\d)|\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?")
# A decimal point read as a space: "6 00" is 6.00 only when exactly two digits follow, at line end.
_SPACE_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d,]|\.\d{3})")
# Engines read a space after a decimal point ("62. 80"); a point then two digits is still the cents.
_SPACE_AFTER_POINT = re.compile(r"(?<![\d.,])(\d+)\. (\d{2})(?![\d.,:/-])")
# Two decimals at the end of a printed amount: "9.00", "12,50" (not the thousands of "12,500").
_DECIMALS = re.compile(r"[.,]\d{2}$")
# A page "prints cents" when at least this many amounts carry two decimals.
MIN_CENTS_AMOUNTS = 3
_SPACE_DECIMAL = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})*|\d+) (\d{2})\s*$")
# A word of lookalike letters only ("O", "lO", "|") beside a digit; a letter of any other word keeps
# the word whole. An engine that drops spaces glues a currency or TOTAL to the amount ("RMl0.00",
# "TOTALl0.00"): what follows such a word is a word of its own.
_LOOK = f"[{re.escape(LOOKALIKE_CHARS)}]"
_LETTER = r"[^\W\d_]|\|"
_GLUED = "|".join(f"(?<=(?i:{word}))" for word in ("total", "rm", "rwf", "frw", "usd", "ksh"))
_LOOKALIKE_WORD = re.compile(rf"(?<=\d){_LOOK}+(?!{_LETTER})|(?:(?<!{_LETTER})|{_GLUED}){_LOOK}+(?=\d)")


def parse_amount(text: str) -> float | None:
    """'12,500' -> 12500, '9.00' -> 9.0, '1.500.000' -> 1500000; None when it is no amount.

    The receipt's way of writing money is ``money.printed_amount``'s; this name stays for the readers
    of OCR text."""
    return printed_amount(text)


def amounts_in(text: str) -> list[float]:
    """Money amounts in a stretch of text, letters read for digits fixed (``fix_lookalikes``)."""
    return [amount for amount, _ in amounts_read(text)]


def amounts_read(text: str) -> list[tuple[float, bool]]:
    """``amounts_in`` with, for each amount, whether it was printed with decimals ("9.00", "9,50")."""
    return amounts_of_fixed(fix_lookalikes(text))


def fix_lookalikes(text: str) -> str:
    """Letters read for digits put back as digits ("1O.50", "l2.00", "9.0O", "1OO.00"): a word made
    only of lookalike letters that touches a digit. A letter of a longer word is the word's own
    ("TOTAL0" is the word TOTAL and a 0), unless the word is TOTAL or a currency glued to the amount
    ("RMl0", "TOTALl0" are RM 10, TOTAL 10). Same length as ``text``, so a reader of part of a line
    can fix the whole line first and keep its positions."""
    return _LOOKALIKE_WORD.sub(lambda m: m.group(0).translate(DIGIT_LOOKALIKE), text)


def amounts_of_fixed(text: str) -> list[tuple[float, bool]]:
    """``amounts_read`` of a text whose lookalike letters ``fix_lookalikes`` has already fixed (in
    the whole line: a stretch cut from it would lose the word a letter belongs to)."""
    # French convention: a space groups thousands ("12 500 FRW"); only whole groups of three digits.
    text = _SPACE_THOUSANDS.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _SPACE_AFTER_POINT.sub(r"\1.\2", text)
    text = _SPACE_DECIMAL.sub(r"\1.\2", text)
    found = [(parse_amount(m.group(0)), bool(_DECIMALS.search(m.group(0)))) for m in _MONEY.finditer(text)]
    return [(a, decimals) for a, decimals in found if a is not None]


def prints_cents(texts: list[str]) -> bool:
    """The page writes its amounts with two decimals (RM 9.00), as receipts in a currency with cents
    do: at least ``MIN_CENTS_AMOUNTS`` of them. A page in whole francs (12,500 FRW) does not."""
    return sum(decimals for text in texts for _, decimals in amounts_read(text.lower())) >= MIN_CENTS_AMOUNTS


def cents_of(amount: float) -> int:
    return int(round(amount * 100))


def money_value(cents: int) -> int | float:
    return cents // 100 if cents % 100 == 0 else cents / 100
