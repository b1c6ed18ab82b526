"""From what an OCR engine read to what the concierge may act on: pure rules, no I/O.

Safety (docs/domain.md "OCR"): a drug name below 0.75 confidence, an unclear dose or quantity, an overall
confidence below 0.7, or no text at all make the next action ``ask_client``; the question quotes what
was read and asks the client to confirm or type it. Nothing here guesses, substitutes or advises: a
fuzzy lexicon match only ever raises or lowers a confidence and corrects a misread spelling of the
very name printed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field

from rapidfuzz import fuzz

from concierge.drugs import DrugLexicon
from concierge.ports import OcrPage, OcrWord

DRUG_MIN_CONFIDENCE = 0.75
FIELD_MIN_CONFIDENCE = 0.70
OVERALL_MIN_CONFIDENCE = 0.70
# Each point of edit distance costs this many points of confidence: one slip in "Amoxicillin" still
# proceeds, two ask.
FUZZY_PENALTY = 3.0
# A reading whose runner-up is this close could be either drug (Amoxicillin / Ampicillin): ask.
AMBIGUITY_MARGIN = 0.05
# Below this a token is no reading of any lexicon name at all; the printed text is kept as is.
LEXICON_MIN_SCORE = 0.60
QUOTE_MAX_CHARS = 160

MEDICAL_WORDS = {
    "rx", "prescription", "prescriber", "prescribed", "patient", "doctor", "dr", "sig", "clinic",
    "hospital", "diagnosis", "dosage", "ordonnance", "medecin", "docteur", "ibitaro", "umuganga",
    "ivuriro", "mg", "mcg", "tablets", "capsules", "syrup", "dose",
}
STRONG_MEDICAL = {"rx", "prescription", "prescriber", "prescribed", "ordonnance", "sig", "diagnosis"}
CAPTION_MEDICAL = {"prescription", "medicine", "medicines", "medication", "doctor", "pharmacy",
                   "ordonnance", "medicament", "medicaments", "umuti", "imiti", "dawa", "rx"}
INVOICE_WORDS = {"invoice", "receipt", "total", "subtotal", "amount", "tin", "vat", "cash",
                 "change", "facture", "inyemezabuguzi", "bill", "gst", "balance"}
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

_DOSE = re.compile(r"^(\d+(?:[.,]\d+)?)(mg|g|mcg|ug|µg|ml|iu|%)(/\d*(?:mg|g|ml))?$", re.I)
_UNIT = re.compile(r"^(mg|g|mcg|ug|µg|ml|iu|%)[.,;:]?$", re.I)
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_QTY_INLINE = re.compile(r"^[x×#](\d{1,4})[.,;:]?$", re.I)
_QTY_WORD = re.compile(r"^(qty|quantity|qte|no|nbr)[.:]?$", re.I)
_INT = re.compile(r"^(\d{1,4})[.,;:]?$")
_ITEM_NUMBER = re.compile(r"^\(?\d{1,2}[.)]?$")
# ".01": receipts print an amount under one unit without its leading zero (a rounding of RM .01).
_MONEY = re.compile(r"(?<![\d.,])\.\d{2}(?!\d)|\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:[.,]\d{1,2})?")
_COMPANY_SUFFIXES = ("ltd", "limited", "sdn bhd", "bhd", "enterprise", "trading", "pharmacy",
                     "pharma", "s.a.r.l", "sarl", "co.", "company", "inc", "plc", "store", "stores",
                     "supermarket", "restaurant", "hardware")
# Total keywords, strongest first. A receipt prints several "total"-like lines (subtotal, tax total,
# rounding adjustment, grand total); the grand / payable / rounded / tax-inclusive one is what was paid.
_TOTAL_BEST = ("grand total", "total due", "amount due", "total payable", "amount payable", "net total",
               "nett total", "total amount", "total rwf", "total (rwf)", "total (rm)", "total rm",
               "rounded total", "total rounded", "total incl", "total (incl", "incl. gst", "incl gst",
               "incl. vat", "incl vat", "inclusive", "balance due", "montant total", "total a payer",
               "total à payer", "net a payer", "net à payer", "jumlah besar", "jumlah bersih",
               "jumlah keseluruhan", "igiteranyo cyose", "net amount", "nett amount", "net amt", "nett amt")
# "DUE 25.15" alone is the amount due; "due date" is a date. "Payable", "net(t) amount" and "net à
# payer" name the amount to pay without the word total (the strongest kinds above must be found).
_TOTAL_WORD = re.compile(r"total|jumlah|montant|igiteranyo|amount due|(?<![a-z])due(?![a-z])(?!\s*date)"
                         r"|payable|(?<![a-z])nett? (?:amount|amt)(?![a-z])|net [aà] payer")
# A payment word right after an amount on a total's row starts the payment's own stretch.
_PAYMENT_AFTER_AMOUNT = re.compile(r"(?<=\d)\s+(?:cash|change|tendered|paid|payment|tunai|kembalian|baki|card|visa)\b")
_DUE_ALONE = re.compile(r"(?<![a-z])due(?![a-z])(?!\s*date)")
# Lines that carry a total-like word but not the amount paid. "incl" outranks these (checked first).
_TOTAL_SKIP = ("sub", "qty", "quantity", "items", "item", "tax", "gst", "vat", "tva", "discount",
               "saving", "rounding", "round adj", "excl", "tendered", "change", "points", "weight")

# OCR reads these letters for the digit they resemble; corrected only between or next to digits.
_DIGIT_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5"})
_LOOKALIKE_CHARS = "OolI|S"
_MONTHS = {
    "jan": 1, "janv": 1, "january": 1, "janvier": 1, "feb": 2, "fev": 2, "fév": 2, "févr": 2, "fevr": 2,
    "february": 2, "fevrier": 2, "février": 2, "mar": 3, "mars": 3, "march": 3, "apr": 4, "avr": 4,
    "april": 4, "avril": 4, "may": 5, "mai": 5, "jun": 6, "juin": 6, "june": 6, "jul": 7, "juil": 7,
    "july": 7, "juillet": 7, "aug": 8, "aou": 8, "aoû": 8, "août": 8, "aout": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "septembre": 9, "oct": 10, "october": 10, "octobre": 10, "nov": 11,
    "november": 11, "novembre": 11, "dec": 12, "déc": 12, "december": 12, "decembre": 12, "décembre": 12,
}
# The reverse confusion inside a month name: "0CT", "N0V", "5EP", "JU1". A token is a month only when
# it keeps at least one real letter, so a number never becomes a month.
_LETTER_LOOKALIKE = {"o": "0", "s": "5", "i": "1", "l": "1"}
_MONTH_RE = "|".join(
    "".join(f"[{c}{_LETTER_LOOKALIKE[c]}]" if c in _LETTER_LOOKALIKE else re.escape(c) for c in name)
    for name in sorted(_MONTHS, key=len, reverse=True))
_D = rf"[0-9{re.escape(_LOOKALIKE_CHARS)}]"
# Left side: a letter may touch the date ("DATE20/04/2018": an engine that drops spaces), a digit not.
_NUMERIC_DATE = re.compile(
    rf"(?<![0-9])({_D}{{4}}|{_D}{{1,2}})([/\-.])({_D}{{1,2}})([/\-.])({_D}{{4}}|{_D}{{2}})(?![0-9A-Za-z])")
_WORD_DATE = re.compile(
    rf"(?<![0-9A-Za-z])(?:(\d{{1,2}})(?:st|nd|rd|th)?[ \-./]*({_MONTH_RE})\.?[ \-./,]*(\d{{4}}|\d{{2}})"
    rf"|({_MONTH_RE})\.?[ \-./]*(\d{{1,2}})(?:st|nd|rd|th)?[ ,\-./]+(\d{{4}}|\d{{2}}))(?![0-9A-Za-z])", re.I)
# An engine that drops spaces glues the time to the year: "20/04/201819:15", "05-02-1810:01".
_GLUED_TIME = re.compile(r"(?<!\d)(\d{1,2}[/\-.]\d{1,2}[/\-.]|\d{4}[/\-.]\d{1,2}[/\-.])(\d{4}|\d{2})(?=\d{1,2}:\d{2})")
_GLUED_TIME_WORD = re.compile(r"(?<!\d)(\d{1,2}[ \-./]*[A-Za-z]{3,9}\.?[ \-./,]*)(\d{4}|\d{2})(?=\d{1,2}:\d{2})")
# ... and a number before the date to its day: "Order No. 100021911/03/2018" (order 1000219, day 11).
_GLUED_NUMBER = re.compile(r"(?<!\d)(\d{3,})(\d{2})(?=[/\-.]\d{1,2}[/\-.](?:(?:\d{4}|\d{2})(?!\d)|\d{4}\d{1,2}:\d{2}))")
_DATE_LABEL = re.compile(r"(?i)\b(?:date|dated|tarikh|itariki|le)\b")
# A decimal point read as a space: "6 00" is 6.00 only when exactly two digits follow, at line end.
_SPACE_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d,]|\.\d{3})")
# Engines read a space after a decimal point ("62. 80"); a point then two digits is still the cents.
_SPACE_AFTER_POINT = re.compile(r"(?<![\d.,])(\d+)\. (\d{2})(?![\d.,:/-])")
_SPACE_DECIMAL = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})*|\d+) (\d{2})\s*$")


@dataclass(frozen=True)
class Field:
    value: str | int | None
    confidence: float
    provenance: str


@dataclass(frozen=True)
class PrescriptionItem:
    drug_name: Field
    dose: Field
    form: Field
    quantity: Field
    instructions: Field


@dataclass(frozen=True)
class OcrAnalysis:
    type: str
    confidence: float
    items: tuple[PrescriptionItem, ...]
    general: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    next_action: str = "ask_client"
    question: str | None = None
    need_text: str | None = None

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "confidence": self.confidence,
            "items": [asdict(i) for i in self.items],
            "general": self.general,
            "warnings": list(self.warnings),
            "next_action": self.next_action,
            "question": self.question,
            "need_text": self.need_text,
        }


# --- classification -------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ]+", (text or "").lower())


def classify(text: str, caption: str | None) -> str:
    """``medical_prescription`` when the text or the caption looks medical, else ``general``."""
    words = _tokens(text if isinstance(text, str) else "")
    caption_words = set(_tokens(caption if isinstance(caption, str) else ""))
    if caption_words & CAPTION_MEDICAL:
        return "medical_prescription"
    strong = sum(1 for w in words if w in STRONG_MEDICAL)
    medical = sum(1 for w in words if w in MEDICAL_WORDS)
    invoice = sum(1 for w in words if w in INVOICE_WORDS)
    if strong and strong >= invoice:
        return "medical_prescription"
    # Doses and forms alone also fill a pharmacy's invoice: they count only on a page without money.
    if medical >= 2 and invoice == 0:
        return "medical_prescription"
    return "general"


# --- analysis -------------------------------------------------------------------------------------


def _round(x: float) -> float:
    return round(max(0.0, min(1.0, x)), 3)


def _lines(page: OcrPage) -> list[list[OcrWord]]:
    out: dict[int, list[OcrWord]] = {}
    for w in page.words:
        if isinstance(w.text, str) and w.text.strip():
            out.setdefault(w.line, []).append(w)
    return [ws for _, ws in sorted(out.items())]


def _clean(token: str) -> str:
    return token.strip(".,;:()[]{}!?\"'*|")


def _quote(words: list[OcrWord]) -> str:
    text = " ".join(w.text for w in words)
    return text if len(text) <= QUOTE_MAX_CHARS else text[: QUOTE_MAX_CHARS - 1] + "…"


def _where(line_no: int, a: int, b: int) -> str:
    return f"ocr:line {line_no + 1} words {a + 1}-{b + 1}"


def _mean_conf(words: list[OcrWord]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


def _find_dose(words: list[OcrWord], line_no: int) -> tuple[Field, int] | None:
    for i, w in enumerate(words):
        tok = _clean(w.text)
        m = _DOSE.match(tok)
        if m:
            return Field(tok.replace(",", ".").lower(), _round(w.confidence), _where(line_no, i, i)), i
        if _NUMBER.match(tok) and i + 1 < len(words) and _UNIT.match(_clean(words[i + 1].text)):
            unit = _clean(words[i + 1].text).lower()
            conf = min(w.confidence, words[i + 1].confidence)
            return Field(f"{tok.replace(',', '.')}{unit}", _round(conf), _where(line_no, i, i + 1)), i
    return None


def _find_quantity(words: list[OcrWord], line_no: int) -> Field | None:
    for i, w in enumerate(words):
        tok = w.text.strip()
        m = _QTY_INLINE.match(tok)
        if m:
            return Field(int(m.group(1)), _round(w.confidence), _where(line_no, i, i))
        if _QTY_WORD.match(tok) and i + 1 < len(words):
            m = _INT.match(words[i + 1].text.strip())
            if m:
                conf = min(w.confidence, words[i + 1].confidence)
                return Field(int(m.group(1)), _round(conf), _where(line_no, i, i + 1))
        # "Qty:21" read as one word
        m = re.match(r"^(?:qty|quantity)[.:]?(\d{1,4})$", tok, re.I)
        if m:
            return Field(int(m.group(1)), _round(w.confidence), _where(line_no, i, i))
    return None


def _find_form(words: list[OcrWord], line_no: int) -> Field | None:
    for i, w in enumerate(words):
        form = FORMS.get(_clean(w.text).lower())
        if form:
            return Field(form, _round(w.confidence), _where(line_no, i, i))
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
    span_conf = _mean_conf(words[a : b + 1])
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
        return Field(value, _round(span_conf * factor), note), printed, score
    return Field(printed, _round(span_conf * 0.5), f"{where} (not in lexicon)"), printed, 0.0


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
                conf = _mean_conf(lines[n + 1])
                instructions = Field(text, _round(conf), f"ocr:line {n + 2}")
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
        items.append((item, _quote(words)))
    return items


def _need_text(item: PrescriptionItem) -> str:
    parts = [str(item.drug_name.value)]
    parts += [str(f.value) for f in (item.dose, item.form) if f.value not in (None, "")]
    text = " ".join(parts)
    if item.quantity.value is not None:
        text += f" x{item.quantity.value}"
    return text


def _ask(read: list[str], reasons: list[str], source: str = "the prescription") -> str:
    if not read:
        return ("I couldn't read the medicines on that photo. Could you send a clearer photo, or "
                "type the medicine names, strength and quantity as written?")
    quoted = "; ".join(f'"{r}"' for r in read[:4])
    return (f"I read this from your photo: {quoted}. I'm not sure about {' and '.join(reasons)}. "
            f"Please confirm it exactly as written on {source}, or type it.")


def _analyse_prescription(page: OcrPage, lines, lexicon: DrugLexicon) -> OcrAnalysis:
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
    confidence = _round(sum(scores) / len(scores)) if scores else _round(page.mean_confidence * 0.5)
    if confidence < OVERALL_MIN_CONFIDENCE:
        warnings.append("low_confidence")
        reasons.append("the overall reading")
        unsure = unsure or [q for _, q in found]
    warnings = list(dict.fromkeys(warnings))
    if warnings:
        question = _ask(unsure, list(dict.fromkeys(reasons)) or ["the medicines"])
        return OcrAnalysis("medical_prescription", confidence, items, {}, tuple(warnings),
                           "ask_client", question, None)
    need = "; ".join(_need_text(i) for i in items)
    return OcrAnalysis("medical_prescription", confidence, items, {}, (), "proceed", None, need)


# --- general: invoices, receipts, product photos --------------------------------------------------


def parse_amount(text: str) -> float | None:
    """'12,500' -> 12500, '9.00' -> 9.0, '1.500.000' -> 1500000; None when it is no amount."""
    t = (text or "").strip().replace(" ", "")
    # A currency marker says nothing about the number itself.
    t = re.sub(r"^(?i:rwf|frw|rm|usd|ksh|rs|\$|€|£)[.:]?", "", t)
    t = re.sub(r"(?i:rwf|frw)$", "", t)
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?", t):
        return float(t.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", t) and t.count(".") >= 2:
        return float(t.replace(".", ""))
    if re.fullmatch(r"\d+\.\d{1,2}", t) or re.fullmatch(r"\d+", t):
        return float(t)
    if re.fullmatch(r"\.\d{2}", t):
        return float("0" + t)
    if re.fullmatch(r"\d+,\d{2}", t):
        return float(t.replace(",", "."))
    return None


def _line_text(words: list[OcrWord]) -> str:
    return " ".join(w.text for w in words)


def _company(lines) -> Field | None:
    head = lines[:8]
    for n, words in enumerate(head):
        text = _line_text(words)
        # "SDN. BHD." and "SDN.BHD" are the same suffix as "SDN BHD".
        low = text.lower()
        spaced = re.sub(r"\bsdn\.?\s*bhd\b", "sdn bhd", low)
        if any(re.search(rf"(?<![a-z]){re.escape(s)}(?![a-z])", t) for s in _COMPANY_SUFFIXES for t in (low, spaced)):
            # A registration number after the name ("(123456-X)", "Co. Reg 1234") is not the name.
            name = re.sub(r"\s*(?:[\(\[][\w\-. ]*\d[\w\-. ]*[\)\]]?|(?:co\.?\s*reg|reg\.?\s*no|company\s*no)\b.*)$",
                          "", text, flags=re.I).strip() or text
            return Field(name, _round(_mean_conf(words)), f"ocr:line {n + 1} (company suffix)")
    for n, words in enumerate(head):
        text = _line_text(words)
        letters = sum(c.isalpha() for c in text)
        if letters >= 4 and letters / max(1, len(text.replace(" ", ""))) >= 0.7 and _mean_conf(words) >= 0.5:
            return Field(text, _round(_mean_conf(words)), f"ocr:line {n + 1} (first text line)")
    return None


def fix_digit_run(token: str) -> str | None:
    """'2O18' -> '2018', 'l2' -> '12'; None unless the token holds a real digit (a word stays a word)."""
    if not token or not any(c.isdigit() for c in token):
        return None
    fixed = token.translate(_DIGIT_LOOKALIKE)
    return fixed if fixed.isdigit() else None


def _month_reading(token: str) -> tuple[int, str] | None:
    low = token.lower()
    if not any(c.isalpha() for c in low):
        return None
    base = low.replace("0", "o").replace("5", "s")
    ones = base.count("1")
    for letters in itertools.product("il", repeat=min(ones, 3)):  # each "1" is an i or an l ("ju11")
        fixed = base
        for letter in letters:
            fixed = fixed.replace("1", letter, 1)
        if fixed in _MONTHS:
            caps = all(c.isupper() for c in token if c.isalpha())
            name = "".join(t if t.isalpha() else (f.upper() if caps else f) for t, f in zip(token, fixed, strict=True))
            return _MONTHS[fixed], name
    return None


def month_number(token: str) -> int | None:
    """'Oct' -> 10, '0CT' -> 10 (a digit read for a letter), 'avril' -> 4; None for a number or a word."""
    reading = _month_reading(token)
    return reading[0] if reading else None


def _year(text: str) -> int | None:
    y = int(text)
    if len(text) == 2:
        return 2000 + y
    return y if 1990 <= y <= 2099 else None


def _valid(y: int | None, m: int, d: int) -> bool:
    days = (31, 29 if y is None or (y % 4 == 0 and (y % 100 or y % 400 == 0)) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31)
    return y is not None and 1 <= m <= 12 and 1 <= d <= days[m - 1]


def unglue_time(text: str) -> str:
    """'20/04/201819:15' -> '20/04/2018 19:15', '05Mar201818:24' -> '05Mar2018 18:24',
    'No. 100021911/03/2018' -> 'No. 1000219 11/03/2018': spaces an engine dropped around a date."""
    def split(m: re.Match) -> str:
        head, year = m.group(1), m.group(2)
        # "2018-04-20" already ends in its day: only the dd/mm/yy forms carry a year here.
        if head[:4].isdigit() and len(year) == 4:
            return m.group(0)
        return f"{head}{year} "
    text = _GLUED_NUMBER.sub(lambda m: f"{m.group(1)} {m.group(2)}" if 1 <= int(m.group(2)) <= 31 else m.group(0), text)
    text = _GLUED_TIME.sub(split, text)
    return _GLUED_TIME_WORD.sub(r"\1\2 ", text)


def parse_date(text: str) -> tuple[str, str] | None:
    """First real calendar date in a line: (as printed, lookalike letters fixed; ISO yyyy-mm-dd).

    Day-first (dd/mm/yyyy, the convention in Rwanda and most receipts) unless only month-first is a
    valid date (12/25/2018); yyyy-mm-dd; month names in English and French. An impossible date
    ("07/77/2024", a misread) is no date, so a later one on the line can still be found.
    """
    if not isinstance(text, str) or not text:
        return None
    found: list[tuple[int, str, str]] = []
    text = unglue_time(text)
    for m in _NUMERIC_DATE.finditer(text):
        a, sep1, b, sep2, c = m.groups()
        parts = [fix_digit_run(a), fix_digit_run(b), fix_digit_run(c)]
        if None in parts or sum(ch.isdigit() for ch in a + b + c) < 4:
            continue
        pa, pb, pc = parts
        if len(pa) == 4:
            y, mo, d = _year(pa), int(pb), int(pc)
        elif len(pc) == 4 or len(pc) == 2:
            y, d, mo = _year(pc), int(pa), int(pb)
            if not _valid(y, mo, d) and _valid(y, int(pa), int(pb)):
                mo, d = int(pa), int(pb)
        else:
            continue
        if _valid(y, mo, d):
            found.append((m.start(), f"{pa}{sep1}{pb}{sep2}{pc}", f"{y:04d}-{mo:02d}-{d:02d}"))
    for m in _WORD_DATE.finditer(text):
        d_txt, mon, y_txt = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        reading, y, d = _month_reading(mon), _year(y_txt), int(d_txt)
        if reading and _valid(y, reading[0], d):
            printed = m.group(0).strip().replace(mon, reading[1], 1)
            found.append((m.start(), printed, f"{y:04d}-{reading[0]:02d}-{d:02d}"))
    if not found:
        return None
    _, printed, iso = min(found)
    return printed, iso


# A token shaped like a numeric date (three groups, two separators, comma included: OCR reads a
# dot as a comma) and a word that looks like a date label even misread ("Dater", "0ate").
_DATE_SHAPE = re.compile(r"(?<![\w])\S{1,4}[/\-.,]\S{1,2}[/\-.,]\S{2,4}(?![\w])")
_DATE_LABELS = ("date", "dated", "tarikh", "itariki")


def date_line_candidates(line_texts: list[str], limit: int = 2) -> list[int]:
    """Lines worth reading again when a page shows no calendar date at all: a date-shaped token that
    is not a valid date ("92.06.2017", "17,11.2017"), or a word close to a date label ("Dater").
    An engine re-reads just those lines (alone on the crop, Tesseract often reads them right)."""
    if any(parse_date(text) for text in line_texts):
        return []
    out = []
    for n, text in enumerate(line_texts):
        shaped = any(sum(c.isdigit() for c in m.group(0)) >= 4 for m in _DATE_SHAPE.finditer(text))
        labelled = any(len(w) >= 3 and fuzz.ratio(w.lower(), label) >= 75
                       for w in re.findall(r"[A-Za-z0-9]+", text) for label in _DATE_LABELS)
        if shaped or labelled:
            out.append(n)
        if len(out) >= limit:
            break
    return out


def _date(lines) -> Field | None:
    # A labelled date ("Date:", "Tarikh", "Itariki") beats an unlabelled one: receipts also print
    # expiry, warranty and promotion dates.
    best = None
    for n, words in enumerate(lines):
        text = _line_text(words)
        hit = parse_date(text)
        if not hit:
            continue
        labelled = bool(_DATE_LABEL.search(text))
        if best is None or (labelled and not best[0]):
            best = (labelled, n, hit, words)
        if labelled:
            break
    if best is None:
        return None
    _, n, (printed, iso), words = best
    return Field(printed, _round(_mean_conf(words)), f"ocr:line {n + 1} (date {iso})")


def _amounts_in(text: str) -> list[float]:
    """Money amounts in a stretch of text, lookalike letters inside digit runs fixed."""
    text = re.sub(rf"(?<=\d)[{re.escape(_LOOKALIKE_CHARS)}]|[{re.escape(_LOOKALIKE_CHARS)}](?=\d)",
                  lambda m: m.group(0).translate(_DIGIT_LOOKALIKE), text)
    # French convention: a space groups thousands ("12 500 FRW"); only whole groups of three digits.
    text = _SPACE_THOUSANDS.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = _SPACE_AFTER_POINT.sub(r"\1.\2", text)
    text = _SPACE_DECIMAL.sub(r"\1.\2", text)
    found = [parse_amount(m.group(0)) for m in _MONEY.finditer(text)]
    return [a for a in found if a is not None]


def _total_rank(low: str) -> int:
    if any(k in low for k in _TOTAL_BEST) or _DUE_ALONE.search(low):
        return 2
    if any(re.search(rf"(?<![a-z]){k}", low) for k in _TOTAL_SKIP):
        return 0
    return 1


# --- receipt arithmetic: the printed amounts check each other -------------------------------------
# A receipt's amounts are related: subtotal + tax (+ service) - discount +/- rounding = total, cash
# tendered - change = total, and the item amounts add up to the subtotal. A total that these
# relations confirm is kept; a keyword total they contradict is replaced only when two relations that
# share no printed line agree on one value (one relation alone could itself rest on a misread amount).

# Checked in this order: "Total Incl. GST" names a tax but is a total; "Total Excl. GST" a subtotal.
_ROLES = (
    ("change", re.compile(r"\b(?:change|kembalian|baki|monnaie|rendu)\b")),
    ("tendered", re.compile(r"\b(?:cash|tendered|paid|payment|tunai|esp[eè]ces|momo|card|visa)\b")),
    ("rounding", re.compile(r"\brounding\b|\bround(?:ing)?\s*adj")),
    ("discount", re.compile(r"\b(?:discount|disc|savings?|less|remise|diskaun)\b")),
    ("service", re.compile(r"\b(?:service|svc)\b")),
    ("subtotal", re.compile(r"\bsub\W?total|\bsous\W?total|\bexcl|\bjumlah kecil|\bbefore tax")),
    ("total", re.compile(r"\bincl")),
    ("tax", re.compile(r"\b(?:tax|gst|vat|tva|sst)\b")),
)
# A tax word on a header line is a registration, not an amount of tax.
_TAX_HEADER = re.compile(r"\b(?:reg|id|tin|no|number|invoice|facture)\b|#")
# Lines above the items that end in a number which is no price.
_HEADER_WORDS = re.compile(r"\b(?:tel|phone|fax|tin|reg|no|box|id|invoice|bill|receipt|cashier|date|time|"
                           r"table|gst|vat|tax|itariki|tarikh|counter|pos|member|order|p\.?o)\b|#")
MAX_PER_ROLE = 4
_INCLUSIVE = re.compile(r"\b(?:incl|inclusive|included|inclus|ttc|termasuk)\b")


@dataclass(frozen=True)
class Relation:
    """One way the other printed amounts give the total: its value in cents and the lines it used."""
    name: str
    cents: int
    lines: frozenset[int]


def _cents(amount: float) -> int:
    return int(round(amount * 100))


def _role_of(low: str) -> str | None:
    for role, pattern in _ROLES:
        if pattern.search(low):
            if role == "tax" and _TAX_HEADER.search(low):
                return None
            return role
    return None


def _role_amount(low: str) -> int | None:
    # "GST 6% 6.20": the rate is no amount; what follows the last "%" is.
    tail = low.rsplit("%", 1)[-1]
    amounts = _amounts_in(tail)
    return _cents(amounts[-1]) if amounts else None


def receipt_amounts(lines: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Amounts by role, each as (cents, line index): subtotal, tax, service, discount, rounding,
    tendered, change, total and item (an item row above the first summary line)."""
    roles: dict[str, list[tuple[int, int]]] = {}
    summary_started = False
    for n, text in enumerate(lines):
        low = text.lower()
        role = _role_of(low)
        if role is None and _TOTAL_WORD.search(low):
            role = "total"
        # Payment, service and discount words above the totals name items ("Airtime card 1,000").
        if role in ("change", "tendered", "discount", "service") and not summary_started:
            role = None
        if role is not None:
            summary_started = True
            cents = _role_amount(low)
            if cents is not None and role != "total":
                roles.setdefault(role, []).append((cents, n))
            continue
        if summary_started or _HEADER_WORDS.search(low) or parse_date(text):
            continue
        # An item row has a name ("Sugar 1kg 3.00") or a quantity line ("2 x 1.50 3.00").
        if not (re.search(r"[a-z]{2}", low) or re.search(r"\d\s*[x×@*]\s*\d", low)):
            continue
        words = text.split()
        amount = parse_amount(words[-1]) if len(words) >= 2 else None
        if amount is not None and amount > 0:
            roles.setdefault("item", []).append((_cents(amount), n))
    return roles


