"""Shortlist: score vendor replies, rank them, and format the WhatsApp messages for the client.

Decisions where docs/domain.md is silent (also stated at each place they apply):
- Price: the price compared with the budget is ``price_min`` (or ``price_max`` when only that is
  known). A reply with no price at all earns nothing for price when the client gave a budget (it
  cannot be shown to fit), and the usual +10 when no budget was given (nothing to fit).
- Garbage values never raise: an unknown availability counts as ``unclear``; a missing, negative or
  non-finite distance, confidence, price or reply delay earns nothing; confidence is clamped to 0..1.
- ``rank`` never returns more than 5 items, whatever ``limit`` says (the domain's hard cap).
- A vendor with any excluded candidate (e.g. a payment request) is left out entirely, and two
  vendor ids sharing one phone number are one vendor (the directory's dedupe rule).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from .phones import mask_phones_in
from .texts import SHORTLIST

MAX_ITEMS = 5
MAX_MESSAGES = 2
MAX_MESSAGE_CHARS = 4096  # WhatsApp text body limit

AVAILABILITY_POINTS = {"in_stock": 50.0, "unclear": 10.0, "out_of_stock": -100.0}


@dataclass(frozen=True)
class Candidate:
    vendor_id: str
    vendor_name: str
    vendor_phone: str  # E.164 '+250...'
    availability: str  # in_stock | out_of_stock | unclear
    price_min: int | None
    price_max: int | None
    confidence: float  # reply confidence 0..1
    distance_km: float | None
    replied_after_s: float  # seconds from the outreach being sent to the reply
    first_responder: bool  # the first vendor to reply to this request
    location_note: str | None = None
    options: tuple[str, ...] = ()
    excluded_reason: str | None = None  # e.g. "suspicious": never shortlisted
    link_text: str | None = None  # the brain's handoff.message_template, pre-filled in the wa.me link


@dataclass(frozen=True)
class ScoredCandidate:
    candidate: Candidate
    score: float
    breakdown: tuple[tuple[str, float], ...]  # ("in_stock", 50.0), ("within_budget", 20.0), ...


# --- cleaning: values arrive from parsers and the brain, so none of them is trusted ------------


def _finite(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    value = float(x)
    return value if math.isfinite(value) else None


def _price(x: object) -> int | None:
    value = _finite(x)
    return int(value) if value is not None and value >= 0 else None


def _availability(c: Candidate) -> str:
    return c.availability if c.availability in AVAILABILITY_POINTS else "unclear"


def _confidence(c: Candidate) -> float:
    value = _finite(c.confidence)
    return 0.0 if value is None else min(1.0, max(0.0, value))


def _price_range(c: Candidate) -> tuple[int | None, int | None]:
    lo, hi = _price(c.price_min), _price(c.price_max)
    lo, hi = (lo if lo is not None else hi), (hi if hi is not None else lo)
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return lo, hi


def _reply_delay(c: Candidate) -> float | None:
    value = _finite(c.replied_after_s)
    return value if value is not None and value >= 0 else None


def _distance(c: Candidate) -> float | None:
    value = _finite(c.distance_km)
    return value if value is not None and value >= 0 else None


# --- score ---------------------------------------------------------------------------------------


def _budget_points(c: Candidate, budget_max: int | None) -> tuple[str, float] | None:
    budget = _finite(budget_max)
    if budget is None:
        return ("no_budget", 10.0)
    price, _ = _price_range(c)
    if price is None:
        return None  # a budget was given but the vendor named no price: it cannot be shown to fit
    if price <= budget:
        return ("within_budget", 20.0)
    if price * 5 <= budget * 6:  # <= 20 % above, in exact arithmetic for integer prices
        return ("up_to_20pct_over_budget", 5.0)
    return None


def _distance_points(c: Candidate) -> tuple[str, float] | None:
    d = _distance(c)
    for limit, points in ((2, 15.0), (5, 10.0), (10, 5.0)):
        if d is not None and d <= limit:
            return (f"within_{limit}km", points)
    return None


def _speed_points(c: Candidate) -> tuple[str, float] | None:
    if c.first_responder is True:
        return ("first_responder", 10.0)
    delay = _reply_delay(c)
    if delay is not None and delay <= 10 * 60:
        return ("replied_within_10min", 8.0)
    if delay is not None and delay <= 30 * 60:
        return ("replied_within_30min", 5.0)
    return None


def score(c: Candidate, budget_max: int | None) -> ScoredCandidate:
    """Points per docs/domain.md "Shortlist"; the breakdown lists only the components that scored."""
    availability = _availability(c)
    parts: list[tuple[str, float] | None] = [
        (availability, AVAILABILITY_POINTS[availability]),
        _budget_points(c, budget_max),
        _distance_points(c),
        ("confidence", round(20.0 * _confidence(c), 2)),
        _speed_points(c),
    ]
    breakdown = tuple(p for p in parts if p is not None and p[1] != 0)
    return ScoredCandidate(c, round(sum(p[1] for p in breakdown), 2), breakdown)


# --- rank ----------------------------------------------------------------------------------------


def rank_key(s: ScoredCandidate) -> tuple:
    """Best first: score, then higher confidence, lower price, faster reply, vendor_id.

    The last element (the candidate's repr) only separates two entries of the same vendor that tie
    on everything else, so the result never depends on input order.
    """
    c = s.candidate
    price, _ = _price_range(c)
    delay = _reply_delay(c)
    return (
        -s.score,
        -_confidence(c),
        math.inf if price is None else price,
        math.inf if delay is None else delay,
        str(c.vendor_id),
        repr(c),
    )


def _phone_identity(phone: object) -> str:
    return re.sub(r"\D", "", str(phone))


def _one_per_vendor(items: list[ScoredCandidate]) -> list[ScoredCandidate]:
    """Keep each vendor's best entry (``items`` must already be sorted best first)."""
    seen_ids: set[str] = set()
    seen_phones: set[str] = set()
    kept = []
    for s in items:
        vid, phone = str(s.candidate.vendor_id), _phone_identity(s.candidate.vendor_phone)
        if vid in seen_ids or (phone and phone in seen_phones):
            continue
        seen_ids.add(vid)
        if phone:
            seen_phones.add(phone)
        kept.append(s)
    return kept


def _drop_excluded(items: list[ScoredCandidate]) -> list[ScoredCandidate]:
    # One suspicious reply (payment request, ...) disqualifies the vendor, not only that reply.
    bad = [s.candidate for s in items if s.candidate.excluded_reason is not None]
    bad_ids = {str(c.vendor_id) for c in bad}
    bad_phones = {p for p in (_phone_identity(c.vendor_phone) for c in bad) if p}
    return [
        s for s in items
        if str(s.candidate.vendor_id) not in bad_ids
        and _phone_identity(s.candidate.vendor_phone) not in bad_phones
    ]


def rank(candidates: Iterable[Candidate], budget_max: int | None, *, limit: int = 5) -> list[ScoredCandidate]:
    """At most ``min(limit, 5)`` candidates, best first, one per vendor, never an excluded one.

    Out-of-stock replies and negative scores appear only when no other reply exists.
    """
    scored = sorted((score(c, budget_max) for c in candidates), key=rank_key)
    best = _one_per_vendor(_drop_excluded(scored))
    usable = [s for s in best if _availability(s.candidate) != "out_of_stock" and s.score >= 0]
    pool = usable or best
    cap = max(0, min(int(limit), MAX_ITEMS)) if isinstance(limit, int) else MAX_ITEMS
    return pool[:cap]


# --- format --------------------------------------------------------------------------------------

# Per-field caps keep five items well inside one 4096-char message, so the 2-message cap holds.
_NAME_CHARS, _NOTE_CHARS, _OPTIONS_CHARS, _NEED_CHARS = 100, 160, 160, 200
# The contract caps the template at 300 characters; encoded, 200 keep five links (each up to
# ~600 characters of ASCII) inside the two messages.
_LINK_TEXT_CHARS = 200


def _clip(text: object, limit: int) -> str:
    # Free text comes from vendors and clients: flatten it and mask any phone number in it, so a
    # client's number can never ride along in a vendor's name or note.
    flat = mask_phones_in(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def vendor_link(phone: object, text: str | None = None) -> str | None:
    """``https://wa.me/<digits>`` for a valid number, else None (a broken link is worse than none);
    with ``text``, ``?text=<url-encoded>`` pre-fills the client's first message to the vendor."""
    if text is None or type(text) is str:
        # A link is a pure function of the number's text and the message: each shortlist links
        # the same few vendors with the same template, and parsing a number is the costly part.
        return _remembered_link(str(phone), text)
    return _link(phone, text)


def _link(phone: object, text: object) -> str | None:
    try:
        number = phonenumbers.parse(str(phone), "RW")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    link = f"https://wa.me/{e164[1:]}"
    prefill = _clip(text, _LINK_TEXT_CHARS) if text and str(text).strip() else ""
    return f"{link}?text={percent_encode(prefill)}" if prefill else link


# The last 1,024 (number, message) pairs; a link is a str (or None): no caller can change it.
_remembered_link = functools.lru_cache(maxsize=1024)(_link)

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of a query value (every byte but the unreserved ones). Written
    here, not taken from urllib: the core imports no package that does I/O, even in part."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def format_price(c: Candidate, language: str = "en") -> str:
    t = SHORTLIST.get(language, SHORTLIST["en"])
    lo, hi = _price_range(c)
    if lo is None or hi is None:
        return t["no_price"]
    return f"{lo:,} RWF" if lo == hi else f"{lo:,}–{hi:,} RWF"


def _location(c: Candidate, t: dict[str, str], language: str) -> str:
    d = _distance(c)
    km = None if d is None else f"{d:.1f}".replace(".", "," if language == "fr" else ".")
    note = _clip(c.location_note, _NOTE_CHARS) if c.location_note else ""
    if note and km:
        return f"{note} (~{km} km)"
    return note or (t["away"].format(km=km) if km else t["no_location"])


def _item_block(n: int, c: Candidate, language: str) -> str:
    t = SHORTLIST[language]
    lines = [
        f"{n}. {_clip(c.vendor_name or c.vendor_id, _NAME_CHARS)}",
        f"{t['price']}: {format_price(c, language)}",
        f"{t['stock']}: {t[_availability(c)]}",
        f"{t['location']}: {_location(c, t, language)}",
    ]
    options = [o for o in c.options if str(o).strip()] if isinstance(c.options, (tuple, list)) else []
    if options:
        lines.append(f"{t['options']}: {_clip(', '.join(map(str, options)), _OPTIONS_CHARS)}")
    lines.append(f"WhatsApp: {vendor_link(c.vendor_phone, c.link_text) or t['no_link']}")
    return "\n".join(lines)


def pack_messages(blocks: list[str], max_chars: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Join blocks into as few messages as possible, splitting only between blocks."""
    messages: list[str] = []
    for block in blocks:
        if messages and len(messages[-1]) + 2 + len(block) <= max_chars:
            messages[-1] += "\n\n" + block
        else:
            messages.append(block[:max_chars])
    return messages


def format_shortlist(
    items: list[ScoredCandidate], *, language: str = "en", need: str | None = None
) -> list[str]:
    """The client's shortlist: at most 2 messages, a numbered list in rank order.

    Items are re-sorted by ``rank_key``, excluded and repeated vendors dropped, and at most 5 kept,
    so a list proposed out of order still reads best first. No item gives ``[]`` (the caller decides
    what to tell the client).
    """
    language = language if language in SHORTLIST else "en"
    t = SHORTLIST[language]
    chosen = _one_per_vendor(_drop_excluded(sorted(items, key=rank_key)))[:MAX_ITEMS]
    if not chosen:
        return []
    need_text = _clip(need, _NEED_CHARS) if need and str(need).strip() else ""
    intro = t["intro_need"].format(need=need_text) if need_text else t["intro"]
    blocks = [intro] + [_item_block(i, s.candidate, language) for i, s in enumerate(chosen, 1)]
    blocks.append(t["outro"])
    messages = pack_messages(blocks)
    # Unreachable with the field caps above; kept so a future template change cannot send a third.
    return messages[:MAX_MESSAGES]
