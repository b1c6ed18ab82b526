"""The one clarifying question for what a need still lacks, in the client's language (en/fr/rw)."""

from __future__ import annotations

from .need_requirements import Requirements
from .need_text import LANGUAGES

_ASK_ITEM = {
    "en": "What are you looking for? Please tell me the product and any detail that matters (brand, model, size).",
    "fr": "Que recherchez-vous ? Dites-moi le produit et les détails utiles (marque, modèle, taille).",
    "rw": "Murashaka iki? Mutubwire igicuruzwa n'ibisobanuro by'ingenzi (ubwoko, moderi, ingano).",
}
_ASK_MEDICINE = {
    "en": "Which medicine do you need? Please give its name and strength (for example Paracetamol 500mg).",
    "fr": "Quel médicament vous faut-il ? Donnez son nom et son dosage (par exemple Paracétamol 500mg).",
    "rw": "Ni uwuhe muti mukeneye? Mutubwire izina ryawo n'ingano yawo (urugero: Paracetamol 500mg).",
}
_ASK_PLACE = {
    "en": "Where should I look{for_item}? Tell me a neighbourhood or landmark in Kigali (for example Kimironko or Remera).",
    "fr": "Dans quel quartier dois-je chercher{for_item} ? Donnez un quartier ou un repère à Kigali (par exemple Kimironko ou Remera).",
    "rw": "Ni hehe twabibashakira? Mutubwire agace cyangwa ahantu hazwi i Kigali (urugero: Kimironko cyangwa Remera).",
}
_FOR_ITEM = {"en": " for {item}", "fr": " {item}"}


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
        table = _ASK_MEDICINE if req.category == "pharmacy" else _ASK_ITEM
        return table[language]
    for_item = (
        _FOR_ITEM[language].format(item=req.item) if language in _FOR_ITEM and req.item else ""
    )
    return _ASK_PLACE[language].format(for_item=for_item)
