"""Total lines by keyword: which printed lines name a total, how strongly (grand / payable / rounded
totals over subtotals and taxes), and the keyword pick among their amounts.
"""

from __future__ import annotations

import re

from concierge.ocr_amounts import (
    amounts_of_fixed,
    amounts_read,
    cents_of,
    fix_lookalikes,
    prints_cents,
)
from concierge.ocr_fields import line_text
from concierge.ports import OcrWord

# Total keywords, strongest first. A receipt prints several "total"-like lines (subtotal, tax total,
# rounding adjustment, grand total); the grand / payable / rounded / tax-inclusive one is what was paid.
_TOTAL_BEST = ("grand total", "total due", "amount due", "total payable", "amount payable", "net total",
               "nett total", "total amount", "total rwf", "total (rwf)", "total (rm)", "total rm",
               "rounded total", "total rounded", "total incl", "total (incl", "incl. gst", "incl gst",
               "incl. vat", "incl vat", "inclusive", "balance due", "montant total", "total a payer",
               "total à payer", "net a payer", "net à payer", "jumlah besar", "jumlah bersih",
               "jumlah keseluruhan", "igiteranyo cyose", "net amount", "nett amount", "net amt", "nett amt")
# "TOTAL" as engines misread it on faint scans: "T0TAL", "TATAL", "TOLAL", "TORAL", "IOTAL", "TOTA1",
# "Tata!"; each letter replaced only by one OCR confuses it with. A 1 at either end is part of the
# word only when no number is glued to it there ("10RA10" is no TOTAL; "TOTA1" and "1OTAL" are).
_TOTAL_MISREAD = r"(?:[tli]|(?<![\d.,])1)[o0a][tlr][a4](?:[l!|]|1(?![.,]?\d))"
# "DUE 25.15" alone is the amount due; "due date" is a date. "Payable", "net(t) amount" and "net à
# payer" name the amount to pay without the word total (the strongest kinds above must be found).
TOTAL_WORD = re.compile(r"total|" + _TOTAL_MISREAD + r"|jumlah|montant|igiteranyo|amount due|(?<![a-z])due(?![a-z])(?!\s*date)"
                         r"|payable|(?<![a-z])nett? (?:amount|amt)(?![a-z])|net [aà] payer")
# A payment word right after an amount on a total's row starts the payment's own stretch.
_PAYMENT_AFTER_AMOUNT = re.compile(r"(?<=\d)\s+(?:cash|change|tendered|paid|payment|tunai|kembalian|baki|card|visa)\b")
_DUE_ALONE = re.compile(r"(?<![a-z])due(?![a-z])(?!\s*date)")
# Lines that carry a total-like word but not the amount paid. "incl" outranks these (checked first).
_TOTAL_SKIP = ("sub", "qty", "quantity", "items", "item", "tax", "gst", "vat", "tva", "discount",
               "saving", "rounding", "round adj", "excl", "tendered", "change", "points", "weight")


def _total_rank(low: str) -> int:
    if any(k in low for k in _TOTAL_BEST) or _DUE_ALONE.search(low):
        return 2
    if any(re.search(rf"(?<![a-z]){k}", low) for k in _TOTAL_SKIP):
        return 0
    return 1


def total_candidates(lines) -> list[tuple[int, float, int, list[OcrWord]]]:
    """Every amount printed on a total-like line: (rank, amount, line index, words of the keyword line)."""
    candidates = []
    cents_page = prints_cents([line_text(ws) for ws in lines])
    for n, words in enumerate(lines):
        # Letters read for digits are fixed in the whole line first: a stretch cut from it no longer
        # shows which word a letter belongs to, nor whether a misread TOTAL's 1 is glued to a number.
        low = fix_lookalikes(line_text(words).lower())
        hits = list(TOTAL_WORD.finditer(low))
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
            amounts, where = amounts_of_fixed(low[hit.end(): stop]), n
            # "TOTAL" on one line and its amount alone on the next.
            if not amounts and i + 1 == len(hits) and n + 1 < len(lines):
                nxt = line_text(lines[n + 1]).lower()
                if not re.search(r"[a-z]{3}", re.sub(r"\b(rm|rwf|frw|usd|ksh)\b", "", nxt)):
                    amounts, where = amounts_read(nxt), n + 1
            # A subtotal or tax line (rank 0) counts only when no other total-like line has an amount.
            if amounts:
                amount, decimals = amounts[-1]
                # On a page that prints cents, a total of three digits or more printed without them is
                # the amount with its decimal point lost (a faint "8.20" read "820").
                if cents_page and not decimals and amount >= 100:
                    amount = amount / 100
                candidates.append((rank, amount, where, words))
    return candidates


def keyword_total(candidates):
    """The keyword pick: among the lines of the best kind the largest (subtotals and taxes are
    smaller); on a tie the last one, printed after the subtotals. A whole number that is another
    candidate's amount times 100 is that amount with its decimal point lost ("34395" beside
    "343.95"), never the total."""
    if not candidates:
        return None
    cents = {cents_of(c[1]) for c in candidates if cents_of(c[1]) % 100}
    kept = [c for c in candidates if not (c[1] == int(c[1]) and int(c[1]) in cents)] or candidates
    best_rank = max(c[0] for c in kept)
    return max((c for c in kept if c[0] == best_rank), key=lambda c: (c[1], c[2]))
