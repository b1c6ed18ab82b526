"""From what an OCR engine read to what the concierge may act on: pure rules, no I/O.

Safety (docs/domain.md "OCR"): a drug name below 0.75 confidence, an unclear dose or quantity, an overall
confidence below 0.7, or no text at all make the next action ``ask_client``; the question quotes what
was read and asks the client to confirm or type it.

The ``ocr_*`` modules hold the rules, one concern each: ``ocr_fields`` (what an analysis is made of,
page helpers), ``ocr_classify`` (prescription or not), ``ocr_prescription`` (drug by drug),
``ocr_dates``, ``ocr_amounts`` (money as read), ``ocr_totals`` (total lines by keyword),
``ocr_arithmetic`` (the printed amounts check each other) and ``ocr_receipts`` (receipts, invoices,
product photos). This module is their public face: ``analyse`` a page.
"""

from __future__ import annotations

from concierge.drugs import DrugLexicon
from concierge.ocr_classify import classify
from concierge.ocr_fields import OcrAnalysis, page_lines
from concierge.ocr_prescription import analyse_prescription
from concierge.ocr_receipts import analyse_general
from concierge.ports import OcrPage


def analyse(page: OcrPage, caption: str | None, lexicon: DrugLexicon) -> OcrAnalysis:
    """What the page says, each field with its confidence and provenance, and what to do next."""
    lines = page_lines(page)
    if not lines:
        question = "I couldn't read any text in that photo. Could you send a clearer photo, or type what you need?"
        kind = classify("", caption)
        return OcrAnalysis(kind, 0.0, (), {}, ("no_text",), "ask_client", question, None)
    kind = classify(page.text, caption)
    if kind == "medical_prescription":
        return analyse_prescription(page, lines, lexicon)
    return analyse_general(page, lines, lexicon)
