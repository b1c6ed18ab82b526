"""Needs: from a client's free text (en / fr / rw) to requirements the concierge can act on.

A need is complete when it names an item and a place (a gazetteer place, or the client's known area).
The vocabulary lives in ``concierge/data/taxonomy.json``; this module holds only the grammar around it:
greetings and lead-ins to peel off, how places, budgets, quantities and urgency are phrased.

Every public function accepts any text (garbage, emoji, 100 kB) and never raises on it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from .geo import find_place_in, gazetteer, lookup_place

LANGUAGES = ("en", "fr", "rw")
# WhatsApp caps a text message at 4096 characters; past that it is not a need worth reading whole.
_MAX_TEXT = 4096
_MAX_ITEM = 120
# A budget below this is a count, an age or a size that happened to follow a cue word.
_MIN_BUDGET_RWF = 100
_MAX_BUDGET_RWF = 1_000_000_000


# --- the requirements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirements:
    item: str | None = None
    category: str | None = None
    category_strength: float = 0.0
    place: str | None = None
    budget_max: int | None = None
    quantity: str | None = None
    urgent: bool = False
    language: str = "en"

    def missing(self) -> tuple[str, ...]:
        """What the concierge still has to ask for, in the order it asks."""
        out = []
        if not self.item:
            out.append("item")
        if not self.place:
            out.append("place")
        return tuple(out)

    @property
    def complete(self) -> bool:
        return not self.missing()

    def merged(self, newer: Requirements) -> Requirements:
        """This need with the gaps filled from a later turn (the client answering "Remera" to "where?").

        Known values are kept: a correction of an item or place is a new request, not a merge. The
        category and language follow the item, because the message that named the item is the one
        that says what kind of shop to ask and which language the client chose for it.
        """
        if not isinstance(newer, Requirements):
            return self
        item_from_newer = not self.item and bool(newer.item)
        if item_from_newer and newer.category:
            category, strength = newer.category, newer.category_strength
        elif self.category:
            category, strength = self.category, self.category_strength
        else:
            category, strength = newer.category, newer.category_strength
        return Requirements(
            item=self.item or newer.item,
            category=category,
            category_strength=strength,
            place=self.place or newer.place,
            budget_max=self.budget_max if self.budget_max is not None else newer.budget_max,
            quantity=self.quantity or newer.quantity,
            urgent=bool(self.urgent or newer.urgent),
            language=newer.language if item_from_newer else self.language,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["missing"] = list(self.missing())
        out["complete"] = self.complete
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Requirements:
        """Requirements from a stored dict (unknown keys ignored, wrong types dropped); never raises."""
        if not isinstance(data, dict):
            return cls()

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value.strip() else None

        strength = data.get("category_strength")
        budget = data.get("budget_max")
        language = data.get("language")
        return cls(
            item=text("item"),
            category=text("category"),
            category_strength=float(strength) if isinstance(strength, (int, float)) else 0.0,
            place=text("place"),
            budget_max=budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
            quantity=text("quantity"),
            urgent=data.get("urgent") is True,
            language=language if language in LANGUAGES else "en",
        )


# --- text folding --------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    base = unicodedata.normalize("NFKD", c)[0] if c.isalpha() else c
    low = base.lower()
    return low if len(low) == 1 else c


def _fold(text: str) -> str:
    """Lower case without accents, one character for one: a match in the fold is a span in the text."""
    return "".join(_fold_char(c) for c in text)


def _clean(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    if len(text) > _MAX_TEXT:
        # Cut at a space: half a word at the end would read as part of the need.
        text = text[:_MAX_TEXT].rsplit(None, 1)[0] if " " in text[:_MAX_TEXT] else text[:_MAX_TEXT]
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = text.replace("\u0153", "oe").replace("\u0152", "OE")
    # Emoji, symbols and control or unassigned code points carry no need; they become spaces.
    return "".join(
        " "
        if unicodedata.category(c) in ("So", "Sk", "Cs", "Co", "Cn", "Cf", "Cc") and c != "\n"
        else c
        for c in text
    )


def _stem(token: str) -> str:
    # A trailing plural 's' is the only inflection worth undoing: "tablets", "chargers", "médicaments".
    return (
        token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token
    )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(text))


def _tokens(text: str) -> list[str]:
    return [_stem(w) for w in _words(text)]


# --- the taxonomy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Taxonomy:
    order: tuple[str, ...]
    terms: dict[str, dict[tuple[str, ...], float]]
    generic: frozenset[str]
    medicines: frozenset[tuple[str, ...]]
    markers: dict[str, frozenset[str]]
    vocabulary: dict[str, frozenset[str]]  # single words found in one language's terms only
    other_terms: frozenset[str]  # non-pharmacy single-word terms: never taken for a drug name
    longest: int


def _term_key(term: str) -> tuple[str, ...]:
    return tuple(_tokens(term))


@lru_cache(maxsize=1)
def _taxonomy() -> _Taxonomy:
    raw = json.loads(resources.files("concierge.data").joinpath("taxonomy.json").read_text("utf-8"))
    order = tuple(raw["order"])
    terms: dict[str, dict[tuple[str, ...], float]] = {}
    generic: set[str] = set()
    medicines: set[tuple[str, ...]] = set()
    words_by_lang: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
    other_terms: set[str] = set()
    for cat in order:
        entry = raw["categories"][cat]
        table: dict[tuple[str, ...], float] = {}
        for lang in LANGUAGES:
            for term, weight in sorted(entry["terms"].get(lang, {}).items()):
                key = _term_key(term)
                if key:
                    table[key] = max(table.get(key, 0.0), float(weight))
                    if len(key) == 1:
                        words_by_lang[lang].add(key[0])
                        if cat != "pharmacy":
                            other_terms.add(key[0])
        terms[cat] = table
        for g in entry.get("generic", ()):
            generic.update(_tokens(g))
        for m in entry.get("medicines", ()):
            if _term_key(m):
                medicines.add(_term_key(m))
    vocabulary = {
        lang: frozenset(
            w
            for w in words_by_lang[lang]
            if not any(w in words_by_lang[o] for o in LANGUAGES if o != lang)
        )
        for lang in LANGUAGES
    }
    markers = {lang: frozenset(_words(" ".join(raw["languages"][lang]))) for lang in LANGUAGES}
    longest = max(len(k) for table in terms.values() for k in table)
    longest = max(longest, max((len(k) for k in medicines), default=1))
    return _Taxonomy(
        order,
        terms,
        frozenset(generic),
        frozenset(medicines),
        markers,
        vocabulary,
        frozenset(other_terms),
        longest,
    )


def categories() -> tuple[str, ...]:
    """The category ids of the taxonomy, in its order of precedence (ties go to the earlier one)."""
    return _taxonomy().order


@lru_cache(maxsize=1)
def _lexicon_is_drug() -> Callable[[str], bool] | None:
    try:
        from .drugs import DrugLexicon

        lexicon = DrugLexicon.default()
    except Exception:  # the lexicon is an optional enrichment; the taxonomy's list still works
        return None
    return lambda name: lexicon.canonical(name) is not None


def _drug_hits(words: list[str], is_drug: Callable[[str], bool] | None) -> set[str]:
    tax = _taxonomy()
    hits: set[str] = set()
    for size in (2, 1):
        for i in range(len(words) - size + 1):
            key = tuple(_stem(w) for w in words[i : i + size])
            if key in tax.medicines:
                hits.add(" ".join(key))
    check = is_drug if is_drug is not None else _lexicon_is_drug()
    if check is None:
        return hits
    for word in words:
        # Short tokens and the other categories' own words are never drug names here: a lexicon of
        # brand names holds "banan", "zinc" and such, and "cement" must stay hardware.
        if len(word) < 5 or not word.isalpha() or _stem(word) in tax.other_terms:
            continue
        try:
            if check(word):
                hits.add(word)
        except Exception:  # a faulty hook must not break understanding the rest of the need
            continue
    return hits


def _scores(text: str, is_drug: Callable[[str], bool] | None) -> dict[str, float]:
    tax = _taxonomy()
    words = _words(text)
    tokens = [_stem(w) for w in words]
    scores = dict.fromkeys(tax.order, 0.0)
    for cat in tax.order:
        table, seen, i = tax.terms[cat], set(), 0
        while i < len(tokens):
            for size in range(min(tax.longest, len(tokens) - i), 0, -1):
                key = tuple(tokens[i : i + size])
                if key in table:
                    if key not in seen:  # "tablets tablets tablets" is one piece of evidence
                        seen.add(key)
                        scores[cat] += table[key]
                    i += size
                    break
            else:
                i += 1
    scores["pharmacy"] += float(len(_drug_hits(words, is_drug)))
    return scores


def categorize(
    text: str, *, is_drug: Callable[[str], bool] | None = None
) -> tuple[str | None, float]:
    """The best taxonomy category for a text and how strongly it matched (0..1).

    Strength is high when the evidence is plentiful and points to one category only:
    min(1, best score) x best / all scores. ``(None, 0.0)`` when nothing matched.
    """
    text = _clean(text)
    if not text.strip():
        return None, 0.0
    scores = _scores(text, is_drug)
    order = _taxonomy().order
    best = max(order, key=lambda c: (scores[c], -order.index(c)))
    top, total = scores[best], sum(scores.values())
    if top <= 0:
        return None, 0.0
    return best, round(min(1.0, top) * top / total, 3)


# --- language ------------------------------------------------------------------------------------

_FRENCH_LETTERS = re.compile(r"[éèêëàâçùûîïô]")


def detect_language(text: str, default: str = "en") -> str:
    """en, fr or rw, by marker words and vocabulary; ``default`` when the text gives no evidence."""
    default = default if default in LANGUAGES else "en"
    text = _clean(text)
    tax = _taxonomy()
    words = _words(text)
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for word in words:
        for lang in LANGUAGES:
            if word in tax.markers[lang]:
                scores[lang] += 1.0
            elif _stem(word) in tax.vocabulary[lang]:
                scores[lang] += 0.5
    scores["fr"] += 0.5 * len(_FRENCH_LETTERS.findall(text.lower()))
    top = max(scores.values())
    if top <= 0:
        return default
    tied = [lang for lang in LANGUAGES if scores[lang] == top]
    return default if default in tied else tied[0]


# --- places --------------------------------------------------------------------------------------

_PLACE_PREAMBLE = (
    r"(?:i'?m|i am|we'?re|we are|i live|je suis|nous sommes|j'?habite|ndi|turi|ntuye|mba|tuba)"
)
_PLACE_PREPOSITION = (
    r"(?:in|at|near|around|close to|next to|from|to|a|au|aux|en|dans|vers|pres de|pres du|"
    r"du cote de|mu|i|ku|kuri|muri|hafi ya|hafi y'|hafi)"
)


@lru_cache(maxsize=1)
def _place_rx() -> re.Pattern[str]:
    names: set[str] = set()
    for place in gazetteer():
        for name in (place.name, *place.aliases):
            words = _words(name)
            if words:
                names.add(r"[\W_]+".join(re.escape(w) for w in words))
    alternation = "|".join(sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(
        rf"(?:\b{_PLACE_PREAMBLE}\s+)?(?:\b{_PLACE_PREPOSITION}\s*){{0,2}}(?:\bthe\s+)?"
        rf"\b(?:{alternation})\b(?:\s+(?:area|side|region|quartier|market|centre|center))?"
    )


# A place the gazetteer does not know still is not part of the item: "near Musanze bus park".
_UNKNOWN_PLACE_RX = re.compile(
    r"\b(?:near|around|close to|next to|pres de|pres du|hafi ya|hafi y'|"
    r"i'?m (?:in|at)(?! need)|i am (?:in|at)(?! need)|i live in|je suis (?:a|au|pres de)(?! la recherche)|"
    r"j'?habite (?:a|au)|ndi (?:mu|i|ku)|turi (?:mu|i|ku)|ntuye (?:mu|i|ku))\b[^,;.!?\n]*?"
    r"(?=\s+(?:and|but|et|mais|na|ariko|kandi|need|i need|looking|je|j'|nkeneye|ndashaka)\b|\s*[,;.!?\n]|\s*$)"
)


def _known_area(known_area: Any) -> str | None:
    if not isinstance(known_area, str) or not known_area.strip():
        return None
    place = lookup_place(known_area)
    return place.name if place is not None else " ".join(known_area.split())[:_MAX_ITEM]


def _place_in(text: str) -> str | None:
    try:
        place = find_place_in(text)
    except Exception:  # the gazetteer is shared code; a bad match must not lose the whole need
        return None
    return place.name if place is not None else None


# --- budget --------------------------------------------------------------------------------------

_CURRENCY = r"(?:rwf|frw|frws|rwfs|francs?|frs|fr|amafaranga|amafr)"
_NUMBER = r"(?:\d{1,3}(?:[ ,.]\d{3})+(?![\d,.])|\d{1,10}(?:[.,]\d{1,2}(?!\d))?)"
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
    folded = _fold(text)
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
        value = _amount(m.group("num"), mult)
        if value is None or not _MIN_BUDGET_RWF <= value <= _MAX_BUDGET_RWF:
            continue
        start = m.start() - (len(cue.group(0)) if cue else 0)
        after_cue = _CUE_AFTER.match(after)
        end = m.end() + (after_cue.end() if after_cue else 0)
        found.append(_Money(start, end, value, 2 if strong else 1))
    return found


def _amount(num: str, mult: str | None) -> int | None:
    if re.fullmatch(r"\d{1,3}(?:[ ,.]\d{3})+", num):
        value = float(re.sub(r"[ ,.]", "", num))
    else:
        value = float(num.replace(",", "."))
    factor = {"k": 1_000, "thousand": 1_000, "mille": 1_000, "m": 1_000_000}.get(mult or "", 1)
    factor = 1_000_000 if mult in ("million", "millions") else factor
    return int(round(value * factor))


def _budget(text: str) -> int | None:
    amounts = _money(text)
    for strength in (2, 1):
        for i, amount in enumerate(amounts):
            if amount.strength < strength:
                continue
            value = amount.value
            # "10k-20k", "between 10,000 and 15,000 RWF": the budget is the top of the range.
            if i + 1 < len(amounts) and _RANGE_JOIN.match(
                _fold(text[amount.end : amounts[i + 1].start])
            ):
                value = max(value, amounts[i + 1].value)
            return value
    return None


# --- quantity and urgency ------------------------------------------------------------------------

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
_URGENT_RX = re.compile(
    r"(?:\b(?:en|d'|c'?est|it'?s|it is|very|so|tres|par)\s*)?\b(?:urgent|urgently|urgence|urgente|asap|a\.s\.a\.p|now|immediately|emergency|quickly|"
    r"vite|rapidement|tout de suite|byihuse|vuba vuba|vuba|nonaha|ako kanya)\b"
)


def _quantity(text: str) -> str | None:
    m = _QUANTITY_RX.search(_fold(text))
    return " ".join(text[m.start() : m.end()].split()) if m else None


# --- the item ------------------------------------------------------------------------------------

_GREETING = (
    r"hi|hello|hey|hallo|hiya|good (?:morning|afternoon|evening|day)|dear|sir|madam|boss|team|there|"
    r"how are you|bonjour|bonsoir|salut|coucou|ca va|muraho|mwaramutse|mwiriwe|bite|amakuru(?: yanyu| yawe)?|"
    r"please|pls|plz|kindly|svp|s'?il (?:vous|te) plait|excuse me|excusez[- ]moi|mbabarira|ndabinginze|"
    r"ok|okay|yes|yeah|oui|yego|so|also|and|et|na|hello again"
)
_LEAD_IN = (
    r"i'?m looking for|i am looking for|looking for|i'?m searching for|searching for|search for|"
    r"i'?m in need of|i am in need of|in need of|i need to (?:buy|get|find|order)|i need|need|"
    r"i want to (?:buy|get|order)|i want|want|i would like to (?:buy|get|order|have)|i would like|"
    r"i'?d like to (?:buy|get|order|have)|i'?d like|i require|i'?m after|"
    r"do you (?:have|sell|stock)|have you got|does anyone (?:have|sell)|anyone (?:with|selling|who has)|"
    r"is there|are there|who (?:has|sells)|where can i (?:find|buy|get)|where to (?:find|buy|get)|"
    r"can (?:you|u) (?:please )?(?:help me )?(?:to )?(?:find|get|source|look for|search for)(?: me)?|"
    r"could you (?:please )?(?:help me )?(?:find|get|look for)(?: me)?|can i (?:get|have|find|buy|order)|"
    r"help me (?:to )?(?:find|get)|get me|find me|send me|how much (?:is|are|for)|price of|"
    r"(?:a |any )?(?:pharmacy|shop|store|vendor|seller|one) (?:that|which|who) (?:has|have|sells|sell)|"
    r"(?:une )?(?:pharmacie|boutique|magasin) qui (?:a|vend)|"
    r"(?:farumasi|iduka|umucuruzi|uwo) (?:ifite|rifite|ufite|ucuruza)|"
    r"je (?:re)?cherche|(?:re)?cherche|je suis a la recherche d(?:e|u|es|')|je veux(?: acheter)?|"
    r"je voudrais(?: acheter| avoir)?|je souhaite(?: acheter)?|j'?ai besoin d(?:e|u|es|')|besoin d(?:e|u|es|')|"
    r"il me faut|il nous faut|avez[- ]vous|vous avez|est[- ]ce que vous avez|est[- ]ce qu'?il y a|"
    r"y a[- ]t[- ]il|ou (?:puis[- ]je|je peux) (?:trouver|acheter)|ou trouver|qui vend|"
    r"pouvez[- ]vous (?:me )?(?:trouver|chercher)|combien (?:coute|coutent|pour)|"
    r"ndashaka|nshaka|ndakeneye|nkeneye|ndifuza|nifuza|nashakaga|ndashakisha|ndimo gushaka|"
    r"mufite|murafite|ufite|hari uwaba afite|hari ufite|ninde ufite|ni nde ufite|"
    r"mwamfasha(?: kubona)?|mumfashe(?: kubona)?|ese|mbese|hari|mpa|mumpe|ndagira ngo"
)
_ARTICLE = r"a|an|some|the|any|du|de la|de l'|des|d'|de|un|une|le|la|les|l'|me|of"
_TRAILER = (
    r"please|pls|plz|svp|s'?il (?:vous|te) plait|thanks?|thank you|thx|merci|murakoze|urakoze|ok|okay|"
    r"it'?s|it is|c'?est|is it available|available|disponible|in stock|en stock|for sale|for me|"
    r"budget|my budget|mon budget|with|and|for|in|at|of|to|or|et|avec|pour|au|de|du|en|ou|na|ya|mu|ku|"
    r"cyangwa|my|mon|ma|the|help|today|aujourd'?hui|uyu munsi"
)
_LEADING_RX = re.compile(
    rf"^[\s\W_]*(?:(?:{_GREETING}|{_LEAD_IN}|{_ARTICLE})\b|(?:d'|l'|j'))[\s\W_]*"
)
_TRAILING_RX = re.compile(rf"[\s\W_]*\b(?:{_TRAILER})[\s\W_]*$|[\s\W_]+$")
# "My screen is broken, need a Samsung A14 screen": the lead-in goes, the context stays.
_MID_LEAD_IN_RX = re.compile(rf"(?<=[,:])\s*(?:{_LEAD_IN})\b(?:\s+(?:{_ARTICLE})\b)?")
_CLAUSE_SPLIT = re.compile(r"[!?;\n]+|\.+(?!\d)")
# Words that never make an item by themselves ("ok thanks", "yes please", "it", "one").
_FILLER = frozenset(
    _words(
        "ok okay yes yeah no oui non yego oya it this that one ones something anything thing things "
        "stuff item product shop store boutique iduka help me you we us thanks thank merci murakoze "
        "please svp pls hi hello hey bonjour muraho mwaramutse mwiriwe amakuru good morning evening sir "
        "madam boss dear chose truc produit magasin ikintu ibintu igicuruzwa ibicuruzwa urgent asap now "
        "vite byihuse vuba emergency available disponible budget"
    )
)


def _cut(text: str, rx: re.Pattern[str]) -> str:
    out, last = [], 0
    for m in rx.finditer(_fold(text)):
        out.append(text[last : m.start()])
        out.append(" ")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _cut_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(" ")
        last = end
    out.append(text[last:])
    return "".join(out)


def _trim(text: str) -> str:
    """Peel greetings, lead-ins and articles off the front and courtesies off the back, a word at a time."""
    folded = _fold(text)  # the fold keeps offsets, so both strings are cut alike
    while folded:
        m = _LEADING_RX.match(folded)
        if m is not None:
            text, folded = text[m.end() :], folded[m.end() :]
            continue
        # Only the tail is searched, so a 4 kB clause costs no more per word than a short one.
        m = _TRAILING_RX.search(folded, max(0, len(folded) - 80))
        if m is None:
            break
        text, folded = text[: m.start()], folded[: m.start()]
    return text


def _money_spans(clause: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for amount in _money(clause):
        # "10k and 25k" goes as one piece, so no stray "and" is left inside the item.
        if spans and _RANGE_JOIN.match(_fold(clause[spans[-1][1] : amount.start])):
            spans[-1] = (spans[-1][0], amount.end)
        else:
            spans.append((amount.start, amount.end))
    return spans


def _clause_item(clause: str) -> str | None:
    clause = _cut(clause, _place_rx())
    clause = _cut(clause, _UNKNOWN_PLACE_RX)
    clause = _cut_spans(clause, _money_spans(clause))
    clause = _cut(clause, _MID_LEAD_IN_RX)
    clause = _cut(clause, _URGENT_RX)
    clause = re.sub(r"\s+([,.:)])", r"\1", " ".join(clause.split()))
    clause = re.sub(r"([,:(])(?:\s*[,:])+", r"\1", clause)
    clause = _trim(clause).strip(" ,.:;-")
    content = [w for w in _words(clause) if w not in _FILLER and (len(w) > 1 and not w.isdigit())]
    return clause if content else None


def _shorten(item: str) -> str:
    if len(item) <= _MAX_ITEM:
        return item
    cut = item[:_MAX_ITEM].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") or item[:_MAX_ITEM]


def _only_generic(item: str) -> bool:
    generic = _taxonomy().generic
    tokens = [t for t in _tokens(item) if t not in _FILLER]
    return bool(tokens) and all(t in generic for t in tokens)


def _item(text: str) -> str | None:
    parts = [p for p in (_clause_item(c) for c in _CLAUSE_SPLIT.split(text)) if p]
    return _shorten(", ".join(parts)) if parts else None


# --- extraction ----------------------------------------------------------------------------------


def extract_requirements(
    text: str,
    *,
    known_area: str | None = None,
    default_language: str = "en",
    is_drug: Callable[[str], bool] | None = None,
) -> Requirements:
    """What one client message says about the need.

    ``known_area`` (the client's registered area) stands in when the text names no place.
    ``is_drug`` recognises medicine names; without it the drug lexicon (if present) and the
    taxonomy's list of common medicines are used. Numbers that belong to the item ("500mg",
    "21 capsules", "iPhone 12") are never read as a budget: money needs a cue, a currency or "k".
    """
    text = _clean(text)
    language = detect_language(text, default_language)
    item = _item(text)
    category, strength = categorize(item, is_drug=is_drug) if item else (None, 0.0)
    if item and _only_generic(item):
        item = None  # "a pharmacy near Remera": the kind of shop is known, the item still is not
    return Requirements(
        item=item,
        category=category,
        category_strength=strength,
        place=_place_in(text) or _known_area(known_area),
        budget_max=_budget(text),
        quantity=_quantity(text),
        urgent=_URGENT_RX.search(_fold(text)) is not None,
        language=language,
    )


# --- clarification -------------------------------------------------------------------------------

_ASK_ITEM = {
    "en": "What are you looking for? Please tell me the product and any detail that matters (brand, model, size).",
    "fr": "Que recherchez-vous ? Dites-moi le produit et les détails utiles (marque, modèle, taille).",
    "rw": "Murashaka iki? Mutubwire igicuruzwa n'ibisobanuro by'ingenzi (ubwoko, moderi, ingano).",
}
_ASK_MEDICINE = {
    "en": "Which medicine do you need? Please give its name and strength (for example Paracetamol 500mg).",
    "fr": "Quel médicament vous faut-il ? Donnez son nom et son dosage (par exemple Paracétamol 500mg).",
    "rw": "Ni uwuhe muti mukeneye? Mutubwire izina ryawo n'ingano yawo (urugero: Paracetamol 500mg).",
}
_ASK_PLACE = {
    "en": "Where should I look{for_item}? Tell me a neighbourhood or landmark in Kigali (for example Kimironko or Remera).",
    "fr": "Dans quel quartier dois-je chercher{for_item} ? Donnez un quartier ou un repère à Kigali (par exemple Kimironko ou Remera).",
    "rw": "Ni hehe twabibashakira? Mutubwire agace cyangwa ahantu hazwi i Kigali (urugero: Kimironko cyangwa Remera).",
}
_FOR_ITEM = {"en": " for {item}", "fr": " {item}"}


def clarifying_question(req: Requirements, language: str) -> str | None:
    """One question, for the first thing the need lacks, in the client's language; None if complete."""
    if not isinstance(req, Requirements):
        req = Requirements.from_dict(req)
    if language not in LANGUAGES:
        language = req.language if req.language in LANGUAGES else "en"
    missing = req.missing()
    if not missing:
        return None
    if missing[0] == "item":
        table = _ASK_MEDICINE if req.category == "pharmacy" else _ASK_ITEM
        return table[language]
    for_item = (
        _FOR_ITEM[language].format(item=req.item) if language in _FOR_ITEM and req.item else ""
    )
    return _ASK_PLACE[language].format(for_item=for_item)
