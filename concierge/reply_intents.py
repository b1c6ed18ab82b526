"""Whole-message intents of a reply: an opt-out, a client's cancel, a vendor too busy to answer.

These read the message as a whole, apart from the four numbered answers, because the engine acts on
them before anything else (an opt-out is honoured even when the rest is unreadable).
"""

from __future__ import annotations

import re

from concierge.folding import COURTESY_WORDS
from concierge.reply_text import fold, folded_words, prepare

# Words around a stop/cancel that do not change its meaning ("Cancel my request please").
_FILLER = COURTESY_WORDS | {"plz", "plse", "nyamuneka", "now", "sorry", "okay", "the", "my", "this", "it",
                            "all", "request", "order", "la", "ma", "cette", "demande", "commande", "tout",
                            "byose", "ibi"}
_VENDOR_STOP = {"stop", "unsubscribe", "hagarika", "desabonner", "desabonnement", "stopmessages",
                "unsubscribeme"}
_CLIENT_CANCEL = {"stop", "cancel", "annuler", "annule", "annulez", "arreter", "arrete", "arretez",
                  "arret", "hagarika", "reka", "bireke"}


def _core_words(text: str) -> str:
    words = [w for w in re.sub(r"[^a-z]+", " ", folded_words(text)).split() if w not in _FILLER]
    return "".join(words)


def is_vendor_stop(text: str) -> bool:
    """The whole message is an opt-out: STOP, stop, Stop., unsubscribe, hagarika (rw)."""
    return _core_words(text) in _VENDOR_STOP


def is_client_cancel(text: str) -> bool:
    """The whole message cancels the request: STOP, cancel, annuler, arrêter, hagarika, reka."""
    return _core_words(text) in _CLIENT_CANCEL


_BUSY = re.compile(
    r"\b(?:busy|occupee?s?|ndahuze|nahuze|turahuze|mpuze|duhuze|in\s+a\s+meeting|driving"
    r"|en\s+reunion|not\s+now|pas\s+maintenant|plus\s+tard|ntabwo\s+mboneka"
    r"|try\s+(?:again\s+)?later|(?:call|text|message|write|ask|contact|come\s+back)\s+(?:me\s+|us\s+)?"
    r"later|later\s+(?:please|pls|plz)|nyuma\s+gato|mwongere\s+nyuma|ongera\s+nyuma"
    r"|mumbaze\s+nyuma|rappele[rz]?\s+plus\s+tard|reessaye[rz]?\s+plus\s+tard)\b"
)


def is_busy(text: str) -> bool:
    """The vendor says it cannot answer now ("busy", "occupé", "ndahuze", "try later")."""
    return bool(_BUSY.search(fold(prepare(text))))