def receipt_relations(lines: list[str]) -> list[Relation]:
    """Every value the printed amounts give for the total, each with the relation and lines used."""
    # A real receipt prints each of these a few times at most; the cap keeps garbage pages cheap.
    found = receipt_amounts(lines)
    items = found.pop("item", [])
    roles = {role: amounts[:MAX_PER_ROLE] for role, amounts in found.items()}
    out: list[Relation] = []
    bases = [("subtotal", c, frozenset({n})) for c, n in roles.get("subtotal", [])]
    if items:
        bases.append(("items", sum(c for c, _ in items), frozenset(n for _, n in items)))
    extra, extra_lines, extra_name = 0, set(), ""
    for role, sign, label in (("service", 1, " + service"), ("discount", -1, " - discount")):
        for c, n in roles.get(role, []):
            extra += sign * c
            extra_lines.add(n)
        if roles.get(role):
            extra_name += label
    taxes: list[tuple[str, int, set[int]]] = [(" + tax", c, {n}) for c, n in roles.get("tax", [])]
    # Tax-inclusive prices: the tax is printed for information and adds nothing.
    if not taxes or any(_INCLUSIVE.search(t.lower()) for t in lines):
        taxes.append(("", 0, set()))
    roundings = [(" + rounding", c, {n}) for c, n in roles.get("rounding", [])]
    # OCR often drops the minus of "-0.02": the rounding counts either way.
    roundings += [(" - rounding", -c, {n}) for c, n in roles.get("rounding", []) if c]
    roundings = roundings or [("", 0, set())]
    for base_name, base, base_lines in bases:
        for tax_name, tax, tax_lines in taxes:
            for r_name, r, r_lines in roundings:
                value = base + tax + extra + r
                if value > 0:
                    used = frozenset(base_lines | tax_lines | extra_lines | r_lines)
                    out.append(Relation(base_name + tax_name + extra_name + r_name, value, used))
    changes = roles.get("change", []) or [(0, -1)]
    for paid, n in roles.get("tendered", []):
        for change, m in changes:
            if paid - change > 0:
                name = "tendered - change" if m >= 0 else "tendered"
                out.append(Relation(name, paid - change, frozenset({n, m} - {-1})))
    return out


