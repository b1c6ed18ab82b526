"""The folded text every vendor-reply rule matches on.

Matching runs on a folded copy of the reply of the same length (lower case, no accents), so a match
position in the fold is also a position in the original: that is where notes and options are cut
from, in the vendor's own spelling. Shared by every ``reply_*`` module, so it changes only when the
way WhatsApp text is cleaned changes.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufe0f]")
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")  # WhatsApp's 1️⃣ 2️⃣ emoji numbering
_NOT_WORD = re.compile(r"[^\w']+")
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"}


def prepare(text: object) -> str:
    text = "" if text is None else str(text)
    return _INVISIBLE.sub("", _KEYCAP.sub(r"\1.", text))


@functools.lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    if c in _APOSTROPHES:
        return _APOSTROPHES[c]
    base = "".join(ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch))
    base = base.lower()
    if len(base) == 1:
        return base
    low = c.lower()
    return low if len(low) == 1 else c


def fold(text: str) -> str:
    """Lower case without accents, one character for one character."""
    if text.isascii():
        # What _fold_char gives every ASCII character, without looking at them one by one.
        return text.lower().replace("`", "'")
    return "".join(map(_fold_char, text))


def folded_words(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", fold(prepare(text))).split())


def blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


# "3. no", "4. -": an answer given that says nothing, so the rest of the text is read instead.
EMPTY_ANSWER = re.compile(r"^(?:no|non|oya|none|n/?a|-+|nothing|\.+|\?+)?$")
TRIM = " \t\r\n,.;:-!?*_~\"'()[]"


def clip(original: str, start: int, end: int) -> str:
    """A span of the original text, on one line, without the punctuation around it."""
    return " ".join(original[start:end].split()).strip(TRIM)
