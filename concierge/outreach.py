"""Vendor outreach: who is eligible, in what order, and what the vendor is asked.

Eligibility and ranking follow docs/domain.md "Vendor selection and replies". Facts that change while a
simulation runs (opt-outs, busy exclusions, outreach already sent) come from the ledger; static facts
(categories, place, rating) come from the directory.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

from .geo import distance_km
from .ledger import Ledger
from .phones import mask_phones_in
from .policy import Caps
from .ports import Vendor
from .texts import DEFAULT_QUESTIONS as DEFAULT_QUESTIONS  # the plans' questions, named here too
from .texts import VENDOR_HINT, VENDOR_INTRO, VENDOR_QUESTIONS, VENDOR_STOP

DAY_S = 24 * 3600.0

@dataclass(frozen=True)
class EligibleVendor:
    vendor: Vendor
    match_strength: float
    distance_km: float | None


def match_strength(vendor: Vendor, category: str, tags: tuple[str, ...] = ()) -> float:
    """1.0 for the vendor's main category, 0.8 for another listed one, 0.6 for a tag match."""
    if vendor.categories and vendor.categories[0] == category:
        return 1.0
    if category in vendor.categories:
        return 0.8
    wanted = {t.lower() for t in tags} | {category.lower()}
    if wanted & {t.lower() for t in vendor.tags}:
        return 0.6
    return 0.0


def why_ineligible(
    vendor: Vendor, *, ledger: Ledger, request_id: str, category: str, tags: tuple[str, ...],
    origin: tuple[float, float] | None, radius_km: float, min_rating: float, now: float, caps: Caps,
    contacted: set[str],
) -> str | None:
    """None when the vendor may be asked now, else the first rule that excludes it.

    The directory's own facts are checked before the ledger's, so that the vendors a request could
    never use (wrong category, too far) cost no database query: a search scans the whole directory.
    """
    if not vendor.active:
        return "inactive"
    if not vendor.has_whatsapp:
        return "no_whatsapp"
    if vendor.blocked:
        return "blocked"
    if vendor.opted_out:
        return "opted_out"
    if vendor.id in contacted:
        return "already_contacted"
    if match_strength(vendor, category, tags) <= 0:
        return "category"
    if vendor.rating < min_rating:
        return "rating"
    if origin is not None and vendor.lat is not None and vendor.lng is not None:
        if distance_km(origin[0], origin[1], vendor.lat, vendor.lng) > radius_km:
            return "distance"
    status = ledger.vendor_status(vendor.id)
    if status["opted_out"]:
        return "opted_out"
    if status["busy_until"] is not None and status["busy_until"] > now:
        return "busy"
    recent = ledger.outreach_sent_since(vendor.id, now - DAY_S)
    if len(recent) >= caps.vendor_daily_max:
        return "daily_cap"
    if recent and now - recent[-1] < caps.vendor_min_gap_s:
        return "cooldown"
    if ledger.outreach_pending(vendor.id):
        # A send to this vendor is still being retried: its gap starts when it goes out.
        return "cooldown"
    return None


def eligible_vendors(
    vendors: list[Vendor], *, ledger: Ledger, request_id: str, category: str,
    tags: tuple[str, ...] = (), origin: tuple[float, float] | None, radius_km: float,
    min_rating: float = 0.0, now: float, caps: Caps,
) -> tuple[list[EligibleVendor], dict[str, str]]:
    """Eligible vendors in rank order, and why each other vendor of the trade was left out.

    The same verdicts, in the same order, as ``why_ineligible`` vendor by vendor (the reference,
    see tests/unit/test_outreach_scan.py), but cheaper: only the vendors of the trade (and those the
    directory or the request already rules out, which are reported whatever their trade) are looked
    at, through an index of the directory's static facts; the directory's facts come first, then the
    ledger's for the few vendors still in, three queries in all rather than up to three per vendor.
    """
    contacted = {o.vendor_id for o in ledger.outreach(request_id=request_id)}
    radius = min(max(radius_km, 0.0), caps.radius_max_km)
    wanted = {t.lower() for t in tags} | {category.lower()}
    # Only the vendors whose verdict is not "category" (other trades, never listed) are looked at.
    index = _directory_index(vendors)
    seen = set(index.listed)
    seen.update(index.by_category.get(category, ()))
    for tag in wanted:
        seen.update(index.by_tag.get(tag, ()))
    for vendor_id in contacted:
        seen.update(index.by_id.get(vendor_id, ()))
    # (vendor, reason or None while the ledger is still to be asked, match strength, distance)
    verdicts: list[tuple[Vendor, str | None, float, float | None]] = []
    to_check: list[str] = []
    for position in sorted(seen):
        vendor = index.vendors[position]
        reason: str | None = None
        strength, dist = 0.0, None
        if not vendor.active:
            reason = "inactive"
        elif not vendor.has_whatsapp:
            reason = "no_whatsapp"
        elif vendor.blocked:
            reason = "blocked"
        elif vendor.opted_out:
            reason = "opted_out"
        elif vendor.id in contacted:
            reason = "already_contacted"
        else:
            strength = _strength(vendor, category, wanted)
            if strength <= 0:
                # Vendors of other trades are not candidates: listing them would copy the whole
                # directory into every search result the ledger keeps (30 MB per 3,000 requests).
                continue
            if vendor.rating < min_rating:
                reason = "rating"
            elif origin is not None and vendor.lat is not None and vendor.lng is not None:
                dist = distance_km(origin[0], origin[1], vendor.lat, vendor.lng)
                if dist > radius:
                    reason = "distance"
            if reason is None:
                to_check.append(vendor.id)
        verdicts.append((vendor, reason, strength, dist))
    statuses = ledger.vendor_statuses(to_check)
    recent = ledger.outreach_sent_since_by_vendor(to_check, now - DAY_S)
    pending = ledger.outreach_pending_by_vendor(to_check)
    chosen: list[EligibleVendor] = []
    excluded: dict[str, str] = {}
    for vendor, reason, strength, dist in verdicts:
        if reason is None:
            reason = _ledger_reason(vendor.id, statuses, recent, pending, now, caps)
        if reason:
            excluded[vendor.id] = reason
            continue
        chosen.append(EligibleVendor(vendor, strength, dist))
    chosen.sort(
        key=lambda e: (
            -e.match_strength,
            e.distance_km if e.distance_km is not None else float("inf"),
            e.vendor.avg_response_minutes,
            -e.vendor.rating,
            e.vendor.id,
        )
    )
    return chosen, excluded