def _supporting(relations: list[Relation], cents: int, own_line: int) -> list[Relation]:
    # A relation built on the candidate's own line would only confirm the candidate with itself.
    return [r for r in relations if r.cents == cents and own_line not in r.lines]


def _describe(rs: list[Relation]) -> str:
    return " = ".join(dict.fromkeys(r.name for r in rs))


def _cross_check(lines, candidates, pick) -> Field | None:
    """The total the receipt's arithmetic supports, or None to keep the keyword pick unchanged.

    ``lines`` are OCR word lines, ``candidates`` and ``pick`` come from the keyword ranking. A pick
    that a relation confirms stays (provenance says by what); else a total-line candidate that a
    relation confirms is taken; else a value on which two relations sharing no line agree, when it is
    the only such value. Silent or disagreeing relations return None.
    """
    texts = [_line_text(ws) for ws in lines]
    relations = receipt_relations(texts)
    if not relations:
        return None
    if pick is not None:
        rank, amount, n, words = pick
        support = _supporting(relations, _cents(amount), n)
        if support:
            return Field(_money_value(_cents(amount)), _round(_mean_conf(words)),
                         f"ocr:line {n + 1} (total, rank {rank}; confirmed by {_describe(support)})")
    confirmed = [c for c in candidates if c[0] >= 1 and _supporting(relations, _cents(c[1]), c[2])]
    if confirmed:
        rank, amount, n, words = max(confirmed, key=lambda c: (c[0], c[1], c[2]))
        support = _supporting(relations, _cents(amount), n)
        return Field(_money_value(_cents(amount)), _round(_mean_conf(words)),
                     f"ocr:line {n + 1} (total, rank {rank}; confirmed by {_describe(support)}; "
                     f"keyword pick unconfirmed)")
    by_value: dict[int, list[Relation]] = {}
    for r in relations:
        by_value.setdefault(r.cents, []).append(r)
    agreed: dict[int, tuple[Relation, Relation]] = {}
    for cents, rs in by_value.items():
        pair = next(((a, b) for i, a in enumerate(rs) for b in rs[i + 1:] if not a.lines & b.lines), None)
        if pair:
            agreed[cents] = pair
    if len(agreed) != 1:
        return None
    cents, (a, b) = next(iter(agreed.items()))
    used = sorted(a.lines | b.lines)
    conf = _mean_conf([w for n in used for w in lines[n]])
    was = f"; keyword total {pick[1]:g} unconfirmed" if pick is not None else ""
    return Field(_money_value(cents), _round(conf),
                 f"arithmetic: {a.name} = {b.name} (lines {', '.join(str(n + 1) for n in used)}){was}")


