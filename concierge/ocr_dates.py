"""Dates on a page: calendar dates as printed (numeric or with month names, English and French),
digits misread as letters and back, spaces a second engine dropped, and which date line is the
receipt's own (a labelled one beats an expiry or promotion date).
"""

from __future__ import annotations

import itertools
import re

from rapidfuzz import fuzz

from concierge.ocr_fields import (
    DIGIT_LOOKALIKE,
    LOOKALIKE_CHARS,
    Field,
    clamp_confidence,
    line_text,
    mean_confidence,
)

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
_D = rf"[0-9{re.escape(LOOKALIKE_CHARS)}]"
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


def fix_digit_run(token: str) -> str | None:
    """'2O18' -> '2018', 'l2' -> '12'; None unless the token holds a real digit (a word stays a word)."""
    if not token or not any(c.isdigit() for c in token):
        return None
    fixed = token.translate(DIGIT_LOOKALIKE)
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


def receipt_date(lines) -> Field | None:
    # A labelled date ("Date:", "Tarikh", "Itariki") beats an unlabelled one: receipts also print
    # expiry, warranty and promotion dates.
    best = None
    for n, words in enumerate(lines):
        text = line_text(words)
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
    return Field(printed, clamp_confidence(mean_confidence(words)), f"ocr:line {n + 1} (date {iso})")
