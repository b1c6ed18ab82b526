"""Stock phrases in en / fr / rw: in stock, out of stock or unclear, and how sure the words are.

Strong words ("sold out", "ntabwo dufite", "disponible") beat bare acknowledgements ("yes", "oya");
a hedge ("let me check") before any signal makes the answer vague.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NEUTRAL = re.compile(
    r"\b(?:no\s+(?:problem|worries|wahala|issue|stress)|pas\s+de\s+(?:probleme|souci)"
    r"|nta\s*kibazo|ntacyo\s+bitwaye|no\s+matter)\b"
)
_NEG_STRONG = re.compile(
    r"\bnot\s+(?:\w+\s+)?(?:available|availble|in\s+stock|there|any\s+left)\b|\bout\s+of\s+stock\b"
    r"|\bno\s+(?:stock|more|longer)\b|\bsold\s+out\b|\bfinished\b|\bran\s+out\b|\brun\s+out\b"
    r"|\bunavailable\b|\bnone\s+left\b|\bwe\s+have\s+none\b|\b(?:we'?re|we\s+are)\s+out\b"
    r"|\b(?:don'?t|dont|do\s+not|does\s+not|doesn'?t|haven'?t|havent|have\s+not|didn'?t)\s+"
    r"(?:\w+\s+){0,2}?(?:have|got|stock|sell|carry|keep)\w*"
    r"|\bpas\s+(?:\w+\s+)?(?:disponible|dispo|en\s+stock|de\s+stock)\b|\bindisponible\b"
    r"|\brupture\b|\bepuise\w*|\bplus\s+de\s+stock\b|\bfinie?s?\b"
    r"|\bn'(?:a|ai|avons|avez|ont|y\s+en\s+a|y\s+a)\s+(?:\w+\s+)?(?:pas|plus)\b"
    r"|\b(?:on|nous|je)\s+(?:n'|ne\s+)?(?:a|ai|avons|l'a|l'ai|l'avons)\s+(?:pas|plus)\b"
    r"|\bnt(?:abwo|a\w*|i\w*)\s+(?:\w+\s+)?\w*fite\b|\bsi[nm]\w*fite\b"
    r"|\bnta(?:yo|zo|byo|wo|yi)\b|\bntabwo\b|\bnt[ai]\w*fite\b|\bnt[ai]\w*hari\b|\bntibiri\b"
    r"|\b\w*shize\b|\b\w*rangiye\b|\bnti\w*bonek\w*|\b[bzy]?[iy]?abuze\b|\bnta\s+stock\b"
    r"|[\u274c\u2716\U0001f6ab]"
)
_NEG_ACK = re.compile(r"\b(?:no|non|nope|nah|oya|sorry|desole|mbabarira|n/a)\b")
_POS_STRONG = re.compile(
    r"\bavailab\w*|\bavail\b|\bavailble\b|\bin\s+stock\b|\bin\s+store\b|\bplenty\b"
    r"|\b(?:we|i)\s+(?:do\s+|still\s+)?(?:have|got|hv|hav|sell|stock|carry)\b|\bhave\s+it\b"
    r"|\bwe'?ve\s+got\b|\bthere\s+is\b|\bof\s+course\b"
    r"|\bdisponible\b|\bdispo\b|\ben\s+stock\b|\bon\s+(?:l'\s*)?a\b|\bnous\s+(?:l'\s*)?avons\b"
    r"|\bj'(?:en\s+|l')?ai\b|\bil\s+y\s+(?:en\s+)?a\b|\bbien\s+sure?\b"
    r"|\b\w*rahari\b|\b[bzi]?ihari\b|\b\w*fite\b|\b\w*raboneka\b"
    r"|[\u2705\u2714\U0001f44d]"
)
_POS_ACK = re.compile(r"\b(?:yes+|yess\w*|yeah|yep|yup|yea|yah|ys|yes\w*|sure|oui|ouais|yego|ego|rwose|ok\s+we)\b")
_VAGUE_STRONG = re.compile(
    r"\b(?:maybe|perhaps|possibly|not\s+sure|i\s+think|let\s+me\s+(?:check|see|confirm|ask|find)"
    r"|(?:i'?ll|i\s+will|will)\s+(?:check|confirm|see|let\s+you\s+know)|checking|depends|it\s+depends"
    r"|which\s+(?:one|brand|model|type|size)|i\s+don'?t\s+know|peut-?\s*etre|je\s+(?:vais\s+)?verifie\w*"
    r"|pas\s+sure?|je\s+ne\s+sais\s+pas|ca\s+depend|je\s+regarde"
    r"|reka\s+(?:mbanze\s+)?(?:ndebe|ndeba|nkurebere|mbaze|ndabe)|ndabanza\s+\w*|wenda|ahari|simbizi"
    r"|sinzi|ntabizi|ndareba)\b"
)
_VAGUE_WEAK = re.compile(
    r"\b(?:call\s+me|come|inbox|dm|appele[rz]?[- ]moi|appelle[rz]?[- ]moi|\w*mpamagar\w*|ngwino"
    r"|how\s+many|combien|angahe|hello|hi|muraho|bonjour|mwiriwe|mwaramutse)\b|\?"
)


@dataclass(frozen=True)
class Availability:
    value: str
    explicit: bool
    mixed: bool
    vague: bool
    hedged: bool = False  # "call me", "hello", "?": vague only if nothing else is said
    inferred: bool = False


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    m = pattern.search(text)
    return m.start() if m else None


def read_availability(text: str) -> Availability:
    text = _NEUTRAL.sub(lambda m: " " * len(m.group(0)), text)
    strong_neg = _first(_NEG_STRONG, text)
    # A positive word inside a negation ("not available", "ntitubifite") is not a positive.
    unnegated = _NEG_STRONG.sub(lambda m: " " * len(m.group(0)), text)
    strong_pos = _first(_POS_STRONG, unnegated)
    ack_pos = _first(_POS_ACK, unnegated)
    ack_neg = _first(_NEG_ACK, unnegated)
    vague_at = _first(_VAGUE_STRONG, text)
    signals = [p for p in (strong_neg, strong_pos, ack_pos, ack_neg) if p is not None]
    if vague_at is not None and (not signals or vague_at <= min(signals)):
        return Availability("unclear", False, False, True)
    if strong_neg is not None and strong_pos is not None:
        value = "out_of_stock" if strong_neg < strong_pos else "in_stock"
        return Availability(value, True, True, False)
    if strong_neg is not None:
        return Availability("out_of_stock", True, False, False)
    if strong_pos is not None:
        return Availability("in_stock", True, False, False)
    if ack_pos is not None and ack_neg is not None:
        value = "in_stock" if ack_pos < ack_neg else "out_of_stock"
        return Availability(value, False, True, False)
    if ack_pos is not None:
        return Availability("in_stock", False, False, False)
    if ack_neg is not None:
        return Availability("out_of_stock", False, False, False)
    return Availability("unclear", False, False, vague_at is not None, bool(_VAGUE_WEAK.search(text)))