def _total_candidates(lines) -> list[tuple[int, float, int, list[OcrWord]]]:
    """Every amount printed on a total-like line: (rank, amount, line index, words of the keyword line)."""
    candidates = []
    for n, words in enumerate(lines):
        low = _line_text(words).lower()
        hits = list(_TOTAL_WORD.finditer(low))
        # psm 6 reads a row of a two-column receipt as one line ("Total Qty 2   Total 9.00"): each
        # keyword is its own candidate, ranked by the words from one before it up to the next keyword.
        for i, hit in enumerate(hits):
            stop = hits[i + 1].start() if i + 1 < len(hits) else len(low)
            # "Total RM 250.00 Cash RM 300.00 Change RM 50.00" on one row: the payment that follows
            # the total's amount is not the total.
            paid = _PAYMENT_AFTER_AMOUNT.search(low, hit.end(), stop)
            stop = paid.start() if paid else stop
            before = re.search(r"(?:\S+\s+)?\S*$", low[: hit.start()])
            rank = _total_rank(low[before.start() if before else hit.start(): stop])
            amounts, where = _amounts_in(low[hit.end(): stop]), n
            # "TOTAL" on one line and its amount alone on the next.
            if not amounts and i + 1 == len(hits) and n + 1 < len(lines):
                nxt = _line_text(lines[n + 1]).lower()
                if not re.search(r"[a-z]{3}", re.sub(r"\b(rm|rwf|frw|usd|ksh)\b", "", nxt)):
                    amounts, where = _amounts_in(nxt), n + 1
            # A subtotal or tax line (rank 0) counts only when no other total-like line has an amount.
            if amounts:
                candidates.append((rank, amounts[-1], where, words))
    return candidates


