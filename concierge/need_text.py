"""The folded text every needs rule matches on, and the limits on how much of it is read.

Folding keeps one character for one, so a match in the fold is a span in the client's own text;
every ``need_*`` module reads through these helpers, so a change to how client text is cleaned
happens here once.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from . import folding

# WhatsApp caps a text message at 4096 characters; past that it is not a need worth reading whole.
_MAX_TEXT = 4096
# An item (or an unknown area) longer than this is cut: it has to fit a line of the shortlist.
MAX_ITEM = 120
_ALNUM_RUN = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """A client's text folded as needs read it: the one aligned fold (see ``folding``)."""
    return folding.fold(text)


def clean(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    if len(text) > _MAX_TEXT:
        # Cut at a space: half a word at the end would read as part of the need.
        text = text[:_MAX_TEXT].rsplit(None, 1)[0] if " " in text[:_MAX_TEXT] else text[:_MAX_TEXT]
    # Every rule below reads one character at a time, so one table does them all (C's loop, not a
    # Python generator over every character of every message).
    return text.translate(_CLEAN_TABLE)


_NO_NEED = ("So", "Sk", "Cs", "Co", "Cn", "Cf", "Cc")


def _clean_char(c: str) -> str:
    """One character as ``clean`` reads it (the plain text kept as it is)."""
    # Before the symbols go: the acute and grave accents typed for an apostrophe are symbols.
    c = folding.plain_apostrophes(c)
    if c == "\u0153" or c == "\u0152":
        return "oe" if c == "\u0153" else "OE"
    # Emoji, symbols and control or unassigned code points carry no need; they become spaces.
    return " " if c != "\n" and unicodedata.category(c) in _NO_NEED else c


class _CleanTable(dict[int, str]):
    """``_clean_char`` of each code point ``str.translate`` meets, filled as they are met: the
    characters of Latin text are a few hundred; past ``_TABLE_MAX`` (garbage input walking the
    whole of Unicode) a character is worked out each time instead of kept."""

    def __missing__(self, code: int) -> str:
        out = _clean_char(chr(code))
        if len(self) < _TABLE_MAX:
            self[code] = out
        return out


_TABLE_MAX = 4096
_CLEAN_TABLE = _CleanTable()


def stem(token: str) -> str:
    # A trailing plural 's' is the only inflection worth undoing: "tablets", "chargers", "médicaments".
    return (
        token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token
    )


def folded_words(text: str) -> list[str]:
    return _ALNUM_RUN.findall(fold(text))


def stemmed_words(text: str) -> list[str]:
    return [stem(w) for w in folded_words(text)]
