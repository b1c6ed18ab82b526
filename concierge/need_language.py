"""Which language a client writes in (en, fr, rw), so questions and updates answer in it."""

from __future__ import annotations

import re

from .need_taxonomy import taxonomy
from .need_text import clean, folded_words, stem
from .texts import LANGUAGES

_FRENCH_LETTERS = re.compile(r"[éèêëàâçùûîïô]")


def detect_language(text: str, default: str = "en") -> str:
    """en, fr or rw, by marker words and vocabulary; ``default`` when the text gives no evidence."""
    default = default if default in LANGUAGES else "en"
    text = clean(text)
    tax = taxonomy()
    words = folded_words(text)
    scores = dict.fromkeys(LANGUAGES, 0.0)
    for word in words:
        stemmed = stem(word)
        for lang in LANGUAGES:
            if word in tax.markers[lang]:
                scores[lang] += 1.0
            elif stemmed in tax.vocabulary[lang]:
                scores[lang] += 0.5
    scores["fr"] += 0.5 * len(_FRENCH_LETTERS.findall(text.lower()))
    top = max(scores.values())
    if top <= 0:
        return default
    tied = [lang for lang in LANGUAGES if scores[lang] == top]
    return default if default in tied else tied[0]
