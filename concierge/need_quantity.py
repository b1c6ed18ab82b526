"""How many the client wants ("21 capsules", "amasashe 2", "x3") and whether it is urgent."""

from __future__ import annotations

import re

from .need_text import fold

_UNITS = (
    r"capsules?|caps|tablets?|tabs?|pills?|pieces?|pcs|pc|bags?|sacks?|boxe?s?|bottles?|packs?|"
    r"packets?|units?|pairs?|kgs?|kilos?|kilograms?|litres?|liters?|ltrs?|l|metres?|meters?|dozens?|"
    r"sheets?|rolls?|cartons?|tins?|tubes?|sachets?|reams?|comprimes?|gelules?|boites?|flacons?|sacs?|"
    r"paquets?|paires?|bouteilles?|amasashe|isashe|imifuka|umufuka|ibiro|litiro|udupaki|amapaki|"
    r"amacupa|icupa|ibinini|ibice|ibipande"
)
_COUNT_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|"
    r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|douze|vingt"
)
_QUANTITY_RX = re.compile(
    rf"(?<![\w.,])(?:\d{{1,5}}|{_COUNT_WORDS})\s?(?:{_UNITS})\b"
    rf"|\b(?:amasashe|imifuka|ibiro|litiro|udupaki|amapaki|amacupa|ibinini|ibice)\s+\d{{1,5}}\b"
    r"|\b(?:qty|quantity|quantite|umubare)\s*[:=]?\s*\d{1,5}\b"
    r"|(?<![\w.,])(?:x\s?\d{1,4}|\d{1,4}\s?x)(?![\w.,])"
)
URGENT_RX = re.compile(
    r"(?:\b(?:en|d'|c'?est|it'?s|it is|very|so|tres|par)\s*)?\b(?:urgent|urgently|urgence|urgente|asap|a\.s\.a\.p|now|immediately|emergency|quickly|"
    r"vite|rapidement|tout de suite|byihuse|vuba vuba|vuba|nonaha|ako kanya)\b"
)


def quantity_in(text: str) -> str | None:
    m = _QUANTITY_RX.search(fold(text))
    return " ".join(text[m.start() : m.end()].split()) if m else None


def is_urgent(text: str) -> bool:
    return URGENT_RX.search(fold(text)) is not None
