"""The location note of a reply: "near Kimironko market", "a cote de la gare", "hafi ya Nyabugogo".

An explicit preposition ("near", "pres de", "hafi ya") always starts a note; an ambiguous one
("in", "a", "i") only when a gazetteer place, a landmark word or a capital letter follows.
"""

from __future__ import annotations

import re

from concierge.geo import find_place_in, lookup_place
from concierge.reply_options import VOCAB
from concierge.reply_text import TRIM, clip

_EXPLICIT_PREP = re.compile(
    r"\b(?:near|nearby|behind|opposite|next\s+to|close\s+to|beside|around|along|inside"
    r"|located\s+(?:at|in)|based\s+(?:at|in)|find\s+us\s+(?:at|in)|(?:we\s+are|we'?re|i'?m|i\s+am)\s+"
    r"(?:at|in|near)|pres\s+de|pres\s+du|a\s+cote\s+d[eu]|en\s+face\s+d[eu]|derriere|devant"
    r"|hafi\s+ya|hafi\s+y'|imbere\s+ya|inyuma\s+ya|iruhande\s+rw[ae]|ruguru\s+ya|munsi\s+ya"
    r"|duherereye)\b\s*"
)
_AMBIGUOUS_PREP = re.compile(r"\b(at|in|a|au|i|mu|ku|kuri|chez|kwa)\s+")
_ARTICLE = re.compile(r"\s*(?:the|la|le|les|l'|du|des)\s+")
_NOT_PLACES = {"stock", "store", "bulk", "cash", "total", "good", "time", "condition", "advance",
               "order", "english", "french", "kinyarwanda", "box", "person", "case", "general",
               "fact", "progress", "transit"}
_LANDMARK = re.compile(
    r"\b(?:market|marche|isoko|station|gare|bus\s*park|parking|hospital|hopital|ibitaro|church"
    r"|eglise|mosque|mosquee|stadium|stade|school|ecole|mall|building|tower|road|street|avenue|ave"
    r"|rue|umuhanda|centre|center|pharmacy|pharmacie|farumasi|shop|plaza|arcade|bank|banque|kg|kk|kn"
    r"|junction|roundabout|rond-point|hotel|restaurant|supermarket|gate|gereza|ku\s+isoko)\b"
)
_LOCATION_END = re.compile(
    r"[,.;!?\n()\[\]]|\s(?:and|et|na|but|mais|ariko|call|appel\w*|price|prix|igiciro|we|nous|tu)\s"
)
_MAX_LOCATION_WORDS = 8


def _phrase_end(folded: str, start: int, stops: list[int]) -> int:
    end = len(folded)
    m = _LOCATION_END.search(folded, start)
    if m:
        end = m.start()
    for s in stops:
        if start < s < end:
            end = s
    words = list(re.finditer(r"\S+", folded[start:end]))
    if len(words) > _MAX_LOCATION_WORDS:
        end = start + words[_MAX_LOCATION_WORDS - 1].end()
    return end


def _target_ok(original: str, folded: str, start: int, end: int, *, capitals: bool) -> bool:
    """Whether the words after an ambiguous preposition ("in", "i", "a") name a place."""
    target = folded[start:end]
    m = _ARTICLE.match(target)
    head = target[m.end() :] if m else target
    words = head.split()
    if not words or words[0][0].isdigit() or words[0].strip(TRIM) in _NOT_PLACES:
        return False
    if re.match(rf"(?:{VOCAB})\b", head):  # "in black", "in 64GB": an option, not a place
        return False
    for size in (3, 2, 1):
        if len(words) >= size and lookup_place(" ".join(words[:size])):
            return True
    if _LANDMARK.search(" ".join(words[:3])):
        return True
    first = original[start + (m.end() if m else 0) :].lstrip()
    return capitals and bool(first) and first[0].isupper()


def read_location(original: str, folded: str, stops: list[int]) -> str | None:
    found: list[tuple[int, int]] = []
    for m in _EXPLICIT_PREP.finditer(folded):
        end = _phrase_end(folded, m.end(), stops)
        head = folded[m.end() : end].strip()
        if head and not head[0].isdigit():
            found.append((m.start(), end))
            break
    for m in _AMBIGUOUS_PREP.finditer(folded):
        end = _phrase_end(folded, m.end(), stops)
        capitals = m.group(1) in ("at", "in", "chez", "kwa")
        if _target_ok(original, folded, m.end(), end, capitals=capitals):
            found.append((m.start(), end))
            break
    if found:
        start, _ = min(found)
        note = clip(original, start, _phrase_end(folded, start + 1, stops))
        if note:
            return note
    place = find_place_in(folded)
    return place.name if place else None
