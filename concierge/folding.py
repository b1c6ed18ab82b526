"""How text is folded before a rule matches it: the one home of folding, courtesy words and the
characters people use to hide or dress up words.

Every reader of free text (a client's need, a vendor's reply, a consent answer, the injection
detector) folds through here. There are two folds, because the readers need two different things:

- ``fold`` keeps one character for one, so a match in the fold is a span in the original text:
  needs and replies cut items, notes and options out of the writer's own spelling.
- ``fold_unaligned`` may change the length (``ß`` -> ``ss``): consent answers and the injection
  detector only ask *whether* a phrase is there.

Both read what a phone's keyboard dresses up as the plain character a rule is written with: a
typographic apostrophe (iOS "smart punctuation" types ``d’accord``) is ``'``, and a no-break or
thin space (French keyboards group thousands with one: ``12 500``) is a space, so every reader
means the same by the same text whoever typed it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Zero-width and bidi characters: the classic way to split "ignore" so that a filter misses it.
HIDDEN_CHARS = "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
HIDDEN = re.compile(f"[{HIDDEN_CHARS}]")
# Apostrophes as phones and keyboards type them: right and left single quotes (smart punctuation),
# the reversed one, the modifier letter apostrophe (U+02BC, which some keyboards type), and the acute
# and grave accents typed in their place.
APOSTROPHES = dict.fromkeys("\u2019\u2018\u201b\u02bc\u00b4`", "'")
_APOSTROPHE_TABLE = str.maketrans(APOSTROPHES)
# After NFKD every space is " " already; tabs are joined with them.
_BLANKS = re.compile(r"[ \t]+")

# Courtesy that never changes what a short message means, in en / fr / rw. Each reader adds the
# words of its own kind of message (see ``calling``, ``reply_intents``, ``need_item``): merging
# them would change answers ("yes okay" is no consent answer today, "stop stp" no opt-out).
COURTESY_WORDS = frozenset({"please", "pls", "svp", "merci", "thanks", "thank", "you", "murakoze", "ok"})


def _without_marks(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def _plain_char(c: str) -> str:
    # The acute accent is looked up before it decomposes (to a space and a combining accent).
    if c in APOSTROPHES:
        return "'"
    base = _without_marks(c).lower()
    if len(base) == 1:
        # Compatibility forms of the grave accent (U+1FEF, U+FF40) are apostrophes too.
        return APOSTROPHES.get(base, base)
    low = c.lower()
    return low if len(low) == 1 else c


def plain_apostrophes(text: str) -> str:
    """The text with every apostrophe variant typed as "'" (same length)."""
    return text.translate(_APOSTROPHE_TABLE)


def fold(text: str) -> str:
    """Lower case without accents, one character for one: a match in the fold is a span in the text.

    Compatibility forms read as their plain character: any space (no-break, narrow no-break, thin,
    ...) is " ", full-width and superscript digits are digits, typographic apostrophes are "'".
    A character whose plain form is longer (a ligature, "½") is kept, lower-cased, as it is.
    """
    if text.isascii():
        # What the character rule gives every ASCII character, without looking at them one by one.
        return text.lower().replace("`", "'")
    return "".join(map(_plain_char, text))


def fold_unaligned(text: str) -> str:
    """Case-folded without accents, for rules that only ask whether a phrase is there.

    It first undoes the tricks that hide a phrase: zero-width characters are dropped, apostrophes
    and runs of blanks made plain, accents stripped before case folding (so compatibility letters
    such as "ℂ" or "ᴬ" fold to the small letter).
    """
    text = plain_apostrophes(HIDDEN.sub("", text))
    return _BLANKS.sub(" ", plain_apostrophes(_without_marks(text)).casefold())
