"""The taxonomy (``concierge/data/taxonomy.json``) loaded once into lookup tables.

The vocabulary is data; this module only turns it into what the rules look up: weighted terms per
category, generic shop words, common medicines, and each language's marker words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .need_text import folded_words, stemmed_words
from .texts import LANGUAGES


@dataclass(frozen=True)
class Taxonomy:
    order: tuple[str, ...]
    terms: dict[str, dict[tuple[str, ...], float]]
    generic: frozenset[str]
    medicines: frozenset[tuple[str, ...]]
    markers: dict[str, frozenset[str]]
    vocabulary: dict[str, frozenset[str]]  # single words found in one language's terms only
    other_terms: frozenset[str]  # non-pharmacy single-word terms: never taken for a drug name
    longest: int
    # Per category, each term's first word -> the lengths of the terms it starts, longest first: a
    # reader tries at a word only the lengths a term there could have.
    starts: dict[str, dict[str, tuple[int, ...]]]


def _term_key(term: str) -> tuple[str, ...]:
    return tuple(stemmed_words(term))


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
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
            generic.update(stemmed_words(g))
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
    markers = {lang: frozenset(folded_words(" ".join(raw["languages"][lang]))) for lang in LANGUAGES}
    longest = max(len(k) for table in terms.values() for k in table)
    longest = max(longest, max((len(k) for k in medicines), default=1))
    return Taxonomy(
        order,
        terms,
        frozenset(generic),
        frozenset(medicines),
        markers,
        vocabulary,
        frozenset(other_terms),
        longest,
        {cat: _starts(table) for cat, table in terms.items()},
    )


def _starts(table: dict[tuple[str, ...], float]) -> dict[str, tuple[int, ...]]:
    sizes: dict[str, set[int]] = {}
    for key in table:
        sizes.setdefault(key[0], set()).add(len(key))
    return {first: tuple(sorted(found, reverse=True)) for first, found in sizes.items()}


def categories() -> tuple[str, ...]:
    """The category ids of the taxonomy, in its order of precedence (ties go to the earlier one)."""
    return taxonomy().order
