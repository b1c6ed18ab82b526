"""The item a client asks for, in the client's own words.

What is left of each clause once greetings, lead-ins ("I need", "je cherche", "ndashaka"), places,
money and urgency are cut out; the grammar lives here, the vocabulary in the taxonomy.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .folding import COURTESY_WORDS
from .need_budget import money_spans
from .need_places import UNKNOWN_PLACE_RX, place_rx
from .need_quantity import URGENT_RX
from .need_taxonomy import taxonomy
from .need_text import MAX_ITEM, fold, folded_words, stemmed_words

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
    r"cyangwa|my|mon|ma|the|help|today|aujourd'?hui|uyu munsi|"
    # rw "I need it / I want it" after the item ("umuceri, ndabikeneye byihuse")
    r"ndabikeneye|ndawukeneye|ndabishaka|ndawushaka"
)
_LEADING_RX = re.compile(
    rf"^[\s\W_]*(?:(?:{_GREETING}|{_LEAD_IN}|{_ARTICLE})\b|(?:d'|l'|j'))[\s\W_]*"
)
_TRAILING_RX = re.compile(rf"[\s\W_]*\b(?:{_TRAILER})[\s\W_]*$|[\s\W_]+$")
# "My screen is broken, need a Samsung A14 screen": the lead-in goes, the context stays.
_MID_LEAD_IN_RX = re.compile(rf"(?<=[,:])\s*(?:{_LEAD_IN})\b(?:\s+(?:{_ARTICLE})\b)?")
_CLAUSE_SPLIT = re.compile(r"[!?;\n]+|\.+(?!\d)")
# Words that never make an item by themselves ("ok thanks", "yes please", "it", "one").
_FILLER = COURTESY_WORDS | frozenset(
    folded_words(
        "okay yes yeah no oui non yego oya it this that one ones something anything thing things "
        "stuff item product shop store boutique iduka help me we us "
        "hi hello hey bonjour muraho mwaramutse mwiriwe amakuru good morning evening sir "
        "madam boss dear chose truc produit magasin ikintu ibintu igicuruzwa ibicuruzwa urgent asap now "
        "vite byihuse vuba emergency available disponible budget"
    )
)


def _cut(text: str, rx: re.Pattern[str]) -> str:
    out, last = [], 0
    for m in rx.finditer(fold(text)):
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
    folded = fold(text)  # the fold keeps offsets, so both strings are cut alike
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


@lru_cache(maxsize=2048)  # a need's clauses come back at later turns and in other clients' needs
def _clause_item(clause: str) -> str | None:
    clause = _cut(clause, place_rx())
    clause = _cut(clause, UNKNOWN_PLACE_RX)
    clause = _cut_spans(clause, money_spans(clause))
    clause = _cut(clause, _MID_LEAD_IN_RX)
    clause = _cut(clause, URGENT_RX)
    clause = re.sub(r"\s+([,.:)])", r"\1", " ".join(clause.split()))
    clause = re.sub(r"([,:(])(?:\s*[,:])+", r"\1", clause)
    clause = _trim(clause).strip(" ,.:;-")
    content = [w for w in folded_words(clause) if w not in _FILLER and (len(w) > 1 and not w.isdigit())]
    return clause if content else None


def _shorten(item: str) -> str:
    if len(item) <= MAX_ITEM:
        return item
    cut = item[:MAX_ITEM].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") or item[:MAX_ITEM]


def only_generic(item: str) -> bool:
    generic = taxonomy().generic
    tokens = [t for t in stemmed_words(item) if t not in _FILLER]
    return bool(tokens) and all(t in generic for t in tokens)


def item_in(text: str) -> str | None:
    parts = [p for p in (_clause_item(c) for c in _CLAUSE_SPLIT.split(text)) if p]
    return _shorten(", ".join(parts)) if parts else None