@dataclass(frozen=True)
class _DirectoryIndex:
    """Positions in a directory's vendor list, by the static facts a scan starts with."""

    vendors: tuple[Vendor, ...]
    listed: tuple[int, ...]  # excluded by a directory fact (inactive ...), reported whatever the trade
    by_category: dict[str, tuple[int, ...]]  # every category a vendor lists
    by_tag: dict[str, tuple[int, ...]]  # every tag, lower case
    by_id: dict[str, tuple[int, ...]]


_INDEXES: list[_DirectoryIndex] = []  # the latest first


def _directory_index(vendors: list[Vendor]) -> _DirectoryIndex:
    """The index of this vendor list, built once per list of the same (frozen) vendor objects. The
    index holds the vendors, so the objects it is checked against cannot be others at the same
    address while it is kept."""
    for index in _INDEXES:
        # The very objects, compared by identity in C (a tuple of 120 ids made and hashed at every
        # search cost more): an equal vendor that is another object builds its own index.
        if len(index.vendors) == len(vendors) and all(map(operator.is_, index.vendors, vendors)):
            return index
    groups: dict[str, dict[str, list[int]]] = {"category": {}, "tag": {}, "id": {}}
    listed = []
    for i, vendor in enumerate(vendors):
        if not vendor.active or not vendor.has_whatsapp or vendor.blocked or vendor.opted_out:
            listed.append(i)
        for category in set(vendor.categories):
            groups["category"].setdefault(category, []).append(i)
        for tag in {t.lower() for t in vendor.tags}:
            groups["tag"].setdefault(tag, []).append(i)
        groups["id"].setdefault(vendor.id, []).append(i)
    frozen = {name: {k: tuple(v) for k, v in group.items()} for name, group in groups.items()}
    index = _DirectoryIndex(tuple(vendors), tuple(listed), frozen["category"], frozen["tag"], frozen["id"])
    _INDEXES.insert(0, index)
    del _INDEXES[4:]  # a few directories at once (tests, shards in one process), never more
    return index


def _strength(vendor: Vendor, category: str, wanted: set[str]) -> float:
    """``match_strength`` with the wanted tags (lower case, the category included) worked out once."""
    if vendor.categories and vendor.categories[0] == category:
        return 1.0
    if category in vendor.categories:
        return 0.8
    if any(t.lower() in wanted for t in vendor.tags):
        return 0.6
    return 0.0


def _ledger_reason(
    vendor_id: str, statuses: dict[str, tuple[int, float | None]], recent: dict[str, tuple[int, float]],
    pending: dict[str, int], now: float, caps: Caps,
) -> str | None:
    """The ledger half of ``why_ineligible``, on facts read for several vendors at once."""
    opted_out, busy_until = statuses.get(vendor_id, (0, None))
    if opted_out:
        return "opted_out"
    if busy_until is not None and busy_until > now:
        return "busy"
    sent, last = recent.get(vendor_id, (0, None))
    if sent >= caps.vendor_daily_max:
        return "daily_cap"
    if sent and last is not None and now - last < caps.vendor_min_gap_s:
        return "cooldown"
    if pending.get(vendor_id, 0):
        # A send to this vendor is still being retried: its gap starts when it goes out.
        return "cooldown"
    return None


def outreach_key(request_id: str, vendor_id: str) -> str:
    return f"request:{request_id}:vendor:{vendor_id}:qset:v1"


def compose_vendor_message(
    vendor: Vendor, need: str, questions: list[str] | tuple[str, ...] | None = None
) -> str:
    """Short intro, the need (never the client's phone or name), numbered questions, hint, STOP."""
    lang = vendor.language if vendor.language in VENDOR_INTRO else "en"
    asked = [q for q in (questions or DEFAULT_QUESTIONS) if q.strip()][:4] or list(DEFAULT_QUESTIONS)
    # Defence in depth: whatever the brain wrote, no phone number reaches a vendor.
    safe_need = mask_phones_in(need.strip())[:300]
    lines = [VENDOR_INTRO[lang].format(name=vendor.name), f"*{safe_need}*", ""]
    lines += [f"{i}. {mask_phones_in(VENDOR_QUESTIONS.get(q.strip(), {}).get(lang, q.strip()))[:200]}"
              for i, q in enumerate(asked, 1)]
    lines += ["", VENDOR_HINT[lang], VENDOR_STOP[lang]]
    return "\n".join(lines)
