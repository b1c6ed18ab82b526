"""Which kind of shop a need is for: taxonomy terms and drug names scored per category.

Drug names get their own evidence (the taxonomy's list of medicines, then the drug lexicon or a
caller's ``is_drug`` hook) because a brand name alone ("Coartem") must still make a pharmacy need.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from .need_taxonomy import taxonomy
from .need_text import clean, folded_words, stem

# A zero-argument function returning the default drug-name check (or None when there is none).
LexiconHook = Callable[[], Callable[[str], bool] | None]


@lru_cache(maxsize=1)
def lexicon_is_drug() -> Callable[[str], bool] | None:
    try:
        from .drugs import DrugLexicon

        lexicon = DrugLexicon.default()
    except Exception:  # the lexicon is an optional enrichment; the taxonomy's list still works
        return None
    return lambda name: lexicon.canonical(name) is not None


def _drug_hits(
    words: list[str], is_drug: Callable[[str], bool] | None, lexicon: LexiconHook
) -> set[str]:
    tax = taxonomy()
    hits: set[str] = set()
    for size in (2, 1):
        for i in range(len(words) - size + 1):
            key = tuple(stem(w) for w in words[i : i + size])
            if key in tax.medicines:
                hits.add(" ".join(key))
    check = is_drug if is_drug is not None else lexicon()
    if check is None:
        return hits
    for word in words:
        # Short tokens and the other categories' own words are never drug names here: a lexicon of
        # brand names holds "banan", "zinc" and such, and "cement" must stay hardware.
        if len(word) < 5 or not word.isalpha() or stem(word) in tax.other_terms:
            continue
        try:
            if check(word):
                hits.add(word)
        except Exception:  # a faulty hook must not break understanding the rest of the need
            continue
    return hits


def _scores(
    text: str, is_drug: Callable[[str], bool] | None, lexicon: LexiconHook
) -> dict[str, float]:
    tax = taxonomy()
    words = folded_words(text)
    tokens = [stem(w) for w in words]
    scores = dict.fromkeys(tax.order, 0.0)
    n = len(tokens)
    for cat in tax.order:
        table, starts, seen, i = tax.terms[cat], tax.starts[cat], set(), 0
        while i < n:
            # Longest term first, as before; only the lengths of the terms that start with this word.
            for size in starts.get(tokens[i], ()):
                if size > n - i:
                    continue
                key = tuple(tokens[i : i + size])
                if key in table:
                    if key not in seen:  # "tablets tablets tablets" is one piece of evidence
                        seen.add(key)
                        scores[cat] += table[key]
                    i += size
                    break
            else:
                i += 1
    scores["pharmacy"] += float(len(_drug_hits(words, is_drug, lexicon)))
    return scores


def categorize(
    text: str,
    *,
    is_drug: Callable[[str], bool] | None = None,
    lexicon: LexiconHook = lexicon_is_drug,
) -> tuple[str | None, float]:
    """The best taxonomy category for a text and how strongly it matched (0..1).

    Strength is high when the evidence is plentiful and points to one category only:
    min(1, best score) x best / all scores. ``(None, 0.0)`` when nothing matched. ``lexicon`` is
    asked for the default check only when ``is_drug`` is not given and the text is not empty.
    """
    text = clean(text)
    if not text.strip():
        return None, 0.0
    if is_drug is None and lexicon is lexicon_is_drug:
        # The default check is a pure function of the name (a caller's hook need not be), so the
        # answer is one of the text: a need's item is categorised at every turn of its request.
        return _categorized(text, lexicon_is_drug())
    return _categorize(text, is_drug, lexicon)


def _no_lexicon() -> None:
    return None


@lru_cache(maxsize=1024)
def _categorized(text: str, check: Callable[[str], bool] | None) -> tuple[str | None, float]:
    """``_categorize`` with the default check, remembered for the last 1,024 texts (a tuple of a str
    and a float: no caller can change a shared answer)."""
    return _categorize(text, check, _no_lexicon)


def _categorize(
    text: str, is_drug: Callable[[str], bool] | None, lexicon: LexiconHook
) -> tuple[str | None, float]:
    scores = _scores(text, is_drug, lexicon)
    order = taxonomy().order
    best = max(order, key=lambda c: (scores[c], -order.index(c)))
    top, total = scores[best], sum(scores.values())
    if top <= 0:
        return None, 0.0
    return best, round(min(1.0, top) * top / total, 3)
