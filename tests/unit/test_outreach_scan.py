"""The directory scan (``eligible_vendors``) reads the ledger for many vendors at once: its verdicts,
their order and the ranking must be exactly those of ``why_ineligible`` asked vendor by vendor."""

from __future__ import annotations

import random

import pytest

from concierge.geo import distance_km
from concierge.ledger import Ledger, _in_list
from concierge.outreach import (
    DAY_S,
    EligibleVendor,
    eligible_vendors,
    match_strength,
    why_ineligible,
)
from concierge.policy import Caps
from concierge.ports import Vendor

CATEGORIES = ("pharmacy", "hardware", "food", "phones")
TAGS = ("Paracetamol", "cement", "rice", "charger", "PAINT", "Food", "phones")


def reference(vendors, *, ledger, request_id, category, tags, origin, radius_km, min_rating, now, caps):
    """The scan as it was written before it batched its queries: one vendor at a time."""
    contacted = {o.vendor_id for o in ledger.outreach(request_id=request_id)}
    radius = min(max(radius_km, 0.0), caps.radius_max_km)
    chosen, excluded = [], {}
    for vendor in vendors:
        reason = why_ineligible(
            vendor, ledger=ledger, request_id=request_id, category=category, tags=tags, origin=origin,
            radius_km=radius, min_rating=min_rating, now=now, caps=caps, contacted=contacted,
        )
        if reason:
            if reason != "category":
                excluded[vendor.id] = reason
            continue
        dist = None
        if origin is not None and vendor.lat is not None and vendor.lng is not None:
            dist = distance_km(origin[0], origin[1], vendor.lat, vendor.lng)
        chosen.append(EligibleVendor(vendor, match_strength(vendor, category, tags), dist))
    chosen.sort(key=lambda e: (-e.match_strength, e.distance_km if e.distance_km is not None else float("inf"),
                               e.vendor.avg_response_minutes, -e.vendor.rating, e.vendor.id))
    return chosen, excluded


def _vendor(rng: random.Random, i: int) -> Vendor:
    located = rng.random() < 0.8
    return Vendor(
        id=f"v{i:03d}", name=f"Vendor {i}", phone=f"+25078{i:07d}",
        categories=tuple(rng.sample(CATEGORIES, rng.randint(0, 2))),
        lat=-1.95 + rng.uniform(-0.15, 0.15) if located else None,
        lng=30.06 + rng.uniform(-0.15, 0.15) if located else None,
        rating=round(rng.uniform(2.5, 5.0), 1), avg_response_minutes=float(rng.choice((5, 10, 30))),
        active=rng.random() < 0.9, opted_out=rng.random() < 0.05, blocked=rng.random() < 0.05,
        has_whatsapp=rng.random() < 0.95, tags=tuple(rng.sample(TAGS, rng.randint(0, 2))),
    )


@pytest.mark.parametrize("seed", range(25))
def test_batched_scan_matches_vendor_by_vendor(seed: int) -> None:
    rng = random.Random(seed)
    caps = Caps(vendor_daily_max=rng.choice((0, 1, 2, 3, 20)), vendor_min_gap_s=rng.choice((0.0, 300.0, 3600.0)))
    vendors = [_vendor(rng, i) for i in range(rng.randint(0, 70))]
    ledger = Ledger()
    now = 2 * DAY_S
    # Outreach already sent, queued (a send being retried) or answered, over the last two days.
    for r in range(rng.randint(0, 40)):
        request_id = f"req-{r:05d}"
        for vendor in rng.sample(vendors, min(len(vendors), rng.randint(0, 6))):
            at = float(rng.randint(0, int(now)))
            ledger.insert_outreach(request_id, vendor.id, f"k:{request_id}:{vendor.id}", 1, at)
            roll = rng.random()
            if roll < 0.7:
                ledger.set_outreach_status(request_id, vendor.id, "sent", at, wamid=f"w{r}{vendor.id}")
            if roll < 0.2:
                ledger.set_outreach_status(request_id, vendor.id, "replied", at + 60)
            elif roll > 0.9:
                ledger.set_outreach_status(request_id, vendor.id, "failed", at)
    for vendor in vendors:
        if rng.random() < 0.1:
            ledger.opt_out_vendor(vendor.id, now - 10)
        if rng.random() < 0.15:
            ledger.set_vendor_busy(vendor.id, now + rng.choice((-100, 0, 100)))
    for _ in range(4):  # several searches over the same directory (its index is built once)
        request_id = f"req-{rng.randint(0, 45):05d}"
        kwargs = dict(
            ledger=ledger, request_id=request_id, category=rng.choice(CATEGORIES),
            tags=tuple(t.lower() if rng.random() < 0.5 else t for t in rng.sample(TAGS, rng.randint(0, 2))),
            origin=rng.choice((None, (-1.95, 30.06))), radius_km=rng.choice((-1.0, 2.0, 5.0, 40.0)),
            min_rating=rng.choice((0.0, 3.5, 4.5)), now=now, caps=caps,
        )
        expected = reference(vendors, **kwargs)
        got = eligible_vendors(list(vendors), **kwargs)  # a new list of the same vendors, as all_vendors() gives
        assert got == expected
        assert list(got[1]) == list(expected[1])  # the same order too


def test_a_changed_directory_is_indexed_again() -> None:
    ledger, caps = Ledger(), Caps()
    first = [Vendor(id="a", name="A", phone="+250788000001", categories=("pharmacy",))]
    second = [*first, Vendor(id="b", name="B", phone="+250788000002", categories=("pharmacy",), active=False)]
    kwargs = dict(ledger=ledger, request_id="req-00001", category="pharmacy", origin=None, radius_km=5.0,
                  now=0.0, caps=caps)
    assert [e.vendor.id for e in eligible_vendors(first, **kwargs)[0]] == ["a"]
    chosen, excluded = eligible_vendors(second, **kwargs)
    assert [e.vendor.id for e in chosen] == ["a"] and excluded == {"b": "inactive"}
    assert eligible_vendors(first[:0], **kwargs) == ([], {})


def test_in_list_pads_to_a_power_of_two() -> None:
    assert _in_list(["a"]) == ("?,?,?,?", ["a", "a", "a", "a"])
    marks, params = _in_list([str(i) for i in range(9)])
    assert marks.count("?") == len(params) == 16 and params[8:] == ["8"] * 8
    assert _in_list(["a", "b", "c", "d"])[1] == ["a", "b", "c", "d"]
