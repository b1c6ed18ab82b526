"""Every page that is not a prescription: receipts, invoices and product photos. The company, the
date, the total (keyword pick, checked by the receipt's arithmetic, with the other engine's reading
filling a gap), line items, and what a product photo shows (brands, models, quantities).
"""

from __future__ import annotations

import re
from dataclasses import asdict

from concierge.drugs import DrugLexicon
from concierge.ocr_amounts import cents_of, money_value, parse_amount
from concierge.ocr_arithmetic import after_adjustment, cross_check, is_confirmed, paid_instead
from concierge.ocr_dates import receipt_date
from concierge.ocr_fields import (
    OVERALL_MIN_CONFIDENCE,
    Field,
    OcrAnalysis,
    ask_to_confirm,
    clamp_confidence,
    line_text,
    mean_confidence,
    page_lines,
    quote,
    words_of,
)
from concierge.ocr_prescription import DOSE
from concierge.ocr_totals import keyword_total, total_candidates
from concierge.ports import OcrPage

_COMPANY_SUFFIXES = ("ltd", "limited", "sdn bhd", "bhd", "enterprise", "trading", "pharmacy",
                     "pharma", "s.a.r.l", "sarl", "co.", "company", "inc", "plc", "store", "stores",
                     "supermarket", "restaurant", "hardware")


def _company(lines) -> Field | None:
    head = lines[:8]
    for n, words in enumerate(head):
        text = line_text(words)
        # "SDN. BHD." and "SDN.BHD" are the same suffix as "SDN BHD".
        low = text.lower()
        spaced = re.sub(r"\bsdn\.?\s*bhd\b", "sdn bhd", low)
        if any(re.search(rf"(?<![a-z]){re.escape(s)}(?![a-z])", t) for s in _COMPANY_SUFFIXES for t in (low, spaced)):
            # A registration number after the name ("(123456-X)", "Co. Reg 1234") is not the name.
            name = re.sub(r"\s*(?:[\(\[][\w\-. ]*\d[\w\-. ]*[\)\]]?|(?:co\.?\s*reg|reg\.?\s*no|company\s*no)\b.*)$",
                          "", text, flags=re.I).strip() or text
            return Field(name, clamp_confidence(mean_confidence(words)), f"ocr:line {n + 1} (company suffix)")
    for n, words in enumerate(head):
        text = line_text(words)
        letters = sum(c.isalpha() for c in text)
        if letters >= 4 and letters / max(1, len(text.replace(" ", ""))) >= 0.7 and mean_confidence(words) >= 0.5:
            return Field(text, clamp_confidence(mean_confidence(words)), f"ocr:line {n + 1} (first text line)")
    return None


def _total(lines) -> Field | None:
    candidates = total_candidates(lines)
    pick = keyword_total(candidates)
    checked = cross_check(lines, candidates, pick)
    if checked is None and pick is None:
        return None
    if checked is None:
        rank, amount, n, words = pick
        checked = Field(money_value(cents_of(amount)), clamp_confidence(mean_confidence(words)), f"ocr:line {n + 1} (total, rank {rank})")
    line = int(re.search(r"line (\d+)", checked.provenance).group(1)) - 1 if "ocr:line" in checked.provenance else -1
    adjusted = after_adjustment(lines, cents_of(float(checked.value)), line) if line >= 0 else None
    if adjusted is not None:
        cents, n, kind = adjusted
        checked = Field(money_value(cents), clamp_confidence(mean_confidence(lines[n])),
                        f"ocr:line {n + 1} ({kind} total; before it {checked.provenance})")
    return paid_instead(lines, checked) or checked


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
    if date is not None and is_confirmed(total):
        return date, total
    lines = page_lines(other)

    def named(f: Field) -> Field:
        return Field(f.value, f.confidence, f"other reading ({other.engine}): {f.provenance}")

    if date is None:
        found = receipt_date(lines)
        date = named(found) if found else None
    if not is_confirmed(total):
        found = _total(lines)
        if found is not None and (total is None or is_confirmed(found)):
            total = named(found)
    return date, total


def _general(page: OcrPage, lines, lexicon: DrugLexicon) -> dict:
    text = page.text
    general: dict = {}
    company, date, total = _company(lines), receipt_date(lines), _total(lines)
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
                      if t not in models and not DOSE.match(t)})[:10]
    brands = [line_text(ws) for ws in lines
              if len(ws) <= 3 and line_text(ws).isupper() and re.search(r"[A-Z]{3}", line_text(ws))][:5]
    qty = [m.group(0) for m in re.finditer(r"(?i)\b(?:qty[:.]?\s*\d+|\d+\s?(?:pcs|pieces|kg|g|ml|l|w|v|mah|gb|tb))\b", text)]
    drugs = sorted({lexicon.canonical(w) for w in words_of(text) if len(w) > 3 and lexicon.canonical(w)})
    landmarks = [m.group(0) for m in re.finditer(r"(?i)\b(?:near|opposite|next to|behind|facing)\s+[\w ]{3,30}", text)]
    stop = {"the", "and", "for", "with", "qty", "model", "made", "batch", "total", "date", "tel"}
    keywords = list(dict.fromkeys(w for w in words_of(text) if len(w) > 3 and w not in stop))[:15]
    general.update({"keywords": keywords, "brands": brands, "models": models[:10],
                    "quantities": qty[:10], "landmarks": landmarks[:5], "drugs": drugs})
    return general


def analyse_general(page: OcrPage, lines, lexicon: DrugLexicon) -> OcrAnalysis:
    general = _general(page, lines, lexicon)
    confidence = clamp_confidence(page.mean_confidence)
    if confidence < OVERALL_MIN_CONFIDENCE:
        quoted = [quote(ws) for ws in lines[:3]]
        question = ask_to_confirm(quoted, ["what the photo shows"], "the photo")
        return OcrAnalysis("general", confidence, (), general, ("low_confidence",), "ask_client",
                           question, None)
    if general.get("line_items"):
        need = "; ".join(f"{i['name']} x{i['quantity']}" for i in general["line_items"][:6])
    else:
        need = "; ".join(line_text(ws) for ws in lines[:3])
    return OcrAnalysis("general", confidence, (), general, (), "proceed", None, need[:300])
