"""Places of the gazetteer (reference data shipped with the package) and distances between them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lng: float
    aliases: tuple[str, ...] = ()


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _key(text: str) -> str:
    return _NOT_ALNUM.sub(" ", text.lower()).strip()


@lru_cache(maxsize=1)
def gazetteer() -> tuple[Place, ...]:
    raw = json.loads(resources.files("concierge.data").joinpath("gazetteer.json").read_text("utf-8"))
    return tuple(
        Place(p["name"], float(p["lat"]), float(p["lng"]), tuple(p.get("aliases", ())))
        for p in raw["places"]
    )


@lru_cache(maxsize=1)
def _index() -> dict[str, Place]:
    out: dict[str, Place] = {}
    for place in gazetteer():
        out[_key(place.name)] = place
        for alias in place.aliases:
            out.setdefault(_key(alias), place)
    return out


def lookup_place(name: str) -> Place | None:
    """A place by its name or an alias, case- and punctuation-insensitively."""
    if type(name) is str:
        return _place_named(name)
    return _index().get(_key(name))


@lru_cache(maxsize=1024)  # the same few area names are looked up at every vendor search
def _place_named(name: str) -> Place | None:
    return _index().get(_key(name))  # a frozen Place (or None): nothing a caller can change


def find_place_in(text: str) -> Place | None:
    """The first gazetteer place named anywhere in free text (longest names win at a position)."""
    words = _key(text).split()
    index, starts = _index(), _starts()
    n = len(words)
    for start, word in enumerate(words):
        # Longest name first; only the lengths of the names that begin with this word.
        for size in starts.get(word, ()):
            if size <= n - start:
                place = index.get(" ".join(words[start : start + size]))
                if place is not None:
                    return place
    return None


@lru_cache(maxsize=1)
def _starts() -> dict[str, tuple[int, ...]]:
    """The first word of each name or alias -> the word counts of those names, longest first."""
    sizes: dict[str, set[int]] = {}
    for key in _index():
        words = key.split()
        if words:
            sizes.setdefault(words[0], set()).add(len(words))
    return {first: tuple(sorted(found, reverse=True)) for first, found in sizes.items()}


@lru_cache(maxsize=8192)  # pure; every vendor search measures the same place-to-vendor pairs again
def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
