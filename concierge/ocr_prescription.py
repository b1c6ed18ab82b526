"""A prescription page read drug by drug: name (checked against the drug lexicon), dose, form,
quantity and instructions, each with its confidence; any doubt asks the client (docs/domain.md "OCR").
Nothing here guesses, substitutes or advises: a fuzzy lexicon match only ever raises or lowers a
confidence and corrects a misread spelling of the very name printed.
"""

from __future__ import annotations

import re

from concierge.drugs import DrugLexicon
from concierge.ocr_fields import (
    OVERALL_MIN_CONFIDENCE,
    Field,
    OcrAnalysis,
    PrescriptionItem,
    ask_to_confirm,
    clamp_confidence,
    mean_confidence,
    quote,
)
from concierge.ports import OcrPage, OcrWord

DRUG_MIN_CONFIDENCE = 0.75
FIELD_MIN_CONFIDENCE = 0.70
# Each point of edit distance costs this many points of confidence: one slip in "Amoxicillin" still
# proceeds, two ask.
FUZZY_PENALTY = 3.0
# A reading whose runner-up is this close could be either drug (Amoxicillin / Ampicillin): ask.
AMBIGUITY_MARGIN = 0.05
# Below this a token is no reading of any lexicon name at all; the printed text is kept as is.
LEXICON_MIN_SCORE = 0.60


FORMS = {
    "tablet": "tablets", "tablets": "tablets", "tab": "tablets", "tabs": "tablets",
    "capsule": "capsules", "capsules": "capsules", "cap": "capsules", "caps": "capsules",
    "syrup": "syrup", "suspension": "suspension", "injection": "injection", "inj": "injection",
    "cream": "cream", "ointment": "ointment", "drops": "drops", "sachet": "sachets",
    "sachets": "sachets", "inhaler": "inhaler", "gel": "gel", "suppository": "suppositories",
    "suppositories": "suppositories", "solution": "solution", "lotion": "lotion", "spray": "spray",
    "vial": "vials", "vials": "vials", "ampoule": "ampoules", "ampoules": "ampoules",
}
HEADER_PREFIXES = ("patient", "prescriber", "tel", "date", "signature", "age", "address", "phone",
                   "doctor", "dr.", "name", "diagnosis")

DOSE = re.compile(r"^(\d+(?:[.,]\d+)?)(mg|g|mcg|ug|µg|ml|iu|%)(/\d*(?:mg|g|ml))?$", re.I)
_UNIT = re.compile(r"^(mg|g|mcg|ug|µg|ml|iu|%)[.,;:]?$", re.I)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_QTY_INLINE = re.compile(r"^[x×#](\d{1,4})[.,;:]?$", re.I)
_QTY_WORD = re.compile(r"^(qty|quantity|qte|no|nbr)[.:]?$", re.I)
_INT = re.compile(r"^(\d{1,4})[.,;:]?$")
_ITEM_NUMBER = re.compile(r"^\(?\d{1,2}[.)]?$")


def _clean(token: str) -> str:
    return token.strip(".,;:()[]{}!?\"'*|")


def _where(line_no: int, a: int, b: int) -> str:
    return f"ocr:line {line_no + 1} words {a + 1}-{b + 1}"


def _find_dose(words: list[OcrWord], line_no: int) -> tuple[Field, int] | None:
    for i, w in enumerate(words):
        tok = _clean(w.text)
        m = DOSE.match(tok)
        if m:
            return Field(tok.replace(",", ".").lower(), clamp_confidence(w.confidence), _where(line_no, i, i)), i
        if _NUMBER.match(tok) and i + 1 < len(words) and _UNIT.match(_clean(words[i + 1].text)):
            unit = _clean(words[i + 1].text).lower()
            conf = min(w.confidence, words[i + 1].confidence)
            return Field(f"{tok.replace(',', '.')}{unit}", clamp_confidence(conf), _where(line_no, i, i + 1)), i
    return None


def _find_quantity(words: list[OcrWord], line_no: int) -> Field | None:
    for i, w in enumerate(words):
        tok = w.text.strip()
        m = _QTY_INLINE.match(tok)
        if m:
            return Field(int(m.group(1)), clamp_confidence(w.confidence), _where(line_no, i, i))
        if _QTY_WORD.match(tok) and i + 1 < len(words):
            m = _INT.match(words[i + 1].text.strip())
            if m:
                conf = min(w.confidence, words[i + 1].confidence)
                return Field(int(m.group(1)), clamp_confidence(conf), _where(line_no, i, i + 1))
        # "Qty:21" read as one word
        m = re.match(r"^(?:qty|quantity)[.:]?(\d{1,4})$", tok, re.I)
        if m:
            return Field(int(m.group(1)), clamp_confidence(w.confidence), _where(line_no, i, i))
    return None


def _find_form(words: list[OcrWord], line_no: int) -> Field | None:
    for i, w in enumerate(words):
        form = FORMS.get(_clean(w.text).lower())
        if form:
            return Field(form, clamp_confidence(w.confidence), _where(line_no, i, i))
    return None


