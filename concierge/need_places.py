"""Where a need is: a gazetteer place named in the text, or the client's registered area.

Also the phrases that name a place ("I'm in Remera", "hafi ya Nyabugogo"), known or not, so the
item reader can cut them out of the item.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .geo import find_place_in, gazetteer, lookup_place
from .need_text import MAX_ITEM, folded_words

_PLACE_PREAMBLE = (
    r"(?:i'?m|i am|we'?re|we are|i live|je suis|nous sommes|j'?habite|ndi|turi|ntuye|mba|tuba)"
)
_PLACE_PREPOSITION = (
    r"(?:in|at|near|around|close to|next to|from|to|a|au|aux|en|dans|vers|pres de|pres du|"
    r"du cote de|mu|i|ku|kuri|muri|hafi ya|hafi y'|hafi)"
)


@lru_cache(maxsize=1)
def place_rx() -> re.Pattern[str]:
    names: set[str] = set()
    for place in gazetteer():
        for name in (place.name, *place.aliases):
            words = folded_words(name)
            if words:
                names.add(r"[\W_]+".join(re.escape(w) for w in words))
    alternation = "|".join(sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(
        rf"(?:\b{_PLACE_PREAMBLE}\s+)?(?:\b{_PLACE_PREPOSITION}\s*){{0,2}}(?:\bthe\s+)?"
        rf"\b(?:{alternation})\b(?:\s+(?:area|side|region|quartier|market|centre|center))?"
    )


# A place the gazetteer does not know still is not part of the item: "near Musanze bus park".
UNKNOWN_PLACE_RX = re.compile(
    r"\b(?:near|around|close to|next to|pres de|pres du|hafi ya|hafi y'|"
    r"i'?m (?:in|at)(?! need)|i am (?:in|at)(?! need)|i live in|je suis (?:a|au|pres de)(?! la recherche)|"
    r"j'?habite (?:a|au)|ndi (?:mu|i|ku)|turi (?:mu|i|ku)|ntuye (?:mu|i|ku))\b[^,;.!?\n]*?"
    r"(?=\s+(?:and|but|et|mais|na|ariko|kandi|need|i need|looking|je|j'|nkeneye|ndashaka)\b|\s*[,;.!?\n]|\s*$)"
)


def known_area_place(known_area: Any) -> str | None:
    if not isinstance(known_area, str) or not known_area.strip():
        return None
    place = lookup_place(known_area)
    return place.name if place is not None else " ".join(known_area.split())[:MAX_ITEM]


def place_in(text: str) -> str | None:
    try:
        place = find_place_in(text)
    except Exception:  # the gazetteer is shared code; a bad match must not lose the whole need
        return None
    return place.name if place is not None else None