def _keyword_total(candidates):
    """The keyword pick: among the lines of the best kind the largest (subtotals and taxes are
    smaller); on a tie the last one, printed after the subtotals. A whole number that is another
    candidate's amount times 100 is that amount with its decimal point lost ("34395" beside
    "343.95"), never the total."""
    if not candidates:
        return None
    cents = {_cents(c[1]) for c in candidates if _cents(c[1]) % 100}
    kept = [c for c in candidates if not (c[1] == int(c[1]) and int(c[1]) in cents)] or candidates
    best_rank = max(c[0] for c in kept)
    return max((c for c in kept if c[0] == best_rank), key=lambda c: (c[1], c[2]))


def _after_adjustment(lines, cents: int, line: int) -> tuple[int, int, str] | None:
    """The amount to pay when the pick is an amount before an adjustment printed below it: a rounding
    r (under one unit; pick + r or pick - r) or a discount d (pick - d), when that amount is printed
    below the adjustment. (cents, line, which adjustment) of the adjusted amount, or None."""
    texts = [_line_text(ws) for ws in lines]
    found_roles = receipt_amounts(texts)
    adjustments = [(c, n, "rounded", (1, -1)) for c, n in found_roles.get("rounding", []) if 0 < c < 100 and n > line]
    # A discount is taken off: "Total Amount 265.00 / Discount 10.00 / Net Total 255.00".
    adjustments += [(c, n, "after discount", (-1,)) for c, n in found_roles.get("discount", [])
                    if 0 < c < cents and n > line]
    for r, at, kind, signs in adjustments:
        found = {}
        for n in range(at, len(texts)):
            for amount in _amounts_in(texts[n].lower()):
                value = _cents(amount)
                if value in {cents + s * r for s in signs} and value not in found:
                    found[value] = n
        if len(found) == 1:
            return (*next(iter(found.items())), kind)
    return None


