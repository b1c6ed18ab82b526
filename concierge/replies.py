"""Vendor replies in free text (en, fr, rw, WhatsApp style) turned into a ParsedReply.

Vendors are asked four numbered questions (stock, price min-max RWF, location, options) and answer
as they like: "1. yes 2. 3,500 3. Kimironko market", "1 yes 2 15k-30k 3 near Remera", "Yego dufite
5000frw". The parser reads the numbered answers when it finds them and falls back to the whole text.
All matching runs on a folded copy of the text of the same length (lower case, no accents), so a
match position is also a position in the original, which is where notes and options are cut from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from concierge.geo import find_place_in, lookup_place
from concierge.safety import detect_injection, phone_spans, redact

AVAILABILITIES = ("in_stock", "out_of_stock", "unclear")
MAX_REPLY_CHARS = 4096


@dataclass(frozen=True)
class ParsedReply:
    availability: str
    price_min: int | None
    price_max: int | None
    location_note: str | None
    options: tuple[str, ...]
    confidence: float
    warnings: tuple[str, ...]
    busy: bool = False
    stop: bool = False
    suspicious: bool = False

    def to_dict(self) -> dict:
        return {
            "availability": self.availability,
            "price_min": self.price_min,
            "price_max": self.price_max,
            "location_note": self.location_note,
            "options": list(self.options),
            "confidence": self.confidence,
            "warnings": list(self.warnings),
            "busy": self.busy,
            "stop": self.stop,
            "suspicious": self.suspicious,
        }


# --- text folding ---------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufe0f]")
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")  # WhatsApp's 1️⃣ 2️⃣ emoji numbering
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"}


def _prepare(text: object) -> str:
    text = "" if text is None else str(text)
    return _INVISIBLE.sub("", _KEYCAP.sub(r"\1.", text))


def _fold_char(c: str) -> str:
    if c in _APOSTROPHES:
        return _APOSTROPHES[c]
    base = "".join(ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch))
    base = base.lower()
    if len(base) == 1:
        return base
    low = c.lower()
    return low if len(low) == 1 else c


def _fold(text: str) -> str:
    """Lower case without accents, one character for one character."""
    return "".join(_fold_char(c) for c in text)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w']+", " ", _fold(_prepare(text))).split())


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


# --- whole-message intents ------------------------------------------------------------------

# Words around a stop/cancel that do not change its meaning ("Cancel my request please").
_FILLER = {"please", "pls", "plz", "plse", "svp", "merci", "thanks", "thank", "you", "murakoze",
           "nyamuneka", "now", "sorry", "ok", "okay", "the", "my", "this", "it", "all", "request",
           "order", "la", "ma", "cette", "demande", "commande", "tout", "byose", "ibi"}
_VENDOR_STOP = {"stop", "unsubscribe", "hagarika", "desabonner", "desabonnement", "stopmessages",
                "unsubscribeme"}
_CLIENT_CANCEL = {"stop", "cancel", "annuler", "annule", "annulez", "arreter", "arrete", "arretez",
                  "arret", "hagarika", "reka", "bireke"}


def _core_words(text: str) -> str:
    words = [w for w in re.sub(r"[^a-z]+", " ", _words(text)).split() if w not in _FILLER]
    return "".join(words)


def is_vendor_stop(text: str) -> bool:
    """The whole message is an opt-out: STOP, stop, Stop., unsubscribe, hagarika (rw)."""
    return _core_words(text) in _VENDOR_STOP


def is_client_cancel(text: str) -> bool:
    """The whole message cancels the request: STOP, cancel, annuler, arrêter, hagarika, reka."""
    return _core_words(text) in _CLIENT_CANCEL


_BUSY = re.compile(
    r"\b(?:busy|occupee?s?|ndahuze|nahuze|turahuze|mpuze|duhuze|in\s+a\s+meeting|driving"
    r"|en\s+reunion|not\s+now|pas\s+maintenant|plus\s+tard|ntabwo\s+mboneka"
    r"|try\s+(?:again\s+)?later|(?:call|text|message|write|ask|contact|come\s+back)\s+(?:me\s+|us\s+)?"
    r"later|later\s+(?:please|pls|plz)|nyuma\s+gato|mwongere\s+nyuma|ongera\s+nyuma"
    r"|mumbaze\s+nyuma|rappele[rz]?\s+plus\s+tard|reessaye[rz]?\s+plus\s+tard)\b"
)


def is_busy(text: str) -> bool:
    """The vendor says it cannot answer now ("busy", "occupé", "ndahuze", "try later")."""
    return bool(_BUSY.search(_fold(_prepare(text))))


# --- numbered answers -----------------------------------------------------------------------

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


def _numbered_sections(folded: str) -> tuple[dict[int, tuple[int, int]], list[_Mark]]:
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


# --- availability ---------------------------------------------------------------------------

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
class _Availability:
    value: str
    explicit: bool
    mixed: bool
    vague: bool
    hedged: bool = False  # "call me", "hello", "?": vague only if nothing else is said
    inferred: bool = False


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    m = pattern.search(text)
    return m.start() if m else None


def _read_availability(text: str) -> _Availability:
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
        return _Availability("unclear", False, False, True)
    if strong_neg is not None and strong_pos is not None:
        value = "out_of_stock" if strong_neg < strong_pos else "in_stock"
        return _Availability(value, True, True, False)
    if strong_neg is not None:
        return _Availability("out_of_stock", True, False, False)
    if strong_pos is not None:
        return _Availability("in_stock", True, False, False)
    if ack_pos is not None and ack_neg is not None:
        value = "in_stock" if ack_pos < ack_neg else "out_of_stock"
        return _Availability(value, False, True, False)
    if ack_pos is not None:
        return _Availability("in_stock", False, False, False)
    if ack_neg is not None:
        return _Availability("out_of_stock", False, False, False)
    return _Availability("unclear", False, False, vague_at is not None, bool(_VAGUE_WEAK.search(text)))


# --- prices ---------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?:(?<![\w.,])|(?<=rwf)|(?<=frw))"
    r"(?:\d{1,3}(?P<sep>[,.' ])\d{3}(?:(?P=sep)\d{3})*(?![\d])(?![.,]\d)|\d+(?:[.,]\d+)?(?!\d))"
)
_MULT_AFTER = re.compile(r"\s?(?:(k)(?![a-z])|(mille|thousand|million|millions|mln|miliyoni)\b)")
_MULT_BEFORE = re.compile(r"\b(ibihumbi|miliyoni)\s*$")
_CUR_BEFORE = re.compile(r"\b(?:rwf|frw|rfw|frs|rf|fr|rwf:|prix|price|igiciro)\.?\s*:?\s*$")
_CUR_AFTER = re.compile(
    r"\s*(?:rwf|frw|rfw|frs|francs?|fr\b|rf\b|/=|/-|amafaranga|amanyarwanda|f\b)"
)
_UNIT_AFTER = re.compile(
    r"\s*(?:mg|mcg|\u00b5g|ug|g|gr|grams?|kg|kilos?|ml|cl|l|litres?|liters?|iu|%|gb|tb|mb|mah|"
    r"inch(?:es)?|\"|cm|mm|m|km|w|v|hz|mp|caps?|capsules?|tabs?|tablets?|comprimes?|gelules?|ibinini"
    r"|pcs|pieces?|pc|boxes|box|bottles?|x|units?|strips?|packs?|pairs?|years?|yrs|months?|days?"
    r"|jours?|ans|weeks?|hrs?|hours?|h|heures?|min|mins|minutes?|am|pm|sachets?|doses?|times|fois"
    r"|people|persons|meters?|metres?|m2|sqm|bags?|sacs?|sheets?|rolls?|left|remaining|items?|ibice"
    r"|amacupa|model|models|series|pro|max|plus|ultra|st|nd|rd|th|ieme|eme|er)(?![a-z])"
)
_NOT_PRICE_BEFORE = re.compile(
    r"(?:\bx|\bqty|\bquantity|\bsize|\btaille|\bpointure|\bnimero|\bno\.?|\bnumber|\bnum|#|\biphone"
    r"|\bsamsung|\bgalaxy|\bmodel|\bversion|\bv|\bsize|\broom|\bkg|\bkn|\bkk|\bdose|\bdays?|\bafter|\bin)\s*$"
)
_RANGE_JOIN = re.compile(r"^\s*(?:-+|\u2013|\u2014|~|to|a|au|jusqu'a|kugeza|kugera|up\s+to)\s*$")
_MIN_BARE_PRICE = 100
_MIN_ANSWERED_PRICE = 50


@dataclass
class _Amount:
    start: int
    end: int
    value: float
    multiplier: int
    currency: bool
    unit: bool

    @property
    def rwf(self) -> int:
        return int(round(self.value * self.multiplier))


def _is_price(amount: _Amount, floor: int) -> bool:
    priced = amount.multiplier > 1 or amount.currency
    return amount.rwf >= (1 if priced else floor)


def _to_number(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:([,.' ])\d{3})(?:\1\d{3})*", raw):
        return float(re.sub(r"\D", "", raw))
    return float(raw.replace(",", "."))


def _amounts(text: str) -> list[_Amount]:
    out: list[_Amount] = []
    for m in _NUMBER.finditer(text):
        value = _to_number(m.group(0))
        before = text[max(0, m.start() - 20) : m.start()]
        end = m.end()
        multiplier = 1
        mult = _MULT_AFTER.match(text, end)
        mult_before = _MULT_BEFORE.search(before)
        if mult:
            word = mult.group(2) or ""
            multiplier = 1_000_000 if word in ("million", "millions", "mln", "miliyoni") else 1000
            end = mult.end()
        elif mult_before:
            multiplier = 1_000_000 if mult_before.group(1) == "miliyoni" else 1000
        cur = _CUR_AFTER.match(text, end)
        currency = bool(cur) or bool(_CUR_BEFORE.search(before))
        if cur:
            end = cur.end()
        unit = not mult and not cur and (
            bool(_UNIT_AFTER.match(text, m.end())) or bool(_NOT_PRICE_BEFORE.search(before))
        )
        out.append(_Amount(m.start(), end, value, multiplier, currency, unit))
    return out


@dataclass(frozen=True)
class _Prices:
    low: int | None
    high: int | None
    inverted: bool
    spans: tuple[tuple[int, int], ...]


def _read_prices(text: str, *, answered: bool) -> _Prices:
    amounts = [a for a in _amounts(text) if not a.unit]
    pairs: list[tuple[_Amount, _Amount]] = []
    for left, right in zip(amounts, amounts[1:], strict=False):
        if _RANGE_JOIN.match(text[left.end : right.start]):
            pairs.append((left, right))
            # "15-30k" and "15,000 - 30,000 RWF": one side's k or currency is the other's too.
            if left.multiplier == 1 and right.multiplier > 1 and left.value * right.multiplier <= (
                right.value * right.multiplier * 10
            ):
                left.multiplier = right.multiplier
            left.currency = left.currency or right.currency
            right.currency = right.currency or left.currency
    floor = _MIN_ANSWERED_PRICE if answered else _MIN_BARE_PRICE
    kept = [a for a in amounts if _is_price(a, floor)]
    if not kept:
        return _Prices(None, None, False, ())
    values = [a.rwf for a in kept]
    kept_ids = {id(a) for a in kept}
    inverted = any(
        id(left) in kept_ids and id(right) in kept_ids and left.rwf > right.rwf
        for left, right in pairs
    )
    return _Prices(min(values), max(values), inverted, tuple((a.start, a.end) for a in kept))


# --- location and options -------------------------------------------------------------------

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
_EMPTY_ANSWER = re.compile(r"^(?:no|non|oya|none|n/?a|-+|nothing|\.+|\?+)?$")
_TRIM = " \t\r\n,.;:-!?*_~\"'()[]"

_VOCAB = (
    r"black|white|red|blue|green|grey|gray|silver|gold|golden|pink|yellow|brown|purple|orange|navy"
    r"|beige|cream|noire?|blanche?|rouge|bleue?|verte?|grise?|rose|jaune|marron|doree?|argent"
    r"|umukara|umweru|umutuku|ubururu|icyatsi|umuhondo|small|medium|large|x{0,3}l|xs|petit|moyen"
    r"|grand|\d+\s?(?:gb|tb|mb|mg|ml|g|kg|l|inch|\")|size\s+\d{1,2}|original|copy|new|used"
    r"|generic|brand|boxed|refurbished|plain|leather|plastic|metal"
)
_VOCAB_RUN = re.compile(
    rf"\b(?:{_VOCAB})\b(?:\s*(?:,|/|\bor\b|\bou\b|\bcyangwa\b|\band\b|\bna\b|\bet\b|&)\s*"
    rf"\b(?:{_VOCAB})\b)+"
)
_PRICED_OPTION = re.compile(
    rf"\b(?:{_VOCAB})\b(?=\s*(?:is|at|for|ni|=|:|-)?\s*(?:rwf|frw)?\s*\d)"
)
_OPTIONS_LEAD = re.compile(
    r"\b(?:(?:available\s+in|comes?\s+in|we\s+have\s+(?:it\s+|them\s+)?in|disponible\s+en"
    r"|existe\s+en)\s*[:\-]?|(?:colou?rs?|sizes?|options?|models?|couleurs?|tailles?|amabara"
    r"|ingano)\s*:)\s*"
)
_OPTION_SPLIT = re.compile(r"\s*(?:,|/|;|\n|\bor\b|\bou\b|\bcyangwa\b|\band\b|\bna\b|\bet\b|&|\+)\s*")
_MAX_OPTIONS = 10
_MAX_OPTION_CHARS = 40


def _clip(original: str, start: int, end: int) -> str:
    return " ".join(original[start:end].split()).strip(_TRIM)


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
    if not words or words[0][0].isdigit() or words[0].strip(_TRIM) in _NOT_PLACES:
        return False
    if re.match(rf"(?:{_VOCAB})\b", head):
        return False
    for size in (3, 2, 1):
        if len(words) >= size and lookup_place(" ".join(words[:size])):
            return True
    if _LANDMARK.search(" ".join(words[:3])):
        return True
    first = original[start + (m.end() if m else 0) :].lstrip()
    return capitals and bool(first) and first[0].isupper()


def _read_location(original: str, folded: str, stops: list[int]) -> str | None:
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
        note = _clip(original, start, _phrase_end(folded, start + 1, stops))
        if note:
            return note
    place = find_place_in(folded)
    return place.name if place else None


def _split_options(original: str, folded: str, start: int, end: int) -> list[str]:
    items: list[str] = []
    pos = start
    for sep in list(_OPTION_SPLIT.finditer(folded, start, end)) + [None]:
        stop = sep.start() if sep else end
        item = _clip(original, pos, stop)
        if item and not _EMPTY_ANSWER.match(item.lower()) and len(item) <= _MAX_OPTION_CHARS:
            items.append(item)
        if sep:
            pos = sep.end()
    return items


def _read_options(original: str, folded: str) -> list[str]:
    m = _OPTIONS_LEAD.search(folded)
    if m:
        end_m = re.compile(r"[.;!?\n]").search(folded, m.end())
        end = end_m.start() if end_m else len(folded)
        items = _split_options(original, folded, m.end(), end)
        if items and not (find_place_in(folded[m.end() : end]) and not _VOCAB_RUN.search(folded)):
            return items
    run = _VOCAB_RUN.search(folded)
    if run:
        return _split_options(original, folded, run.start(), run.end())
    # "Black is 15k, white 18k": each option named with its own price.
    priced = [_clip(original, m.start(), m.end()) for m in _PRICED_OPTION.finditer(folded)]
    return priced if len(priced) >= 2 else []


def _dedupe(items: list[str]) -> tuple[str, ...]:
    seen: list[str] = []
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.append(key)
            out.append(item)
    return tuple(out[:_MAX_OPTIONS])


# --- the parser -----------------------------------------------------------------------------


def _confidence(
    avail: _Availability, *, price: bool, location: bool, numbered: bool, inverted: bool
) -> float:
    if avail.value == "out_of_stock":
        score = 0.85 if avail.explicit else 0.7
    elif avail.value == "in_stock":
        score = (0.55 if avail.explicit or numbered else 0.45) if not avail.inferred else 0.4
        score += 0.2 * price + 0.15 * location
        if numbered and price and location:
            score += 0.05
    else:
        score = min(0.45, 0.25 + 0.1 * price + 0.1 * location)
    if avail.mixed:
        score -= 0.15
    if inverted:
        score -= 0.05
    if avail.vague:
        score = min(score, 0.45)
    return score


def parse_vendor_reply(text: str, *, vendor_phone: str | None = None) -> ParsedReply:
    """Read a vendor's free-text reply. Never raises on any text.

    Only the first ``MAX_REPLY_CHARS`` characters are parsed (WhatsApp caps a text at 4096);
    the safety check still reads the whole text.
    """
    whole = _prepare(text)
    original = whole[:MAX_REPLY_CHARS]
    folded = _fold(original)
    stop = is_vendor_stop(original)
    busy = is_busy(original)
    suspicious = detect_injection(whole, source="vendor", sender_phone=vendor_phone).flagged
    if stop:
        warnings = ("stop", "suspicious") if suspicious else ("stop",)
        return ParsedReply("unclear", None, None, None, (), 0.0, warnings, busy, True, suspicious)

    sections, chain = _numbered_sections(folded)
    work = folded
    for mark in chain:
        work = _blank(work, mark.start, mark.end)
    for start, end, _ in phone_spans(work):
        work = _blank(work, start, end)

    def section(n: int) -> tuple[int, int] | None:
        span = sections.get(n)
        if span and work[span[0] : span[1]].strip():
            return span
        return None

    # Availability: answer 1, else the whole text (never answer 4: "4. no options").
    avail = _Availability("unclear", False, False, False)
    if section(1):
        s, e = section(1)
        avail = _read_availability(work[s:e])
    if avail.value == "unclear" and not avail.vague:
        limit = min((sections[n][0] for n in (3, 4) if n in sections), default=len(work))
        avail = _read_availability(work[:limit] if section(1) else work)

    prices = _Prices(None, None, False, ())
    if section(2):
        s, e = section(2)
        prices = _read_prices(_blank(_blank(work, 0, s), e, len(work)), answered=True)
    if prices.low is None:
        prices = _read_prices(work, answered=False)

    location: str | None = None
    if section(3):
        s, e = section(3)
        answer = _clip(original, s, e)
        if answer and not _EMPTY_ANSWER.match(answer.lower()):
            location = answer[:80]
    if location is None:
        stops = [s for s, _ in prices.spans] + [sections[n][0] for n in sections]
        location = _read_location(original, work, stops)

    options: list[str] = []
    if section(4):
        s, e = section(4)
        options = _split_options(original, work, s, e)
    if not options:
        options = _read_options(original, work)

    inferred = False
    if avail.value == "unclear" and not avail.vague and prices.low is not None:
        # A vendor quoting a price without a yes almost always has the item; say we inferred it.
        inferred = True
        avail = _Availability("in_stock", False, avail.mixed, False, inferred=True)

    if avail.value == "unclear" and avail.hedged and not avail.vague:
        avail = _Availability("unclear", False, avail.mixed, True)

    warnings: list[str] = []
    if avail.value != "out_of_stock":
        if prices.low is None:
            warnings.append("no_price")
        if location is None:
            warnings.append("no_location")
    if inferred:
        warnings.append("availability_inferred")
    if avail.mixed:
        warnings.append("mixed_availability")
    if avail.vague:
        warnings.append("vague")
    if prices.inverted:
        warnings.append("price_range_inverted")
    if not original.strip():
        warnings.append("empty")
    if busy:
        warnings.append("busy")
    if suspicious:
        warnings.append("suspicious")

    confidence = _confidence(
        avail,
        price=prices.low is not None,
        location=location is not None,
        numbered=bool(sections),
        inverted=prices.inverted,
    )
    if busy and avail.value == "unclear":
        confidence = min(confidence, 0.3)
    if suspicious:
        confidence = min(confidence, 0.5)
    confidence = round(min(1.0, max(0.0, confidence)), 2)

    # Notes and options reach the client's shortlist: no phone number or secret rides along.
    return ParsedReply(
        availability=avail.value,
        price_min=prices.low,
        price_max=prices.high,
        location_note=redact(location) if location else None,
        options=_dedupe([redact(o) for o in options]),
        confidence=confidence,
        warnings=tuple(warnings),
        busy=busy,
        stop=False,
        suspicious=suspicious,
    )

