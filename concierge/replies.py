"""Vendor replies in free text (en, fr, rw, WhatsApp style) turned into a ParsedReply.

Vendors are asked four numbered questions (stock, price min-max RWF, location, options) and answer
as they like: "1. yes 2. 3,500 3. Kimironko market", "1 yes 2 15k-30k 3 near Remera", "Yego dufite
5000frw". The parser reads the numbered answers when it finds them and falls back to the whole text.

This module is the parser and the public face of reply parsing; each kind of phrase has its own
module: ``reply_text`` (folding), ``reply_intents`` (stop, cancel, busy), ``reply_sections``
(numbered answers), ``reply_availability``, ``reply_prices``, ``reply_location``, ``reply_options``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from concierge.reply_availability import Availability, read_availability
from concierge.reply_intents import is_busy, is_client_cancel, is_vendor_stop
from concierge.reply_location import read_location
from concierge.reply_options import dedupe, read_options, split_options
from concierge.reply_prices import Prices, read_prices
from concierge.reply_sections import numbered_sections
from concierge.reply_text import EMPTY_ANSWER, blank, clip, fold, prepare
from concierge.safety import detect_injection, phone_spans, redact

__all__ = [
    "AVAILABILITIES",
    "MAX_REPLY_CHARS",
    "ParsedReply",
    "is_busy",
    "is_client_cancel",
    "is_vendor_stop",
    "parse_vendor_reply",
]

AVAILABILITIES = ("in_stock", "out_of_stock", "unclear")
MAX_REPLY_CHARS = 4096


@dataclass(frozen=True)
class ParsedReply:
    availability: str
    price_min: int | None
    price_max: int | None
    location_note: str | None
    options: tuple[str, ...]
    confidence: float
    warnings: tuple[str, ...]
    busy: bool = False
    stop: bool = False
    suspicious: bool = False

    def to_dict(self) -> dict:
        return {
            "availability": self.availability,
            "price_min": self.price_min,
            "price_max": self.price_max,
            "location_note": self.location_note,
            "options": list(self.options),
            "confidence": self.confidence,
            "warnings": list(self.warnings),
            "busy": self.busy,
            "stop": self.stop,
            "suspicious": self.suspicious,
        }


# --- the parser -----------------------------------------------------------------------------


def _confidence(
    avail: Availability, *, price: bool, location: bool, numbered: bool, inverted: bool
) -> float:
    if avail.value == "out_of_stock":
        score = 0.85 if avail.explicit else 0.7
    elif avail.value == "in_stock":
        score = (0.55 if avail.explicit or numbered else 0.45) if not avail.inferred else 0.4
        score += 0.2 * price + 0.15 * location
        if numbered and price and location:
            score += 0.05
    else:
        score = min(0.45, 0.25 + 0.1 * price + 0.1 * location)
    if avail.mixed:
        score -= 0.15
    if inverted:
        score -= 0.05
    if avail.vague:
        score = min(score, 0.45)
    return score


def parse_vendor_reply(text: str, *, vendor_phone: str | None = None) -> ParsedReply:
    """Read a vendor's free-text reply. Never raises on any text.

    Only the first ``MAX_REPLY_CHARS`` characters are parsed (WhatsApp caps a text at 4096);
    the safety check still reads the whole text.
    """
    whole = prepare(text)
    # The sender counts only here (its own number in the text is not foreign): the rest is read
    # from the text alone, and vendors send the same short replies again and again.
    return _read_reply(whole, detect_injection(whole, source="vendor", sender_phone=vendor_phone).flagged)


@lru_cache(maxsize=2048)  # pure, and its answer immutable (a frozen reply of strings and tuples)
def _read_reply(whole: str, suspicious: bool) -> ParsedReply:
    """``parse_vendor_reply`` of a prepared text, once the safety check has said ``suspicious``."""
    original = whole[:MAX_REPLY_CHARS]
    folded = fold(original)
    stop = is_vendor_stop(original)
    busy = is_busy(original)
    if stop:
        warnings = ("stop", "suspicious") if suspicious else ("stop",)
        return ParsedReply("unclear", None, None, None, (), 0.0, warnings, busy, True, suspicious)

    sections, chain = numbered_sections(folded)
    work = folded
    for mark in chain:
        work = blank(work, mark.start, mark.end)
    for start, end, _ in phone_spans(work):
        work = blank(work, start, end)

    def section(n: int) -> tuple[int, int] | None:
        span = sections.get(n)
        if span and work[span[0] : span[1]].strip():
            return span
        return None

    # Availability: answer 1, else the whole text (never answer 4: "4. no options").
    avail = Availability("unclear", False, False, False)
    if section(1):
        s, e = section(1)
        avail = read_availability(work[s:e])
    if avail.value == "unclear" and not avail.vague:
        limit = min((sections[n][0] for n in (3, 4) if n in sections), default=len(work))
        avail = read_availability(work[:limit] if section(1) else work)

    prices = Prices(None, None, False, ())
    if section(2):
        s, e = section(2)
        prices = read_prices(blank(blank(work, 0, s), e, len(work)), answered=True)
    if prices.low is None:
        prices = read_prices(work, answered=False)

    location: str | None = None
    if section(3):
        s, e = section(3)
        answer = clip(original, s, e)
        if answer and not EMPTY_ANSWER.match(answer.lower()):
            location = answer[:80]
    if location is None:
        stops = [s for s, _ in prices.spans] + [sections[n][0] for n in sections]
        location = read_location(original, work, stops)

    options: list[str] = []
    if section(4):
        s, e = section(4)
        options = split_options(original, work, s, e)
    if not options:
        options = read_options(original, work)

    inferred = False
    if avail.value == "unclear" and not avail.vague and prices.low is not None:
        # A vendor quoting a price without a yes almost always has the item; say we inferred it.
        inferred = True
        avail = Availability("in_stock", False, avail.mixed, False, inferred=True)

    if avail.value == "unclear" and avail.hedged and not avail.vague:
        avail = Availability("unclear", False, avail.mixed, True)

    warnings: list[str] = []
    if avail.value != "out_of_stock":
        if prices.low is None:
            warnings.append("no_price")
        if location is None:
            warnings.append("no_location")
    if inferred:
        warnings.append("availability_inferred")
    if avail.mixed:
        warnings.append("mixed_availability")
    if avail.vague:
        warnings.append("vague")
    if prices.inverted:
        warnings.append("price_range_inverted")
    if not original.strip():
        warnings.append("empty")
    if busy:
        warnings.append("busy")
    if suspicious:
        warnings.append("suspicious")

    confidence = _confidence(
        avail,
        price=prices.low is not None,
        location=location is not None,
        numbered=bool(sections),
        inverted=prices.inverted,
    )
    if busy and avail.value == "unclear":
        confidence = min(confidence, 0.3)
    if suspicious:
        confidence = min(confidence, 0.5)
    confidence = round(min(1.0, max(0.0, confidence)), 2)

    # Notes and options reach the client's shortlist: no phone number or secret rides along.
    return ParsedReply(
        availability=avail.value,
        price_min=prices.low,
        price_max=prices.high,
        location_note=redact(location) if location else None,
        options=dedupe([redact(o) for o in options]),
        confidence=confidence,
        warnings=tuple(warnings),
        busy=busy,
        stop=False,
        suspicious=suspicious,
    )