def _money_value(cents: int) -> int | float:
    return cents // 100 if cents % 100 == 0 else cents / 100


def _total(lines) -> Field | None:
    candidates = _total_candidates(lines)
    pick = _keyword_total(candidates)
    checked = _cross_check(lines, candidates, pick)
    if checked is None and pick is None:
        return None
    if checked is None:
        rank, amount, n, words = pick
        checked = Field(_money_value(_cents(amount)), _round(_mean_conf(words)), f"ocr:line {n + 1} (total, rank {rank})")
    line = int(re.search(r"line (\d+)", checked.provenance).group(1)) - 1 if "ocr:line" in checked.provenance else -1
    adjusted = _after_adjustment(lines, _cents(float(checked.value)), line) if line >= 0 else None
    if adjusted is not None:
        cents, n, kind = adjusted
        checked = Field(_money_value(cents), _round(_mean_conf(lines[n])),
                        f"ocr:line {n + 1} ({kind} total; before it {checked.provenance})")
    return _paid_instead(lines, checked) or checked


def _confirmed(total: Field | None) -> bool:
    """The receipt's own arithmetic supports this total (provenance says how)."""
    return total is not None and ("confirmed by" in total.provenance or "arithmetic:" in total.provenance)


# How far an unconfirmed total may lie from the amount paid and still be that amount misread (or
# the amount before a cash rounding): under one unit, as for a rounding adjustment.
PAID_MAX_GAP_CENTS = 100


