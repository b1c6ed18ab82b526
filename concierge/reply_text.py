"""The folded text every vendor-reply rule matches on.

Matching runs on a folded copy of the reply of the same length (lower case, no accents), so a match
position in the fold is also a position in the original: that is where notes and options are cut
from, in the vendor's own spelling. Shared by every ``reply_*`` module, so it changes only when the
way WhatsApp text is cleaned changes.
"""

from __future__ import annotations

import re

from .folding import HIDDEN_CHARS, fold

__all__ = ["EMPTY_ANSWER", "TRIM", "blank", "clip", "fold", "folded_words", "prepare"]

# The emoji variation selector too: it is left over from the keycaps WhatsApp numbers answers with.
_INVISIBLE = re.compile(f"[{HIDDEN_CHARS}\ufe0f]")
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")  # WhatsApp's 1️⃣ 2️⃣ emoji numbering
_NOT_WORD = re.compile(r"[^\w']+")


def prepare(text: object) -> str:
    text = "" if text is None else str(text)
    return _INVISIBLE.sub("", _KEYCAP.sub(r"\1.", text))


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