def _find_drug(words: list[OcrWord], end: int, line_no: int, lexicon: DrugLexicon):
    """Best lexicon reading of 1-3 words before ``end``: (Field, printed text, score) or None."""
    best = None
    start = 1 if words and _ITEM_NUMBER.match(words[0].text.strip()) else 0
    for a in range(start, end):
        for b in range(a, min(a + 3, end)):
            span = words[a : b + 1]
            printed = " ".join(_clean(w.text) for w in span).strip()
            if len(printed.replace(" ", "")) < 3 or not re.search(r"[A-Za-z]{3}", printed):
                continue
            if any(FORMS.get(_clean(w.text).lower()) for w in span):
                continue
            hit = lexicon.match(printed)
            score = hit[1] if hit else 0.0
            # Prefer the higher score; on a tie the longer span ("Folic acid" over "Folic").
            key = (round(score, 4), b - a)
            if best is None or key > best[0]:
                best = (key, a, b, printed, hit)
    if best is None:
        return None
    (_, _), a, b, printed, hit = best
    span_conf = mean_confidence(words[a : b + 1])
    where = _where(line_no, a, b)
    if hit and hit[1] >= LEXICON_MIN_SCORE:
        generic, score = hit
        exact = lexicon.canonical(printed) is not None
        # An exact name stays as printed (a brand is a real name); a misread one gets the
        # lexicon's spelling of that same name, and its confidence pays for the distance.
        value = printed if exact else generic
        factor = 1.0 if exact else max(0.0, 1.0 - FUZZY_PENALTY * (1.0 - score))
        note = f"{where} + lexicon {generic} {score:.2f}"
        if not exact:
            rivals = [c for c in lexicon.candidates(printed) if c[0] != generic]
            if rivals and score - rivals[0][1] < AMBIGUITY_MARGIN:
                factor = min(factor, 0.5)
                note += f" (or {rivals[0][0]} {rivals[0][1]:.2f})"
        return Field(value, clamp_confidence(span_conf * factor), note), printed, score
    return Field(printed, clamp_confidence(span_conf * 0.5), f"{where} (not in lexicon)"), printed, 0.0


def _is_header(words: list[OcrWord]) -> bool:
    first = _clean(words[0].text).lower() if words else ""
    return any(first.startswith(p.rstrip(".")) for p in HEADER_PREFIXES) and first != "rx"


def _instructions_of(words: list[OcrWord]) -> str | None:
    if not words:
        return None
    first = _clean(words[0].text).lower()
    if first in ("sig", "instructions", "use", "take", "apply", "directions"):
        rest = words[1:] if first in ("sig", "instructions", "directions") else words
        return " ".join(w.text for w in rest).strip(" :") or None
    return None


def _prescription_items(lines: list[list[OcrWord]], lexicon: DrugLexicon):
    items: list[tuple[PrescriptionItem, str]] = []
    used: set[int] = set()
    for n, words in enumerate(lines):
        if n in used or _is_header(words) or _instructions_of(words):
            continue
        dose = _find_dose(words, n)
        numbered = bool(_ITEM_NUMBER.match(words[0].text.strip())) and len(words) > 1
        end = dose[1] if dose else len(words)
        drug = _find_drug(words, end, n, lexicon)
        if drug is None:
            continue
        strong_name = drug[2] >= 0.85
        if not (dose or (numbered and drug[2] >= LEXICON_MIN_SCORE) or strong_name):
            continue
        quantity = _find_quantity(words, n)
        instructions = None
        if n + 1 < len(lines):
            text = _instructions_of(lines[n + 1])
            if text:
                used.add(n + 1)
                conf = mean_confidence(lines[n + 1])
                instructions = Field(text, clamp_confidence(conf), f"ocr:line {n + 2}")
                quantity = quantity or _find_quantity(lines[n + 1], n + 1)
        form = _find_form(words, n)
        missing = Field(None, 0.0, "not found")
        item = PrescriptionItem(
            drug_name=drug[0],
            dose=dose[0] if dose else missing,
            form=form or missing,
            quantity=quantity or missing,
            instructions=instructions or missing,
        )
        items.append((item, quote(words)))
    return items


def _need_text(item: PrescriptionItem) -> str:
    parts = [str(item.drug_name.value)]
    parts += [str(f.value) for f in (item.dose, item.form) if f.value not in (None, "")]
    text = " ".join(parts)
    if item.quantity.value is not None:
        text += f" x{item.quantity.value}"
    return text


def analyse_prescription(page: OcrPage, lines, lexicon: DrugLexicon) -> OcrAnalysis:
    found = _prescription_items(lines, lexicon)
    items = tuple(i for i, _ in found)
    warnings: list[str] = []
    unsure: list[str] = []
    reasons: list[str] = []
    for item, quoted in found:
        bad = False
        if item.drug_name.confidence < DRUG_MIN_CONFIDENCE:
            warnings.append("uncertain_drug_name")
            reasons.append("the medicine name")
            bad = True
        if item.dose.value is None or item.dose.confidence < FIELD_MIN_CONFIDENCE:
            warnings.append("unclear_dose")
            reasons.append("the strength")
            bad = True
        if item.quantity.value is None or item.quantity.confidence < FIELD_MIN_CONFIDENCE:
            warnings.append("unclear_quantity")
            reasons.append("the quantity")
            bad = True
        if bad:
            unsure.append(quoted)
    if not items:
        warnings.append("uncertain_drug_name")
    scores = [f.confidence for i in items for f in (i.drug_name, i.dose, i.quantity)]
    confidence = clamp_confidence(sum(scores) / len(scores)) if scores else clamp_confidence(page.mean_confidence * 0.5)
    if confidence < OVERALL_MIN_CONFIDENCE:
        warnings.append("low_confidence")
        reasons.append("the overall reading")
        unsure = unsure or [q for _, q in found]
    warnings = list(dict.fromkeys(warnings))
    if warnings:
        question = ask_to_confirm(unsure, list(dict.fromkeys(reasons)) or ["the medicines"])
        return OcrAnalysis("medical_prescription", confidence, items, {}, tuple(warnings),
                           "ask_client", question, None)
    need = "; ".join(_need_text(i) for i in items)
    return OcrAnalysis("medical_prescription", confidence, items, {}, (), "proceed", None, need)
