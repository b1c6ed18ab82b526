"""Total rules from the even-id receipt misses: a space read after a decimal point, and the amount
paid (cash tendered - change) over an unconfirmed total within one unit of it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.drugs import DrugLexicon
from concierge.ocr_rules import analyse
from concierge.ocr_validation import reading_problems
from concierge.ports import OcrPage, OcrWord

LEX = DrugLexicon.default()


def page(*lines, conf=0.95):
    words = [OcrWord(w, conf, n) for n, line in enumerate(lines) for w in line.split()]
    return OcrPage(tuple(words), "test")


def total_of(*lines):
    return analyse(page("SHOP SDN BHD", *lines), None, LEX).general.get("total")


@pytest.mark.parametrize("lines, want", [
    # a space after the point: the cents stay cents
    (("Total Qty: 8", "TOTAL 62. 80"), 62.8),
    (("Subtotal 59. 31", "GST 3.49", "TOTAL 62. 80", "CASH 62. 80"), 62.8),
    # the total line misread by a digit; cash and change give the amount paid
    (("Total (RM) : 112.46", "CASH : 112.45", "Change (RM) : 0.00"), 112.45),
    (("Total Sales RM 20.90", "CASH RM 21.00", "CHANGE RM .20"), 20.8),
    # printed before the cash rounding, the adjustment misread
    (("Total Sales RM 72.74", "Rounding Adjustment RM 01", "CASH RM 100.00", "CHANGE RM 27.25"), 72.75),
    # a total the arithmetic confirms is never replaced by the payment
    (("Subtotal 10.00", "Tax 0.60", "Total 10.60", "Cash 10.65", "Change 0.00"), 10.6),
    # more than one unit away: no misread, keep the total
    (("Total 50.00", "Cash 100.00", "Change 48.00"), 50),
    # no change line: cash alone says nothing about a misread
    (("Total 50.10", "Cash 50.00"), 50.1),
])
def test_total_table(lines, want):
    assert total_of(*lines)["value"] == want


def test_a_total_replaced_by_the_amount_paid_needs_no_second_reading():
    p = page("SHOP SDN BHD", "RECEIPT", "Date 12/02/2018", "Total (RM) : 112.46", "CASH : 112.45", "Change : 0.00")
    assert reading_problems(p, LEX) == ()


@settings(max_examples=200, deadline=None)
@given(st.integers(100, 99999), st.integers(1, 99), st.integers(0, 5000))
def test_paid_amount_wins_over_an_unconfirmed_total_under_one_unit_away(total, gap, change):
    paid = total + gap
    lines = (f"Total {total / 100:.2f}", f"Cash {(paid + change) / 100:.2f}", f"Change {change / 100:.2f}")
    got = total_of(*lines)["value"]
    assert round(float(got) * 100) == paid


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 99999), st.integers(0, 99))
def test_space_after_the_point_reads_the_same_amount(units, cents):
    assert total_of(f"TOTAL {units}. {cents:02d}")["value"] == total_of(f"TOTAL {units}.{cents:02d}")["value"]
