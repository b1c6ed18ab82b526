"""The numbered answers of a reply: where answer 1 (stock) to answer 4 (options) start and end.

Vendors number their answers every way WhatsApp allows ("1. yes", "1) yes", "1 yes", "1️⃣ yes",
"Price: 15k"); this finds the one chain of markers that reads as answers, so the other rules can
read each answer on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_START = r"(?<![^\s,;:(\[])"
_STRICT_MARK = re.compile(_START + r"([1-4])\s*(?:[.)\]:/]|-(?!\d))+(?!\d)")
# "2.15,000": a question number glued to a price.
_TIGHT_MARK = re.compile(_START + r"([1-4])[.)](?=\d{2,}|\d{1,3}[, ]\d{3})")
# "1 yes 2 15k 3 near Remera": bare numbers, but never "3 500" (a thousands group).
_LOOSE_MARK = re.compile(_START + r"([1-4])\s+(?!\d{3}(?!\d))(?=\S)")
_LABELS = (
    (1, r"stock|availability|available|disponibilite|dispo|birahari"),
    (2, r"price|prices|prix|igiciro|ibiciro|cost"),
    (3, r"location|place|lieu|adresse|address|aho|landmark|localisation"),
    (4, r"options?|colou?rs?|couleurs?|sizes?|tailles?|amabara"),
)
_LABEL_MARK = re.compile(
    r"(?<![\w])(" + "|".join(f"(?P<l{n}>{p})" for n, p in _LABELS) + r")\s*\??\s*[:=]"
)


@dataclass(frozen=True)
class _Mark:
    number: int
    start: int
    end: int
    strict: bool
    tight: bool = False


def _candidates(folded: str) -> list[_Mark]:
    marks = [_Mark(int(m.group(1)), m.start(1), m.end(), True) for m in _STRICT_MARK.finditer(folded)]
    marks += [
        _Mark(int(m.group(1)), m.start(1), m.end(), True, tight=True)
        for m in _TIGHT_MARK.finditer(folded)
    ]
    marks += [_Mark(int(m.group(1)), m.start(1), m.end(), False) for m in _LOOSE_MARK.finditer(folded)]
    for m in _LABEL_MARK.finditer(folded):
        number = next(n for n, _ in _LABELS if m.group(f"l{n}"))
        marks.append(_Mark(number, m.start(), m.end(), True))
    return sorted(marks, key=lambda k: (k.start, not k.strict, k.number))


def _chain(marks: list[_Mark], folded: str, *, allow_loose: bool) -> list[_Mark]:
    usable = [m for m in marks if m.strict or allow_loose]
    firsts = [m for m in usable if m.number == 1 and (m.strict or not folded[: m.start].strip())]
    if not firsts:
        return []
    chain = [firsts[0]]
    for mark in usable:
        last = chain[-1]
        if mark.start < last.end or mark.number <= last.number:
            continue
        if mark.number <= last.number + 2:  # a skipped question is fine, a jump of three is not
            chain.append(mark)
    return chain


def numbered_sections(folded: str) -> tuple[dict[int, tuple[int, int]], list[_Mark]]:
    marks = _candidates(folded)
    starts = _label_starts(folded)
    labels = [m for m in marks if m.start in starts]
    labels_ok = bool(labels) and len({m.number for m in labels}) == len(labels)
    if labels_ok and len(labels) >= 2:
        # "Price: 15k / Location: Remera / Stock: yes": labels say which answer is which.
        return _sections_of(labels, folded), labels
    numbers = [m for m in marks if m.start not in starts]
    strict = _chain(numbers, folded, allow_loose=False)
    loose = _chain(numbers, folded, allow_loose=True)
    # Glued markers ("2.7000") only count next to a plain one, or "1.500 rwf" would be an answer.
    strict_ok = any(not m.tight for m in strict) and (
        len(strict) >= 2 or not folded[: strict[0].start].strip()
    )
    if strict_ok and len(strict) >= len(loose):
        chain = strict
    elif len(loose) >= 3 and any(not m.tight for m in loose):
        chain = loose
    elif labels_ok:
        chain = labels
    else:
        return {}, []
    return _sections_of(chain, folded), chain


def _label_starts(folded: str) -> set[int]:
    return {m.start() for m in _LABEL_MARK.finditer(folded)}


def _sections_of(chain: list[_Mark], folded: str) -> dict[int, tuple[int, int]]:
    sections: dict[int, tuple[int, int]] = {}
    for i, mark in enumerate(chain):
        end = chain[i + 1].start if i + 1 < len(chain) else len(folded)
        sections[mark.number] = (mark.end, end)
    return sections
