"""How text is folded before a rule matches it: the one home of folding, courtesy words and the
characters people use to hide or dress up words.

Every reader of free text (a client's need, a vendor's reply, a consent answer, the injection
detector) folds through here. There are two folds, because the readers need two different things:

- ``fold`` keeps one character for one, so a match in the fold is a span in the original text:
  needs and replies cut items, notes and options out of the writer's own spelling.
- ``fold_unaligned`` may change the length (``ß`` -> ``ss``): consent answers and the injection
  detector only ask *whether* a phrase is there.

Each takes one switch for a difference the readers have always had. Making them agree would change
what some texts mean (examples at each switch), so they are kept until a scenario decides which
reading is right.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Zero-width and bidi characters: the classic way to split "ignore" so that a filter misses it.
HIDDEN_CHARS = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
HIDDEN = re.compile(f"[{HIDDEN_CHARS}]")
# Typographic apostrophes (phones' "smart punctuation") and the accents typed in their place.
APOSTROPHES = {"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"}
_APOSTROPHE_TABLE = str.maketrans(APOSTROPHES)
_BLANKS = re.compile(r"[ \t\u00a0]+")

# Courtesy that never changes what a short message means, in en / fr / rw. Each reader adds the
# words of its own kind of message (see ``calling``, ``reply_intents``, ``need_item``): merging
# them would change answers ("yes okay" is no consent answer today, "stop stp" no opt-out).
COURTESY_WORDS = frozenset({"please", "pls", "svp", "merci", "thanks", "thank", "you", "murakoze", "ok"})


def _without_marks(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def _plain_char(c: str) -> str:
    if c in APOSTROPHES:
        return APOSTROPHES[c]
    base = _without_marks(c).lower()
    if len(base) == 1:
        return base
    low = c.lower()
    return low if len(low) == 1 else c


@lru_cache(maxsize=4096)
def _letter_char(c: str) -> str:
    base = unicodedata.normalize("NFKD", c)[0] if c.isalpha() else c
    low = base.lower()
    return low if len(low) == 1 else c


def fold(text: str, *, plain_forms: bool = True) -> str:
    """Lower case without accents, one character for one: a match in the fold is a span in the text.

    ``plain_forms`` (vendor replies) also reads compatibility forms as their plain character:
    full-width and superscript digits, no-break spaces, typographic apostrophes, and keeps a
    ligature whole. Without it (client needs) only letters lose their accents, and a ligature
    becomes its first letter. Kept apart because the readers' rules were tuned on them:
    "12\u00a0500 RWF" (a no-break space, as French keyboards group thousands) is 12,500 in a reply
    and 500 in a need.
    """
    if text.isascii():
        # What the character rule gives every ASCII character, without looking at them one by one.
        low = text.lower()
        return low.replace("`", "'") if plain_forms else low
    return "".join(map(_plain_char if plain_forms else _letter_char, text))


def fold_unaligned(text: str, *, unmask: bool = True) -> str:
    """Case-folded without accents, for rules that only ask whether a phrase is there.

    ``unmask`` (the injection detector) first undoes the tricks that hide a phrase: zero-width
    characters are dropped, typographic apostrophes and runs of blanks made plain, and accents
    stripped before case folding. Without it (consent answers) the text is case-folded first and
    kept as written otherwise, so "d\u2019accord" with a phone's apostrophe is not read as "d'accord";
    unmasking it would turn such texts into a YES they are not today.
    """
    if not unmask:
        return _without_marks(text.casefold())
    text = HIDDEN.sub("", text).translate(_APOSTROPHE_TABLE)
    return _BLANKS.sub(" ", _without_marks(text).casefold())
