"""Vendor reply parsing: the table of real-world replies, the whole-message intents, properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.replies import (
    AVAILABILITIES,
    ParsedReply,
    is_busy,
    is_client_cancel,
    is_vendor_stop,
    parse_vendor_reply,
)

VENDOR_PHONE = "+250788000101"
CASES = yaml.safe_load((Path(__file__).parents[1] / "data" / "reply_cases.yaml").read_text("utf-8"))["cases"]


def test_the_table_is_big_and_ids_are_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reply_table(case):
    got = parse_vendor_reply(case["text"], vendor_phone=case.get("vendor_phone", VENDOR_PHONE))
    want = case["expect"]
    shown = f"{case['text']!r} -> {got}"
    for field in ("availability", "price_min", "price_max", "busy", "stop", "suspicious"):
        if field in want:
            assert getattr(got, field) == want[field], f"{field}: {shown}"
    if "location" in want:
        if want["location"] is None:
            assert got.location_note is None, shown
        else:
            assert got.location_note is not None, shown
            assert want["location"].casefold() in got.location_note.casefold(), shown
    if "options" in want:
        assert [o.casefold() for o in got.options] == [o.casefold() for o in want["options"]], shown
    if "min_conf" in want:
        assert got.confidence >= want["min_conf"], shown
    if "max_conf" in want:
        assert got.confidence <= want["max_conf"], shown
    for warning in want.get("warnings", []):
        assert warning in got.warnings, shown
    for warning in want.get("no_warnings", []):
        assert warning not in got.warnings, shown


def test_to_dict_is_json_ready_with_lists():
    parsed = parse_vendor_reply("1 yes 2 15k-30k 3 near Remera 4 black or white")
    data = parsed.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["options"] == ["black", "white"]
    assert isinstance(data["warnings"], list)
    assert set(data) == set(ParsedReply.__dataclass_fields__)


def test_notes_never_carry_phone_numbers():
    parsed = parse_vendor_reply("1. yes 2. 5k 3. Remera, call 0788 999 888 4. red / 0788999888")
    assert "Remera" in parsed.location_note
    shown = json.dumps(parsed.to_dict())
    assert "999 888" not in shown and "0788999888" not in shown
    assert parsed.suspicious and (parsed.price_min, parsed.price_max) == (5000, 5000)


def test_parsing_is_deterministic():
    text = "Yego dufite 5000frw i Remera, colors: red, blue"
    assert parse_vendor_reply(text) == parse_vendor_reply(text)


def test_complete_numbered_answer_beats_bare_yes():
    complete = parse_vendor_reply("1. yes 2. 3,500 3. Kimironko market")
    bare = parse_vendor_reply("yes")
    assert complete.confidence > bare.confidence
    assert "no_price" in bare.warnings and "no_location" in bare.warnings


@pytest.mark.parametrize(
    "text", ["STOP", "stop", "Stop.", " stop ", "STOP!!", "unsubscribe", "UNSUBSCRIBE", "hagarika",
             "Hagarika.", "s t o p", "stop please", "🛑 STOP"],
)
def test_vendor_stop_words(text):
    assert is_vendor_stop(text)


@pytest.mark.parametrize(
    "text", ["stop by the shop at 5", "yes we have it", "", "stopped", "non-stop service 5k", "reka",
             "cancel", "we don't stop selling", "hagarika amabwiriza yose"],
)
def test_vendor_stop_needs_the_whole_message(text):
    assert not is_vendor_stop(text)


@pytest.mark.parametrize(
    "text", ["STOP", "cancel", "Cancel please", "annuler", "Annuler.", "arrêter", "ARRETER",
             "arrête", "hagarika", "Reka", "reka!", "cancel the request", "Please cancel"],
)
def test_client_cancel_words(text):
    assert is_client_cancel(text)


@pytest.mark.parametrize(
    "text", ["reka ndebe", "can I cancel later?", "I need a phone case", "", "don't cancel",
             "stop sending the red ones, I want blue"],
)
def test_client_cancel_needs_the_whole_message(text):
    assert not is_client_cancel(text)


@pytest.mark.parametrize(
    "text", ["busy", "I'm busy now", "occupé", "Je suis occupée", "ndahuze", "try later",
             "call me later", "Turahuze cyane"],
)
def test_busy(text):
    assert is_busy(text)


@pytest.mark.parametrize("text", ["yes we have it 15k", "later today we get new stock? maybe", "ok", ""])
def test_not_busy(text):
    assert not is_busy(text)


def _check_invariants(parsed: ParsedReply) -> None:
    assert parsed.availability in AVAILABILITIES
    assert 0.0 <= parsed.confidence <= 1.0
    for price in (parsed.price_min, parsed.price_max):
        assert price is None or (isinstance(price, int) and price >= 0)
    assert (parsed.price_min is None) == (parsed.price_max is None)
    if parsed.price_min is not None:
        assert parsed.price_min <= parsed.price_max
    assert all(isinstance(o, str) and o for o in parsed.options)
    json.dumps(parsed.to_dict())


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses(text):
    _check_invariants(parse_vendor_reply(text))


_FRAGMENTS = st.sampled_from(
    ["1.", "2)", "3", "4 -", "yes", "no", "not", "available", "oya", "yego", "ntayo", "15k", "-", "to",
     "30,000", "3 500", "rwf", "frw", "/=", "1.5k", "500mg", "0788 123 456", "+250788000101", "near",
     "Remera", "i", "hafi ya", "or", ",", "black", "64GB", "?", "maybe", "k", "mille", "ibihumbi",
     "9" * 12, "0.0", "1,5k", "\n", "STOP", "busy", "à", "💯", "1️⃣", "x2", "  "]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=14), st.sampled_from([" ", "", "\n"]))
def test_reply_shaped_text_keeps_invariants(parts, joiner):
    _check_invariants(parse_vendor_reply(joiner.join(parts), vendor_phone=VENDOR_PHONE))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=900), st.integers(min_value=1, max_value=900))
def test_k_ranges_in_either_order(a, b):
    parsed = parse_vendor_reply(f"1. yes 2. {a}k-{b}k 3. Remera")
    assert (parsed.price_min, parsed.price_max) == (min(a, b) * 1000, max(a, b) * 1000)
    assert ("price_range_inverted" in parsed.warnings) == (a > b)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=100, max_value=9_999_999))
def test_grouped_prices_read_back(value):
    text = f"yes we have it, {value:,} RWF"
    parsed = parse_vendor_reply(text)
    assert (parsed.price_min, parsed.price_max) == (value, value), text


def test_non_string_input_does_not_raise():
    assert parse_vendor_reply(None).availability == "unclear"  # type: ignore[arg-type]
    assert not is_vendor_stop(None)  # type: ignore[arg-type]
    assert not is_client_cancel(None)  # type: ignore[arg-type]
    assert not is_busy(None)  # type: ignore[arg-type]
