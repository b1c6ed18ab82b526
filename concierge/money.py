"""Amounts of money as people write them in chat and as receipts print them: the one place a written
amount becomes a number (francs, for chat).

In chat "12,500", "12.500", "12 500" and "12'500" group thousands; "12,5" and "12.5" carry a decimal;
"15k", "1.2 million", "mille", "ibihumbi" (rw) multiply. The readers find numbers in the folded text
(``folding.fold``), where the no-break and narrow no-break spaces that French keyboards group
thousands with are already plain spaces, so "12 500" reads the same however the space was typed. Whether a number *is* money depends on who
wrote it and where, so that stays with each reader: a client's budget needs a cue word, a currency
or a "k" (``need_budget``); a vendor's price a currency, a "k" or enough digits (``reply_prices``).
Their currency words differ too ("rfw", "/=" are read only in replies): merging the lists would
make new texts money.

A printed amount on a receipt or invoice follows stricter rules, so it has its own reader,
``printed_amount``, sharing the thousands grouping and the value of a written number: a point is a
decimal point with one or two digits after it, and groups thousands only twice or more ("1.500" is no
printed amount, "1.500.000" is); a comma groups thousands and may be followed by a decimal point
("1,234.56"); a comma then two digits carries cents ("9,50"); ".01" is an amount under one unit. A
leading currency (RWF, FRW, RM, USD, KSH, Rs, $, €, £) or a trailing RWF/FRW is dropped, and spaces
inside are ignored. Anything else is no amount (None) rather than an error: OCR reads all kinds of
text. Repairs of what the engine misread (an O for a 0, a decimal point read as a space) are not about
money and stay in ``ocr_amounts``.
"""

from __future__ import annotations

import re

# The word after (or, in Kinyarwanda, before) a number that multiplies it.
MULTIPLIERS: dict[str, int] = {
    "k": 1_000,
    "thousand": 1_000,
    "mille": 1_000,
    "ibihumbi": 1_000,
    "m": 1_000_000,
    "million": 1_000_000,
    "millions": 1_000_000,
    "mln": 1_000_000,
    "miliyoni": 1_000_000,
}


def _thousands(separator: str, groups: str = "+") -> str:
    """Digits grouped by threes: one to three digits, then whole groups of three after a separator."""
    return rf"\d{{1,3}}(?:{separator}\d{{3}}){groups}"


# In chat any of the separators groups thousands, mixed ones too.
_GROUPED = re.compile(_thousands("[ ,.']"))
# On a receipt a comma groups thousands, and a decimal point may follow: "1,234.56".
_COMMA_GROUPED_CENTS = re.compile(_thousands(",") + r"\.\d{1,2}")
# The rest of what a receipt prints, all read as ``written_number`` reads them: comma groups; point
# groups, only twice or more ("1.500" is 1.5 or 1500 depending on the shop, so it is no amount);
# digits with one or two decimals after a point or two after a comma; cents alone (".01").
_PRINTED = re.compile(
    rf"{_thousands(',')}|{_thousands(re.escape('.'), '{2,}')}|\d+(?:\.\d{{1,2}}|,\d{{2}})?|\.\d{{2}}"
)
# A currency marker says nothing about the number itself.
_CURRENCY_BEFORE = re.compile(r"^(?i:rwf|frw|rm|usd|ksh|rs|\$|€|£)[.:]?")
_CURRENCY_AFTER = re.compile(r"(?i:rwf|frw)$")
# Every space character (Unicode's "Zs"): a receipt typeset or scanned from a PDF may group
# thousands with a no-break or thin space ("12\u00a0500"), which reads as the plain space does.
_SPACES = re.compile("[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def written_number(number: str) -> float:
    """The value of a number as written: '12,500' -> 12500.0, "1'500" -> 1500.0, '12,5' -> 12.5.

    ``number`` is digits with at most thousands separators (space, comma, point, apostrophe) or
    one decimal comma or point, as the readers' patterns find it; anything else raises ValueError.
    """
    if _GROUPED.fullmatch(number):
        return float(re.sub(r"\D", "", number))
    return float(number.replace(",", "."))


def printed_amount(text: str) -> float | None:
    """The value of an amount as a receipt prints it: '12,500' -> 12500.0, 'RM 9.00' -> 9.0,
    '1.500.000' -> 1500000.0, '1,234.56' -> 1234.56, '.01' -> 0.01; None when it is no amount."""
    t = _SPACES.sub("", (text or "").strip())
    t = _CURRENCY_BEFORE.sub("", t)
    t = _CURRENCY_AFTER.sub("", t)
    if _COMMA_GROUPED_CENTS.fullmatch(t):
        return float(t.replace(",", ""))  # written_number reads one kind of separator, not both
    if _PRINTED.fullmatch(t):
        return written_number(t)
    return None


def francs(number: str, multiplier: str | None = None) -> int:
    """Whole francs of a written number and the word that multiplies it ('15', 'k' -> 15000)."""
    return int(round(written_number(number) * MULTIPLIERS.get(multiplier or "", 1)))
