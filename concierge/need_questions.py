"""The one clarifying question for what a need still lacks, in the client's language (en/fr/rw)."""

from __future__ import annotations

from .need_requirements import Requirements
from .texts import ASK_PLACE_FOR_ITEM, LANGUAGES, text_for


def clarifying_question(req: Requirements, language: str) -> str | None:
    """One question, for the first thing the need lacks, in the client's language; None if complete."""
    if not isinstance(req, Requirements):
        req = Requirements.from_dict(req)
    if language not in LANGUAGES:
        language = req.language if req.language in LANGUAGES else "en"
    missing = req.missing()
    if not missing:
        return None
    if missing[0] == "item":
        return text_for("ask_medicine" if req.category == "pharmacy" else "ask_item", language)
    for_item = (
        ASK_PLACE_FOR_ITEM[language].format(item=req.item)
        if language in ASK_PLACE_FOR_ITEM and req.item
        else ""
    )
    return text_for("ask_place", language).format(for_item=for_item)
