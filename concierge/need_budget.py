"""The client's budget: amounts of money, with the cue words that make a number a budget.

Numbers that belong to the item ("500mg", "21 capsules", "iPhone 12", "4k TV") are never money:
money needs a cue ("under", "munsi ya"), a currency or a "k".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .money import francs
from .need_text import fold

# A budget below this is a count, an age or a size that happened to follow a cue word.
_MIN_BUDGET_RWF = 100
_MAX_BUDGET_RWF = 1_000_000_000

_CURRENCY = r"(?:rwf|frw|frws|rwfs|francs?|frs|fr|amafaranga|amafr)"
# Thousands grouped as ``money`` reads them in chat, the apostrophe too ("12'500", and "12’500" once
# folded), as vendors' prices always were.
_NUMBER = r"(?:\d{1,3}(?:[ ,.']\d{3})+(?![\d,.'])|\d{1,10}(?:[.,]\d{1,2}(?!\d))?)"
_MONEY_RX = re.compile(
    rf"(?:(?P<pre>\b{_CURRENCY})\.?\s?|(?<![\w.,]))(?P<num>{_NUMBER})"
    rf"(?:\s?(?P<mult>k|million|millions|mille|thousand|m)\b)?(?:\s?(?P<cur>{_CURRENCY})\b)?"
)
_CUE_BEFORE = re.compile(
    r"(?:budget(?:\s+(?:is|of|de|est))?|under|below|less than|lower than|not more than|no more than|"
    r"not above|not exceeding|max(?:imum)?|maxi|at most|up to|upto|within|cheaper than|"
    r"moins de|pas plus de|au plus|au maximum|jusqu'?a|ne depassant pas|"
    r"munsi ya|ntarenze|bitarenze|atarenze|itarenze|kitarenze|ku giciro cya|igiciro cya|"
    r"between|entre|hagati ya)"
    r"\s*[:=-]?\s*$"
)
_CUE_AFTER = re.compile(r"^\s*(?:max(?:imum)?|maxi|budget|au plus|ntarenze)\b")
# "4k TV" is a screen, not four thousand francs.
_NOT_MONEY_AFTER = re.compile(r"^\s*(?:tv|hd|uhd|video|display|screen|monitor|resolution|ultra)\b")
_RANGE_JOIN = re.compile(r"^\s*(?:-|\u2013|to|and|a|et|kugeza|kugera|na)\s*$")


@dataclass(frozen=True)
class _Money:
    start: int
    end: int
    value: int
    strength: int  # 2: a budget cue says so; 1: a currency or "k" says it is money


def _money(text: str) -> list[_Money]:
    """Amounts of money in a text, with the span of their cue word ("under", "munsi ya") included."""
    folded = fold(text)
    found: list[_Money] = []
    for m in _MONEY_RX.finditer(folded):
        after = folded[m.end() : m.end() + 20]
        if after[:1].isalnum() or _NOT_MONEY_AFTER.match(after):
            continue  # "500mg", "12GB"
        cue = _CUE_BEFORE.search(folded[max(0, m.start() - 40) : m.start()])
        strong = cue is not None or _CUE_AFTER.match(after) is not None
        marked = bool(
            m.group("pre") or m.group("cur") or m.group("mult") in ("k", "thousand", "mille")
        )
        mult = m.group("mult")
        if mult == "m" and not (strong or m.group("pre") or m.group("cur")):
            continue  # "5m cable" is metres
        if not (strong or marked):
            continue
        value = francs(m.group("num"), mult)
        if not _MIN_BUDGET_RWF <= value <= _MAX_BUDGET_RWF:
            continue
        start = m.start() - (len(cue.group(0)) if cue else 0)
        after_cue = _CUE_AFTER.match(after)
        end = m.end() + (after_cue.end() if after_cue else 0)
        found.append(_Money(start, end, value, 2 if strong else 1))
    return found


def budget_in(text: str) -> int | None:
    amounts = _money(text)
    for strength in (2, 1):
        for i, amount in enumerate(amounts):
            if amount.strength < strength:
                continue
            value = amount.value
            # "10k-20k", "between 10,000 and 15,000 RWF": the budget is the top of the range.
            if i + 1 < len(amounts) and _RANGE_JOIN.match(
                fold(text[amount.end : amounts[i + 1].start])
            ):
                value = max(value, amounts[i + 1].value)
            return value
    return None


def money_spans(clause: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for amount in _money(clause):
        # "10k and 25k" goes as one piece, so no stray "and" is left inside the item.
        if spans and _RANGE_JOIN.match(fold(clause[spans[-1][1] : amount.start])):
            spans[-1] = (spans[-1][0], amount.end)
        else:
            spans.append((amount.start, amount.end))
    return spans
