"""Shortlist: score components, ranking rules and tie-breaks, WhatsApp formatting, properties."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.shortlist import (
    MAX_MESSAGE_CHARS,
    Candidate,
    ScoredCandidate,
    format_price,
    format_shortlist,
    pack_messages,
    rank,
    rank_key,
    score,
    vendor_link,
)

WA_RW_MOBILE = re.compile(r"^https://wa\.me/2507\d{8}$")
LINK_IN_TEXT = re.compile(r"https://wa\.me/\S+")


def cand(vendor_id: str = "v1", **over) -> Candidate:
    fields = dict(
        vendor_id=vendor_id,
        vendor_name=f"Shop {vendor_id}",
        vendor_phone="+25078800" + f"{abs(sum(map(ord, vendor_id))) % 10000:04d}",
        availability="in_stock",
        price_min=3000,
        price_max=3000,
        confidence=0.5,
        distance_km=3.0,
        replied_after_s=300.0,
        first_responder=False,
    )
    fields.update(over)
    return Candidate(**fields)


# --- score ---------------------------------------------------------------------------------------


def test_the_worked_example_scores_102():
    c = cand(availability="in_stock", price_min=4000, price_max=4000, distance_km=3.0,
             confidence=0.85, replied_after_s=15 * 60, first_responder=False)
    s = score(c, 5000)
    assert s.score == 102
    assert s.breakdown == (
        ("in_stock", 50.0), ("within_budget", 20.0), ("within_5km", 10.0),
        ("confidence", 17.0), ("replied_within_30min", 5.0),
    )


# A baseline that earns only the "unclear" 10 points; each row changes one thing.
BASE = dict(availability="unclear", price_min=9000, price_max=9000, distance_km=None,
            confidence=0.0, replied_after_s=3600.0, first_responder=False)
BUDGET = 5000

COMPONENTS = [
    # (id, overrides, budget, expected component or None, expected total)
    ("in_stock", {"availability": "in_stock"}, BUDGET, ("in_stock", 50.0), 50),
    ("unclear", {}, BUDGET, ("unclear", 10.0), 10),
    ("out_of_stock", {"availability": "out_of_stock"}, BUDGET, ("out_of_stock", -100.0), -100),
    ("unknown availability counts as unclear", {"availability": "maybe?"}, BUDGET, ("unclear", 10.0), 10),
    ("price equal to budget", {"price_min": 5000, "price_max": 5000}, BUDGET, ("within_budget", 20.0), 30),
    ("range whose min fits", {"price_min": 4000, "price_max": 8000}, BUDGET, ("within_budget", 20.0), 30),
    ("exactly 20% above", {"price_min": 6000, "price_max": 6000}, BUDGET, ("up_to_20pct_over_budget", 5.0), 15),
    ("just over 20% above", {"price_min": 6001, "price_max": 6001}, BUDGET, None, 10),
    ("no budget given", {}, None, ("no_budget", 10.0), 20),
    ("no budget, no price", {"price_min": None, "price_max": None}, None, ("no_budget", 10.0), 20),
    ("budget but no price earns nothing", {"price_min": None, "price_max": None}, BUDGET, None, 10),
    ("only price_max known", {"price_min": None, "price_max": 4500}, BUDGET, ("within_budget", 20.0), 30),
    ("distance 2 km", {"distance_km": 2.0}, BUDGET, ("within_2km", 15.0), 25),
    ("distance 2.01 km", {"distance_km": 2.01}, BUDGET, ("within_5km", 10.0), 20),
    ("distance 5 km", {"distance_km": 5.0}, BUDGET, ("within_5km", 10.0), 20),
    ("distance 10 km", {"distance_km": 10.0}, BUDGET, ("within_10km", 5.0), 15),
    ("distance 10.01 km", {"distance_km": 10.01}, BUDGET, None, 10),
    ("negative distance is garbage", {"distance_km": -1.0}, BUDGET, None, 10),
    ("confidence 1", {"confidence": 1.0}, BUDGET, ("confidence", 20.0), 30),
    ("confidence 0.333", {"confidence": 0.333}, BUDGET, ("confidence", 6.66), 16.66),
    ("confidence clamped", {"confidence": 1.7}, BUDGET, ("confidence", 20.0), 30),
    ("confidence NaN", {"confidence": math.nan}, BUDGET, None, 10),
    ("first responder", {"first_responder": True}, BUDGET, ("first_responder", 10.0), 20),
    ("first responder and fast: +10 only", {"first_responder": True, "replied_after_s": 60.0},
     BUDGET, ("first_responder", 10.0), 20),
    ("reply at 10 min", {"replied_after_s": 600.0}, BUDGET, ("replied_within_10min", 8.0), 18),
    ("reply just after 10 min", {"replied_after_s": 601.0}, BUDGET, ("replied_within_30min", 5.0), 15),
    ("reply at 30 min", {"replied_after_s": 1800.0}, BUDGET, ("replied_within_30min", 5.0), 15),
    ("reply after 30 min", {"replied_after_s": 1801.0}, BUDGET, None, 10),
    ("reply delay NaN", {"replied_after_s": math.nan}, BUDGET, None, 10),
]


@pytest.mark.parametrize("over,budget,component,total", [c[1:] for c in COMPONENTS],
                         ids=[c[0] for c in COMPONENTS])
def test_each_score_component_in_isolation(over, budget, component, total):
    s = score(cand(**{**BASE, **over}), budget)
    assert s.score == pytest.approx(total, abs=1e-9)
    assert s.score == round(s.score, 2)
    assert sum(points for _, points in s.breakdown) == pytest.approx(s.score)
    if component is not None:
        assert component in s.breakdown
    # Only the component under test (plus the baseline's availability) scores.
    expected_labels = {"unclear"} if over.get("availability") in (None, "maybe?") else set()
    if component is not None:
        expected_labels.add(component[0])
    assert {label for label, _ in s.breakdown} == expected_labels


def test_total_has_no_float_noise():
    s = score(cand(confidence=0.29, availability="unclear", distance_km=None,
                   replied_after_s=5000.0), None)
    assert s.score == 10 + 10 + 5.8
    assert repr(s.score) == "25.8"


# --- rank: exclusions, dedupe, limit -------------------------------------------------------------


def ids(items: list[ScoredCandidate]) -> list[str]:
    return [s.candidate.vendor_id for s in items]


def test_out_of_stock_is_left_out_when_anything_else_exists():
    items = rank([cand("a", availability="out_of_stock", confidence=1.0),
                  cand("b", availability="unclear", confidence=0.1)], None)
    assert ids(items) == ["b"]


def test_out_of_stock_only_when_nothing_else_exists():
    items = rank([cand("a", availability="out_of_stock", confidence=0.2),
                  cand("b", availability="out_of_stock", confidence=0.9)], None)
    assert ids(items) == ["b", "a"]
    assert all(s.score < 0 for s in items)


def test_suspicious_is_never_shortlisted_even_alone_or_best():
    good = cand("good", availability="unclear", confidence=0.1)
    bad = cand("bad", confidence=1.0, first_responder=True, excluded_reason="suspicious")
    assert ids(rank([bad, good], None)) == ["good"]
    assert rank([bad], None) == []


def test_a_suspicious_reply_disqualifies_the_whole_vendor():
    clean_reply = cand("v", confidence=0.9)
    payment_request = cand("v", confidence=0.2, excluded_reason="suspicious")
    other = cand("w", availability="unclear")
    assert ids(rank([clean_reply, payment_request, other], None)) == ["w"]


def test_vendor_dedupe_keeps_its_best_entry():
    worse = cand("v", availability="unclear", confidence=0.9)
    better = cand("v", availability="in_stock", confidence=0.3)
    items = rank([worse, cand("w", confidence=0.1), better], None)
    assert ids(items) == ["v", "w"]
    assert items[0].candidate == better


def test_two_ids_with_one_phone_are_one_vendor():
    a = cand("a", vendor_phone="+250788000111", confidence=0.9)
    b = cand("b", vendor_phone="+250788000111", confidence=0.4)
    assert ids(rank([b, a], None)) == ["a"]


def test_limit_is_five_and_keeps_the_best():
    many = [cand(f"v{i}", confidence=i / 10) for i in range(8)]
    assert ids(rank(many, None)) == ["v7", "v6", "v5", "v4", "v3"]
    assert ids(rank(many, None, limit=2)) == ["v7", "v6"]
    assert len(rank(many, None, limit=50)) == 5
    assert rank(many, None, limit=0) == []


# --- rank: tie-breaks, each one deciding while the earlier ones tie ---------------------------------


def test_tie_on_score_higher_confidence_wins_over_lower_price():
    # 50 + 10 (no budget) + 10 (3 km) + 10 (conf .5) + 8 (fast) == 50 + 10 + 10 + 8 (conf .4) + 10 (first)
    a = cand("z", confidence=0.5, price_min=9000, price_max=9000, replied_after_s=300.0)
    b = cand("a", confidence=0.4, price_min=1000, price_max=1000, first_responder=True)
    assert score(a, None).score == score(b, None).score
    assert ids(rank([b, a], None)) == ["z", "a"]


def test_then_lower_price_wins_over_faster_reply():
    a = cand("z", price_min=2000, price_max=2500, replied_after_s=500.0)
    b = cand("a", price_min=3000, price_max=3000, replied_after_s=10.0)
    assert ids(rank([b, a], None)) == ["z", "a"]


def test_then_faster_reply_wins_over_vendor_id():
    a = cand("z", replied_after_s=100.0)
    b = cand("a", replied_after_s=200.0)
    assert ids(rank([b, a], None)) == ["z", "a"]


def test_then_vendor_id_decides():
    assert ids(rank([cand("b"), cand("a"), cand("c")], None)) == ["a", "b", "c"]


def test_a_full_tie_within_one_vendor_does_not_depend_on_input_order():
    a = cand("v", location_note="Gate A")
    b = cand("v", location_note="Gate B")
    assert rank([a, b], None) == rank([b, a], None)
    assert len(rank([a, b], None)) == 1


def test_missing_price_sorts_after_a_known_price_on_a_tie():
    a = cand("a", price_min=None, price_max=None)
    b = cand("b", price_min=9000, price_max=9000)
    assert ids(rank([a, b], None)) == ["b", "a"]


# --- rank: properties ----------------------------------------------------------------------------

vendor_ids = st.sampled_from([f"v{i}" for i in range(9)])
prices = st.one_of(st.none(), st.integers(min_value=0, max_value=20000))
candidates = st.builds(
    lambda vid, phone_from, av, lo, hi, conf, dist, delay, first, excl: cand(
        vid,
        vendor_phone=f"+2507880{int(phone_from[1:]):05d}",
        availability=av, price_min=lo, price_max=hi, confidence=conf, distance_km=dist,
        replied_after_s=delay, first_responder=first, excluded_reason=excl,
    ),
    vendor_ids,
    vendor_ids,  # usually another vendor's phone: exercises the one-phone-one-vendor rule
    st.sampled_from(["in_stock", "out_of_stock", "unclear", "??"]),
    prices,
    prices,
    # Few distinct values, so exact ties (where the tie-breaks matter) are common.
    st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(min_value=0, max_value=1)),
    st.one_of(st.none(), st.sampled_from([1.0, 4.0]), st.floats(min_value=0, max_value=20)),
    st.one_of(st.sampled_from([60.0, 900.0]), st.floats(min_value=0, max_value=4000)),
    st.booleans(),
    st.sampled_from([None, None, None, "suspicious"]),
)
budgets = st.one_of(st.none(), st.integers(min_value=0, max_value=20000))


@settings(max_examples=300, deadline=None)
@given(st.lists(candidates, max_size=14), budgets, st.integers(min_value=-1, max_value=9))
def test_rank_properties(cs, budget, limit):
    items = rank(cs, budget, limit=limit)
    vids = [s.candidate.vendor_id for s in items]
    phones = [s.candidate.vendor_phone for s in items]
    assert len(vids) == len(set(vids)) and len(phones) == len(set(phones))
    assert len(items) <= min(5, max(limit, 0))
    assert items == sorted(items, key=rank_key)
    assert all(s.candidate.excluded_reason is None for s in items)
    assert all(s == score(s.candidate, budget) for s in items)
    if any(s.candidate.availability == "out_of_stock" or s.score < 0 for s in items):
        assert all(s.candidate.availability == "out_of_stock" for s in items)


@settings(max_examples=200, deadline=None)
@given(st.lists(candidates, max_size=14), budgets, st.randoms(use_true_random=False))
def test_rank_is_invariant_to_input_order(cs, budget, rnd):
    shuffled = list(cs)
    rnd.shuffle(shuffled)
    assert rank(shuffled, budget) == rank(cs, budget)


# --- format --------------------------------------------------------------------------------------


def shortlist_of(*cs: Candidate) -> list[ScoredCandidate]:
    return rank(cs, 5000)


THREE = (
    cand("a", vendor_name="Pharmacie Kimironko", vendor_phone="+250788000101", price_min=3500,
         price_max=3500, confidence=0.9, location_note="Near Kimironko market"),
    cand("b", vendor_name="Duka Remera", vendor_phone="+250722000202", price_min=3000,
         price_max=4500, confidence=0.7, distance_km=None),
    cand("c", vendor_name="Nyamirambo Shop", vendor_phone="0738 000 303", price_min=None,
         price_max=None, availability="unclear", confidence=0.4, distance_km=1.5),
)

LANG_EXPECT = {
    "en": ["Here are the vendors we found for: paracetamol 500mg", "price not given", "in stock",
           "not confirmed", "Near Kimironko market (~3.0 km)", "about 1.5 km away"],
    "fr": ["Voici les vendeurs trouvés pour : paracetamol 500mg", "prix non communiqué", "en stock",
           "non confirmé", "Near Kimironko market (~3,0 km)", "à environ 1,5 km"],
    "rw": ["Dore abacuruzi twabonye ku byo mwasabye: paracetamol 500mg", "igiciro nticyatanzwe",
           "Birahari: yego", "Birahari: ntibyemejwe", "nko muri km 1.5"],
}


@pytest.mark.parametrize("language", ["en", "fr", "rw"])
def test_format_per_language(language):
    messages = format_shortlist(shortlist_of(*THREE), language=language, need="paracetamol 500mg")
    assert len(messages) == 1
    text = messages[0]
    for fragment in LANG_EXPECT[language]:
        assert fragment in text
    assert "3,500 RWF" in text and "3,000–4,500 RWF" in text
    links = LINK_IN_TEXT.findall(text)
    assert links == ["https://wa.me/250788000101", "https://wa.me/250722000202",
                     "https://wa.me/250738000303"]
    assert all(WA_RW_MOBILE.match(link) for link in links)
    # Numbered in rank order.
    positions = [text.index(f"{n}. {name}") for n, name in
                 enumerate(["Pharmacie Kimironko", "Duka Remera", "Nyamirambo Shop"], 1)]
    assert positions == sorted(positions)


def test_unknown_language_falls_back_to_english():
    assert format_shortlist(shortlist_of(*THREE), language="sw", need="x") == \
        format_shortlist(shortlist_of(*THREE), language="en", need="x")


def test_without_a_need_the_intro_is_generic():
    text = format_shortlist(shortlist_of(*THREE))[0]
    assert text.startswith("Here are the vendors we found:\n")


def test_format_numbers_in_rank_order_even_if_given_out_of_order():
    ranked = shortlist_of(*THREE)
    text = format_shortlist(list(reversed(ranked)))[0]
    assert text.index("1. Pharmacie Kimironko") < text.index("2. Duka Remera") < text.index("3. Nyamirambo")


def test_format_never_shows_an_excluded_vendor_or_one_twice():
    bad = cand("x", vendor_name="Scammer", excluded_reason="suspicious")
    good = score(THREE[0], 5000)
    text = "\n".join(format_shortlist([score(bad, 5000), good, good]))
    assert "Scammer" not in text and text.count("Pharmacie Kimironko") == 1


def test_nothing_to_format_gives_no_message():
    assert format_shortlist([]) == []


def test_long_names_still_fit_two_messages_and_items_are_never_split():
    huge = "Alimentation Générale " * 500
    cs = [cand(f"v{i}", vendor_name=f"{i}{huge}", location_note=huge, options=(huge, huge),
               vendor_phone=f"+25078800010{i}") for i in range(7)]
    for language in ("en", "fr", "rw"):
        messages = format_shortlist(rank(cs, None), language=language, need=huge)
        assert 1 <= len(messages) <= 2
        assert all(len(m) <= MAX_MESSAGE_CHARS for m in messages)
        for n in range(1, 6):
            # An item's header and its link sit in the same message.
            holders = [m for m in messages if re.search(rf"^{n}\. ", m, re.M)]
            assert len(holders) == 1
            message = "\n\n" + holders[0]
            block = message[message.index(f"\n\n{n}. "):].split("\n\n")[1]
            assert re.search(r"\nWhatsApp: https://wa\.me/2507\d{8}$", block)
        assert not any(re.search(r"^6\. ", m, re.M) for m in messages)


def test_pack_messages_splits_between_blocks_only():
    blocks = ["a" * 30, "b" * 30, "c" * 30]
    assert pack_messages(blocks, max_chars=70) == ["a" * 30 + "\n\n" + "b" * 30, "c" * 30]
    assert pack_messages(blocks, max_chars=200) == ["\n\n".join(blocks)]


def test_client_phone_never_appears():
    client = "+250788999999"
    c = cand("a", location_note="call my client on 0788 999 999",
             vendor_name="Shop 250788999999", options=("ask +250 788 999 999",))
    text = "\n".join(format_shortlist([score(c, None)], need=f"phone case for {client}"))
    digits = re.sub(r"\D", "", text)
    assert "788999999" not in digits
    assert LINK_IN_TEXT.findall(text) == [vendor_link(c.vendor_phone)]


def test_invalid_vendor_phone_gets_no_link():
    c = cand("a", vendor_phone="+2507880001")
    text = format_shortlist([score(c, None)])[0]
    assert "wa.me" not in text and "number unavailable" in text
    assert vendor_link("not a phone") is None
    assert vendor_link("0788 000 101") == "https://wa.me/250788000101"


@pytest.mark.parametrize("lo,hi,expected", [
    (3500, 3500, "3,500 RWF"), (3000, 4500, "3,000–4,500 RWF"), (4500, 3000, "3,000–4,500 RWF"),
    (None, 2000, "2,000 RWF"), (None, None, "price not given"), (-5, None, "price not given"),
])
def test_format_price(lo, hi, expected):
    assert format_price(dataclasses.replace(cand(), price_min=lo, price_max=hi)) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(candidates, max_size=10), st.sampled_from(["en", "fr", "rw", "xx"]),
       st.one_of(st.none(), st.text(max_size=300)))
def test_format_properties(cs, language, need):
    items = rank(cs, None)
    messages = format_shortlist(items, language=language, need=need)
    assert len(messages) <= 2 and all(len(m) <= MAX_MESSAGE_CHARS for m in messages)
    links = LINK_IN_TEXT.findall("\n".join(messages))
    assert links == [vendor_link(s.candidate.vendor_phone) for s in items]
    assert all(WA_RW_MOBILE.match(link) for link in links)
