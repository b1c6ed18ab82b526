"""What a client writes about calls: a YES/NO to the consent prompt (text or its buttons), and
"call me" in English, French or Kinyarwanda; and the prompt's button titles."""

from __future__ import annotations

import re

from .folding import COURTESY_WORDS, fold_unaligned
from .texts import CONSENT_BUTTONS

YES_BUTTON = "consent_yes"
NO_BUTTON = "consent_no"
_YES = frozenset({"yes", "y", "yeah", "yep", "sure", "oui", "ouais", "d'accord", "daccord", "yego", "ego",
                  "yee", "consent_yes"})
_NO = frozenset({"no", "n", "nope", "non", "oya", "hoya", "ntabwo", "consent_no"})
_FILLER = COURTESY_WORDS | {"plz", "stp", "ndabinginze"}
_CALL_ME = re.compile(
    r"\b(?:call\s+me|give\s+me\s+a\s+call|phone\s+me|ring\s+me|can\s+you\s+call|"
    r"appelle[sz]?[\s-]*moi|appelez[\s-]*moi|tu\s+peux\s+m'?\s*appeler|vous\s+pouvez\s+m'?\s*appeler|"
    r"mpamagara|nhamagara|mumpamagare|ntelefona|ntelefone)\b"
)
_NOW = frozenset({"now", "asap", "maintenant", "vite", "nonaha", "vuba", "urgently"})


def consent_answer(text: str | None, button_id: str | None = None) -> bool | None:
    """True for YES, False for NO, None for anything else (whole-message answers only)."""
    if button_id in (YES_BUTTON, NO_BUTTON):
        return button_id == YES_BUTTON
    if not isinstance(text, str):
        return None
    words = [w for w in re.split(r"[^a-z0-9_']+", fold_unaligned(text)) if w and w not in _FILLER]
    if not words or len(words) > 3:
        return None
    found = {True for w in words if w in _YES} | {False for w in words if w in _NO}
    if len(found) != 1 or any(w not in _YES and w not in _NO for w in words):
        return None
    return found.pop()


def is_call_me(text: str | None) -> bool:
    """The client asks to be called ("call me", "appelez-moi", "mpamagara")."""
    return isinstance(text, str) and _CALL_ME.search(fold_unaligned(text)) is not None


def button_titles(language: str) -> tuple[str, str]:
    """The consent prompt's YES and NO button titles in the client's language."""
    return CONSENT_BUTTONS.get(language, CONSENT_BUTTONS["en"])


def only_asks_for_a_call(text: str | None) -> bool:
    """A bare "call me" (with at most please/now): nothing in it for the need pipeline."""
    rest = re.sub(r"[^a-z]+", " ", _CALL_ME.sub(" ", fold_unaligned(text or ""))).split()
    return all(w in _FILLER or w in _NOW for w in rest)
