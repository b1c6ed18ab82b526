"""Amounts of money as people write them in chat: the one place a written amount becomes francs.

"12,500", "12.500", "12 500" and "12'500" group thousands; "12,5" and "12.5" carry a decimal;
"15k", "1.2 million", "mille", "ibihumbi" (rw) multiply. Whether a number *is* money depends on who
wrote it and where, so that stays with each reader: a client's budget needs a cue word, a currency
or a "k" (``need_budget``); a vendor's price a currency, a "k" or enough digits (``reply_prices``).
Their currency words differ too ("rfw", "/=" are read only in replies): merging the lists would
make new texts money.
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
# Whole groups of three digits after the first one to three: the separators group thousands.
_GROUPED = re.compile(r"\d{1,3}(?:[ ,.']\d{3})+")


def written_number(number: str) -> float:
    """The value of a number as written: '12,500' -> 12500.0, "1'500" -> 1500.0, '12,5' -> 12.5.

    ``number`` is digits with at most thousands separators (space, comma, point, apostrophe) or
    one decimal comma or point, as the readers' patterns find it; anything else raises ValueError.
    """
    if _GROUPED.fullmatch(number):
        return float(re.sub(r"\D", "", number))
    return float(number.replace(",", "."))


def francs(number: str, multiplier: str | None = None) -> int:
    """Whole francs of a written number and the word that multiplies it ('15', 'k' -> 15000)."""
    return int(round(written_number(number) * MULTIPLIERS.get(multiplier or "", 1)))
