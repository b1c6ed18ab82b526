"""Needs: from a client's free text (en / fr / rw) to requirements the concierge can act on.

A need is complete when it names an item and a place (a gazetteer place, or the client's known area).
The vocabulary lives in ``concierge/data/taxonomy.json``; the ``need_*`` modules hold the grammar
around it, one concern each: ``need_text`` (folding), ``need_taxonomy``, ``need_category``,
``need_language``, ``need_places``, ``need_budget``, ``need_quantity`` (and urgency), ``need_item``,
``need_requirements`` and ``need_questions``. This module is their public face and the extractor
that puts one message's findings together.

Every public function accepts any text (garbage, emoji, 100 kB) and never raises on it.
"""

from __future__ import annotations

from collections.abc import Callable

from . import need_category
from .need_budget import budget_in
from .need_category import lexicon_is_drug as _lexicon_is_drug
from .need_item import item_in, only_generic
from .need_language import detect_language
from .need_places import known_area_place, place_in
from .need_quantity import is_urgent, quantity_in
from .need_questions import clarifying_question
from .need_requirements import Requirements
from .need_taxonomy import categories
from .need_text import clean
from .texts import LANGUAGES

__all__ = [
    "LANGUAGES",
    "Requirements",
    "categories",
    "categorize",
    "clarifying_question",
    "detect_language",
    "extract_requirements",
]


def categorize(
    text: str, *, is_drug: Callable[[str], bool] | None = None
) -> tuple[str | None, float]:
    """The best taxonomy category for a text and how strongly it matched (0..1).

    Strength is high when the evidence is plentiful and points to one category only:
    min(1, best score) x best / all scores. ``(None, 0.0)`` when nothing matched.
    """
    # The default lexicon is looked up here, at call time, so replacing ``needs._lexicon_is_drug``
    # (a test, a deployment without the lexicon) reaches every caller of the facade.
    return need_category.categorize(text, is_drug=is_drug, lexicon=_lexicon_is_drug)


# --- extraction ----------------------------------------------------------------------------------


def extract_requirements(
    text: str,
    *,
    known_area: str | None = None,
    default_language: str = "en",
    is_drug: Callable[[str], bool] | None = None,
) -> Requirements:
    """What one client message says about the need.

    ``known_area`` (the client's registered area) stands in when the text names no place.
    ``is_drug`` recognises medicine names; without it the drug lexicon (if present) and the
    taxonomy's list of common medicines are used. Numbers that belong to the item ("500mg",
    "21 capsules", "iPhone 12") are never read as a budget: money needs a cue, a currency or "k".
    """
    text = clean(text)
    language = detect_language(text, default_language)
    item = item_in(text)
    category, strength = categorize(item, is_drug=is_drug) if item else (None, 0.0)
    if item and only_generic(item):
        item = None  # "a pharmacy near Remera": the kind of shop is known, the item still is not
    return Requirements(
        item=item,
        category=category,
        category_strength=strength,
        place=place_in(text) or known_area_place(known_area),
        budget_max=budget_in(text),
        quantity=quantity_in(text),
        urgent=is_urgent(text),
        language=language,
    )