def _paid_instead(lines, total: Field) -> Field | None:
    """The amount paid (cash tendered - change) instead of an unconfirmed total that lies within
    one unit of it: the total line misread by a digit ("112.46" for 112.45) or printed before the
    cash rounding. Only when the receipt prints a change line, the payments give one value and no
    other relation near it disagrees; a total the arithmetic confirmed is never replaced. None to
    keep ``total``."""
    if _confirmed(total):
        return None
    texts = [_line_text(ws) for ws in lines]
    paid = {r.cents: r for r in receipt_relations(texts) if r.name == "tendered - change"}
    if len(paid) != 1:
        return None
    cents, relation = next(iter(paid.items()))
    # Another relation near the total that disagrees with the payment: one of them rests on a misread.
    if any(r.name != "tendered - change" and 0 < abs(r.cents - cents) < PAID_MAX_GAP_CENTS
           for r in receipt_relations(texts)):
        return None
    gap = abs(cents - _cents(float(total.value)))
    if not 0 < gap < PAID_MAX_GAP_CENTS:
        return None
    used = sorted(relation.lines)
    return Field(_money_value(cents), _round(_mean_conf([w for n in used for w in lines[n]])),
                 f"arithmetic: tendered - change (lines {', '.join(str(n + 1) for n in used)}); "
                 f"total read {total.value:g} is within one unit of it ({total.provenance})")


