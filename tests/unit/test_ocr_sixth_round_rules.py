"""Sixth round (issue 20): a total whose decimal point an engine lost, on a page that prints cents
(docs/ocr.md "Sixth round")."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ocr_second_reading_rules import total_of

from concierge.ocr_amounts import amounts_read, prints_cents


def fmt(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@pytest.mark.parametrize("printed, value", [("820", 8.2), ("33230", 332.3), ("1040", 10.4), ("700", 7)])
def test_a_total_without_its_point_on_a_page_with_cents_is_read_with_it(printed, value):
    got = total_of("Rice 5.50", "Pork 2.70", "GST 0.46", f"Total Amount: {printed}")
    assert got["value"] == value


def test_a_page_in_whole_francs_keeps_its_whole_total():
    # No amount with cents: Rwandan francs have none, "12,500" is twelve thousand five hundred.
    assert total_of("Isukari 1kg 1,500", "Amata 11,000", "TOTAL 12,500 FRW")["value"] == 12500
    assert total_of("Item 5.50", "Item 2.70", "TOTAL 820")["value"] == 820  # two amounts with cents only


def test_small_whole_totals_and_totals_with_cents_stay_as_printed():
    lines = ("Rice 5.50", "Pork 2.70", "GST 0.46")
    assert total_of(*lines, "TOTAL 9")["value"] == 9
    assert total_of(*lines, "TOTAL 820.00")["value"] == 820


def test_which_amounts_carry_decimals():
    assert amounts_read("rm 9.00 12,500 12,50 820") == [(9.0, True), (12500.0, False), (12.5, True), (820.0, False)]
    assert prints_cents(["a 1.00", "b 2.00 c 3.00"])
    assert not prints_cents(["a 1,000", "b 2,000 c 3.00"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 99999), min_size=3, max_size=6), st.booleans())
def test_the_total_is_the_same_with_or_without_its_point(item_cents, point_lost):
    # Whatever the items, a total printed "8.20" and one read "820" give the same amount (>= 1.00,
    # so the lost point leaves at least three digits); a printed point is never moved.
    cents = max(100, sum(item_cents))
    printed = fmt(cents).replace(".", "") if point_lost else fmt(cents)
    got = total_of(*(f"Item{i} {fmt(c)}" for i, c in enumerate(item_cents)), f"TOTAL {printed}")
    assert round(float(got["value"]) * 100) == cents


@pytest.mark.parametrize("word", ["T0TAL", "TATAL", "Tolal", "TORAL", "IOTAL(Including GST)", "TOTA1", "Tata!"])
def test_a_misread_total_word_still_names_the_total(word):
    assert total_of("Rice 5.50", "Pork 2.70", f"{word} 8.20", "CASH 10.00", "CHANGE 1.80")["value"] == 8.2


def test_words_that_only_look_like_total_do_not_name_one():
    # "TITLE", "METAL" and "HOTEL" share letters with TOTAL but are no OCR reading of it.
    assert total_of("TITLE 99.00", "METAL 50.00", "HOTEL 70.00", "TOTAL 8.20")["value"] == 8.2
