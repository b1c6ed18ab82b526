"""When a first OCR reading is not good enough to act on, and which of two readings to keep: pure.

The stage reads with a fast engine first; a reading that fails these checks is read again by a
second engine (docs/ocr.md "Second reading"). The thresholds are data (``ReadingPolicy``), reported
with every evaluation, not constants buried in an engine.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from concierge.drugs import DrugLexicon
from concierge.ocr_classify import INVOICE_WORDS
from concierge.ocr_fields import words_of
from concierge.ocr_rules import analyse
from concierge.ports import OcrPage


@dataclass(frozen=True)
class ReadingPolicy:
    """What a reading must show to be kept without a second one."""

    # Fewer words than this is an empty (or nearly empty) page.
    min_words: int = 5
    # Mean word confidence below this is a doubtful reading.
    min_mean_confidence: float = 0.60
    # A receipt-like page (money words on it) must show a calendar date and a total.
    want_date: bool = True
    want_total: bool = True
    # ... and that total must be one the receipt's own arithmetic confirms (or the only amount).
    want_total_confirmed: bool = True
    # Money words that make a page receipt-like; a prescription or product photo has no total to find.
    min_invoice_words: int = 1
    # A page that is not receipt-like and whose mean word confidence is below this was not read at
    # all (garbage); it is read again in case it is a receipt.
    min_readable_confidence: float = 0.40

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_POLICY = ReadingPolicy()


def is_receipt_like(page: OcrPage, policy: ReadingPolicy = DEFAULT_POLICY) -> bool:
    return sum(w in INVOICE_WORDS for w in words_of(page.text)) >= policy.min_invoice_words


def reading_problems(page: OcrPage, lexicon: DrugLexicon, policy: ReadingPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """Why this reading should be read again: ``empty_page``, ``unreadable``, ``low_confidence``,
    ``no_date``, ``no_total``, ``total_unconfirmed``; empty when it is good enough."""
    if len(page.words) < policy.min_words:
        return ("empty_page",)
    analysis = analyse(page, None, lexicon)
    # Only receipts and invoices are read twice: on a prescription the second engine's text (spaces
    # dropped) reads drug lines worse, and what the client is asked must not depend on which engine
    # happened to be more confident (docs/ocr.md "Second reading").
    if analysis.type != "general":
        return ()
    if not is_receipt_like(page, policy):
        # A page read as garbage (no money word, hardly a confident word) may be a receipt Tesseract
        # could not read; the second reading is kept only if it is receipt-like (``better_reading``).
        return ("unreadable",) if page.mean_confidence < policy.min_readable_confidence else ()
    problems = []
    if page.mean_confidence < policy.min_mean_confidence:
        problems.append("low_confidence")
    general = analysis.general
    if policy.want_date and "date" not in general:
        problems.append("no_date")
    total = general.get("total")
    if policy.want_total and not total:
        problems.append("no_total")
    elif policy.want_total_confirmed and total and "confirmed" not in total["provenance"] \
            and "arithmetic" not in total["provenance"]:
        problems.append("total_unconfirmed")
    return tuple(problems)


def better_reading(first: OcrPage, first_problems: tuple[str, ...],
                   second: OcrPage, second_problems: tuple[str, ...]) -> int:
    """0 to keep the first reading, 1 for the second: fewer problems wins; an empty second reading
    never replaces a first one with words; on a tie the second (it was asked for because the
    first one failed)."""
    if "empty_page" in second_problems and "empty_page" not in first_problems:
        return 0
    # An unreadable page is replaced only by a reading that shows it is a receipt: what a product or
    # prescription photo says stays Tesseract's (and the rules still ask the client about it).
    if "unreadable" in first_problems and not is_receipt_like(second):
        return 0
    return 1 if len(second_problems) <= len(first_problems) else 0
