"""``reply_text.fold`` takes a shortcut for ASCII text and remembers folded characters: it must fold
exactly as the character-by-character rule it replaces."""

from __future__ import annotations

import random
import unicodedata

from concierge.reply_text import _APOSTROPHES, fold


def _fold_char_reference(c: str) -> str:
    if c in _APOSTROPHES:
        return _APOSTROPHES[c]
    base = "".join(ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch))
    base = base.lower()
    if len(base) == 1:
        return base
    low = c.lower()
    return low if len(low) == 1 else c


def _reference(text: str) -> str:
    return "".join(_fold_char_reference(c) for c in text)


def test_every_ascii_and_latin_character_folds_as_before() -> None:
    chars = "".join(chr(i) for i in range(0x0000, 0x3000))
    assert fold(chars) == _reference(chars)
    ascii_only = "".join(chr(i) for i in range(128))
    assert fold(ascii_only) == _reference(ascii_only)


def test_mixed_texts_fold_as_before() -> None:
    rng = random.Random(3)
    alphabet = "abcXYZ019 `'\u2019\u00b4éÉçÇàÀ\u0130\u1e9eß\ufb01\u00bd\u212a\U0001f44d1\ufe0f\u20e3.,-"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert fold(text) == _reference(text)
        assert len(fold(text)) == len(text)


def _need_fold_char_reference(c: str) -> str:
    base = unicodedata.normalize("NFKD", c)[0] if c.isalpha() else c
    low = base.lower()
    return low if len(low) == 1 else c


def test_need_text_fold_as_before() -> None:
    from concierge.need_text import fold as need_fold

    chars = "".join(chr(i) for i in range(0x0000, 0x3000))
    assert need_fold(chars) == "".join(_need_fold_char_reference(c) for c in chars)
    rng = random.Random(5)
    alphabet = "abcXYZ019 `'éÉçÇ\u0130\u1e9eß\ufb01\u212a\U0001f44d-"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert need_fold(text) == "".join(_need_fold_char_reference(c) for c in text)
