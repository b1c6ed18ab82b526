"""The drug lexicon: generic medicine names, their synonyms and brand names.

The data (``concierge/data/drug_lexicon.json``) is built by ``simulators/build_drug_lexicon.py`` from an
openly licensed vocabulary; see its ``_source`` note. Lookups are case-, accent- and space-insensitive.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

# A fuzzy match on a very short token says nothing: "Zinc" is 4 letters, so 4 is the floor.
_MIN_FUZZY_LEN = 4
# Fuzzy readings remembered per lexicon: a scan of every name costs ~0.2 ms, and a page's words are
# tried one, two and three at a time, so the same misread name comes back within a page and across
# pages of the same prescription. Each entry is a short key and a tuple: a few hundred kB at most.
_REMEMBERED = 2048
_UNSEEN = object()


def normalize(name: str) -> str:
    """Fold a printed name to a lookup key: ASCII, lower case, single spaces, '/' and '+' spaced."""
    if not isinstance(name, str):
        return ""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    for sep in ("/", "+", "&"):
        folded = folded.replace(sep, " / ")
    return " ".join(folded.lower().split())


class DrugLexicon:
    def __init__(self, drugs: dict[str, list[str]]):
        """``drugs`` maps a generic name to its synonyms (brand names, other INN/USAN names)."""
        self._generic_by_key: dict[str, str] = {}
        for generic in sorted(drugs):
            for name in [generic, *sorted(drugs[generic])]:
                self._generic_by_key.setdefault(normalize(name), generic)
                # "co-trimoxazole" is also printed "co trimoxazole" and "cotrimoxazole".
                self._generic_by_key.setdefault(normalize(name).replace("-", " "), generic)
                self._generic_by_key.setdefault(normalize(name).replace("-", ""), generic)
        self._keys = sorted(self._generic_by_key)
        self.generics: tuple[str, ...] = tuple(sorted(drugs))
        # The lexicon never changes after this, so a fuzzy reading of a key stays its reading.
        self._fuzzy: dict[str, tuple[str, float] | None] = {}
        self._near: dict[tuple[str, int], tuple[tuple[str, float], ...]] = {}

    @classmethod
    def default(cls) -> DrugLexicon:
        return _default_lexicon()

    @classmethod
    def from_json(cls, text: str) -> DrugLexicon:
        data = json.loads(text)
        return cls({g: list(e.get("synonyms", [])) for g, e in data["drugs"].items()})

    def canonical(self, name: str) -> str | None:
        """The generic name for an exact name or synonym, else None (never a guess)."""
        return self._generic_by_key.get(normalize(name))

    def match(self, token: str) -> tuple[str, float] | None:
        """The closest generic to a possibly misread token, with a similarity score 0..1."""
        key = normalize(token)
        if key in self._generic_by_key:
            return self._generic_by_key[key], 1.0
        if len(key) < _MIN_FUZZY_LEN:
            return None
        found = self._fuzzy.get(key, _UNSEEN)
        if found is _UNSEEN:
            found = self._closest(key)
            _remember(self._fuzzy, key, found)
        return found  # type: ignore[return-value]

    def _closest(self, key: str) -> tuple[str, float] | None:
        best = process.extractOne(key, self._keys, scorer=fuzz.ratio, processor=None)
        if best is None:
            return None
        name, score, _ = best
        return self._generic_by_key[name], round(score / 100.0, 4)

    def candidates(self, token: str, limit: int = 3) -> list[tuple[str, float]]:
        """The best distinct generics for a token, best first (to see whether a reading is ambiguous)."""
        key = normalize(token)
        if len(key) < _MIN_FUZZY_LEN:
            hit = self.match(token)
            return [hit] if hit else []
        if type(limit) is not int:
            return list(self._nearest(key, limit))
        found = self._near.get((key, limit))
        if found is None:
            found = self._nearest(key, limit)
            _remember(self._near, (key, limit), found)
        return list(found)  # a new list each time: the remembered tuple stays as it was

    def _nearest(self, key: str, limit: int) -> tuple[tuple[str, float], ...]:
        out: dict[str, float] = {}
        for name, score, _ in process.extract(key, self._keys, scorer=fuzz.ratio, processor=None,
                                              limit=limit * 8):
            generic = self._generic_by_key[name]
            if generic not in out:
                out[generic] = round(score / 100.0, 4)
        return tuple(sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])

    def same_drug(self, a: str, b: str) -> bool:
        """True when both names are the same medicine (Paracetamol = Acetaminophen = Panadol)."""
        ca, cb = self.canonical(a), self.canonical(b)
        if ca is not None and cb is not None:
            return ca == cb
        return bool(normalize(a)) and normalize(a) == normalize(b)

    def __len__(self) -> int:
        return len(self.generics)


def _remember(memory: dict, key: object, value: object) -> None:
    if len(memory) >= _REMEMBERED:
        del memory[next(iter(memory))]  # the oldest first
    memory[key] = value


@lru_cache(maxsize=1)
def _default_lexicon() -> DrugLexicon:
    text = resources.files("concierge.data").joinpath("drug_lexicon.json").read_text("utf-8")
    return DrugLexicon.from_json(text)