def _invoice_lines(lines) -> list[dict]:
    out = []
    for n, words in enumerate(lines):
        toks = [w.text for w in words]
        nums = []
        for t in reversed(toks):
            a = parse_amount(t)
            if a is None:
                break
            nums.append(a)
        name = " ".join(toks[: len(toks) - len(nums)]).strip()
        if len(nums) >= 3 and re.search(r"[A-Za-z]{3}", name) and "total" not in name.lower():
            amount, price, qty = nums[0], nums[1], nums[2]
            # A line item's numbers agree with each other; a phone number or TIN does not.
            if qty != int(qty) or abs(qty * price - amount) > max(1.0, 0.01 * amount):
                continue
            out.append({"name": name, "quantity": int(qty), "price": price, "amount": amount,
                        "provenance": f"ocr:line {n + 1}"})
    return out


def _from_other_reading(other: OcrPage, date: Field | None, total: Field | None) -> tuple[Field | None, Field | None]:
    """Date and total with the other engine's reading of the same image filling what the kept one
    lacks: a date it did not find, a total it did not find, or a total the receipt's arithmetic
    confirms there but not in the kept reading. A field the kept reading has (confirmed, for a
    total) is never replaced. Provenance names the other engine."""
    if date is not None and _confirmed(total):
        return date, total
    lines = _lines(other)

    def named(f: Field) -> Field:
        return Field(f.value, f.confidence, f"other reading ({other.engine}): {f.provenance}")

    if date is None:
        found = _date(lines)
        date = named(found) if found else None
    if not _confirmed(total):
        found = _total(lines)
        if found is not None and (total is None or _confirmed(found)):
            total = named(found)
    return date, total


def _general(page: OcrPage, lines, lexicon: DrugLexicon) -> dict:
    text = page.text
    general: dict = {}
    company, date, total = _company(lines), _date(lines), _total(lines)
    if page.other_reading is not None:
        date, total = _from_other_reading(page.other_reading, date, total)
    items = _invoice_lines(lines)
    if company:
        general["company"] = asdict(company)
    if date:
        general["date"] = asdict(date)
    if total:
        general["total"] = asdict(total)
    if items:
        general["line_items"] = items
    models = sorted({m.group(1) for m in re.finditer(r"(?i)\bmodel[:.]?\s*([A-Z0-9][\w\-]*)", text)})
    models += sorted({t for t in re.findall(r"\b(?=[A-Za-z\-]*\d)(?=\d*[A-Za-z])[A-Za-z0-9\-]{3,}\b", text)
                      if t not in models and not _DOSE.match(t)})[:10]
    brands = [_line_text(ws) for ws in lines
              if len(ws) <= 3 and _line_text(ws).isupper() and re.search(r"[A-Z]{3}", _line_text(ws))][:5]
    qty = [m.group(0) for m in re.finditer(r"(?i)\b(?:qty[:.]?\s*\d+|\d+\s?(?:pcs|pieces|kg|g|ml|l|w|v|mah|gb|tb))\b", text)]
    drugs = sorted({lexicon.canonical(w) for w in _tokens(text) if len(w) > 3 and lexicon.canonical(w)})
    landmarks = [m.group(0) for m in re.finditer(r"(?i)\b(?:near|opposite|next to|behind|facing)\s+[\w ]{3,30}", text)]
    stop = {"the", "and", "for", "with", "qty", "model", "made", "batch", "total", "date", "tel"}
    keywords = list(dict.fromkeys(w for w in _tokens(text) if len(w) > 3 and w not in stop))[:15]
    general.update({"keywords": keywords, "brands": brands, "models": models[:10],
                    "quantities": qty[:10], "landmarks": landmarks[:5], "drugs": drugs})
    return general


def _analyse_general(page: OcrPage, lines, lexicon: DrugLexicon) -> OcrAnalysis:
    general = _general(page, lines, lexicon)
    confidence = _round(page.mean_confidence)
    if confidence < OVERALL_MIN_CONFIDENCE:
        quoted = [_quote(ws) for ws in lines[:3]]
        question = _ask(quoted, ["what the photo shows"], "the photo")
        return OcrAnalysis("general", confidence, (), general, ("low_confidence",), "ask_client",
                           question, None)
    if general.get("line_items"):
        need = "; ".join(f"{i['name']} x{i['quantity']}" for i in general["line_items"][:6])
    else:
        need = "; ".join(_line_text(ws) for ws in lines[:3])
    return OcrAnalysis("general", confidence, (), general, (), "proceed", None, need[:300])


def analyse(page: OcrPage, caption: str | None, lexicon: DrugLexicon) -> OcrAnalysis:
    """What the page says, each field with its confidence and provenance, and what to do next."""
    lines = _lines(page)
    if not lines:
        question = "I couldn't read any text in that photo. Could you send a clearer photo, or type what you need?"
        kind = classify("", caption)
        return OcrAnalysis(kind, 0.0, (), {}, ("no_text",), "ask_client", question, None)
    kind = classify(page.text, caption)
    if kind == "medical_prescription":
        return _analyse_prescription(page, lines, lexicon)
    return _analyse_general(page, lines, lexicon)
