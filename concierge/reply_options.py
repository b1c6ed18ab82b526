"""The options a vendor offers (colours, sizes, capacities, brand or copy), as a short list.

Options reach the client's shortlist, so only short, distinct items are kept.
"""

from __future__ import annotations

import re

from concierge.geo import find_place_in
from concierge.reply_text import EMPTY_ANSWER, clip

VOCAB = (
    r"black|white|red|blue|green|grey|gray|silver|gold|golden|pink|yellow|brown|purple|orange|navy"
    r"|beige|cream|noire?|blanche?|rouge|bleue?|verte?|grise?|rose|jaune|marron|doree?|argent"
    r"|umukara|umweru|umutuku|ubururu|icyatsi|umuhondo|small|medium|large|x{0,3}l|xs|petit|moyen"
    r"|grand|\d+\s?(?:gb|tb|mb|mg|ml|g|kg|l|inch|\")|size\s+\d{1,2}|original|copy|new|used"
    r"|generic|brand|boxed|refurbished|plain|leather|plastic|metal"
)
_VOCAB_RUN = re.compile(
    rf"\b(?:{VOCAB})\b(?:\s*(?:,|/|\bor\b|\bou\b|\bcyangwa\b|\band\b|\bna\b|\bet\b|&)\s*"
    rf"\b(?:{VOCAB})\b)+"
)
_PRICED_OPTION = re.compile(
    rf"\b(?:{VOCAB})\b(?=\s*(?:is|at|for|ni|=|:|-)?\s*(?:rwf|frw)?\s*\d)"
)
_OPTIONS_LEAD = re.compile(
    r"\b(?:(?:available\s+in|comes?\s+in|we\s+have\s+(?:it\s+|them\s+)?in|disponible\s+en"
    r"|existe\s+en)\s*[:\-]?|(?:colou?rs?|sizes?|options?|models?|couleurs?|tailles?|amabara"
    r"|ingano)\s*:)\s*"
)
_OPTION_SPLIT = re.compile(r"\s*(?:,|/|;|\n|\bor\b|\bou\b|\bcyangwa\b|\band\b|\bna\b|\bet\b|&|\+)\s*")
_MAX_OPTIONS = 10
_MAX_OPTION_CHARS = 40


def split_options(original: str, folded: str, start: int, end: int) -> list[str]:
    items: list[str] = []
    pos = start
    for sep in list(_OPTION_SPLIT.finditer(folded, start, end)) + [None]:
        stop = sep.start() if sep else end
        item = clip(original, pos, stop)
        if item and not EMPTY_ANSWER.match(item.lower()) and len(item) <= _MAX_OPTION_CHARS:
            items.append(item)
        if sep:
            pos = sep.end()
    return items


def read_options(original: str, folded: str) -> list[str]:
    m = _OPTIONS_LEAD.search(folded)
    if m:
        end_m = re.compile(r"[.;!?\n]").search(folded, m.end())
        end = end_m.start() if end_m else len(folded)
        items = split_options(original, folded, m.end(), end)
        if items and not (find_place_in(folded[m.end() : end]) and not _VOCAB_RUN.search(folded)):
            return items
    run = _VOCAB_RUN.search(folded)
    if run:
        return split_options(original, folded, run.start(), run.end())
    # "Black is 15k, white 18k": each option named with its own price.
    priced = [clip(original, m.start(), m.end()) for m in _PRICED_OPTION.finditer(folded)]
    return priced if len(priced) >= 2 else []


def dedupe(items: list[str]) -> tuple[str, ...]:
    seen: list[str] = []
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.append(key)
            out.append(item)
    return tuple(out[:_MAX_OPTIONS])
