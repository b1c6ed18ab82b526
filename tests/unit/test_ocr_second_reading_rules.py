"""Rules for text a second engine (RapidOCR) gives: dropped spaces, dates glued to times and numbers;
the total rules for rounding, "due", lost decimal points, a space after the point and the amount
paid; when a reading is read again."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.drugs import DrugLexicon
from concierge.ocr_amounts import parse_amount
from concierge.ocr_dates import parse_date, unglue_time
from concierge.ocr_rules import analyse
from concierge.ocr_validation import (
    ReadingPolicy,
    better_reading,
    is_receipt_like,
    reading_problems,
)
from concierge.ports import OcrPage, OcrWord
from simulators.ocr_boxes import page_from_boxes, rows_of

LEX = DrugLexicon.default()


def page(*lines, conf=0.95):
    words = [OcrWord(w, conf, n) for n, line in enumerate(lines) for w in line.split()]
    return OcrPage(tuple(words), "test")


def total_of(*lines):
    return analyse(page("SHOP SDN BHD", *lines), None, LEX).general.get("total")


@pytest.mark.parametrize("text, printed, iso", [
    ("20/04/201819:15", "20/04/2018", "2018-04-20"),
    ("DATE:05-02-1810:01", "05-02-18", "2018-02-05"),
    ("Date20/04/2018", "20/04/2018", "2018-04-20"),
    ("2018-04-2019:15", "2018-04-20", "2018-04-20"),
    ("05Mar201818:24", "05Mar2018", "2018-03-05"),
    ("Order No. 100021911/03/201806:20PM", "11/03/2018", "2018-03-11"),
    ("03/06/2017 10:11", "03/06/2017", "2017-06-03"),
])
def test_dates_glued_to_times_and_numbers_are_read(text, printed, iso):
    assert parse_date(text) == (printed, iso)


@pytest.mark.parametrize("text", ["Tel 0312345678/9", "INV 1234567/2018", "TEL03-12345", "12:30:45"])
def test_numbers_that_are_no_date_stay_no_date(text):
    assert parse_date(text) is None


dates = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2099, 12, 31))
times = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


@settings(max_examples=300, deadline=None)
@given(dates, times, st.sampled_from(["/", "-", "."]), st.sampled_from(["", " ", "DATE:", "Date "]))
def test_a_day_first_date_glued_to_its_time_is_that_date(day, time, sep, label):
    text = f"{label}{day.day:02d}{sep}{day.month:02d}{sep}{day.year}{time}"
    assert parse_date(text)[1] == day.isoformat()


@settings(max_examples=200, deadline=None)
@given(dates, times, st.integers(1000, 99999999))
def test_a_number_glued_before_a_date_does_not_change_the_date(day, time, number):
    text = f"Bill {number}{day.day:02d}/{day.month:02d}/{day.year}{time}"
    assert parse_date(text)[1] == day.isoformat()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789/-.: ADTE", max_size=30))
def test_unglue_only_inserts_spaces(text):
    assert unglue_time(text).replace(" ", "") == text.replace(" ", "")


def test_leading_dot_amount_is_under_one_unit():
    assert parse_amount(".01") == 0.01
    assert total_of("TOTAL SALES (INCLUSIVE GST) RM 45.34", "ROUNDING ADJUSTMENT RM .01",
                    "ROUNDING RM 45.35", "CREDIT RM 45.35", "CHANGE RM .00")["value"] == 45.35


def test_the_rounded_total_is_taken_over_the_amount_before_rounding():
    got = total_of("Sub Total 72.74", "Total 72.74", "Rounding Adj 0.01", "Total Rounded 72.75", "Cash 100.00")
    assert got["value"] == 72.75
    # Without a printed rounded amount, nothing is invented.
    assert total_of("Total 72.74", "Rounding Adj 0.01")["value"] == 72.74


@settings(max_examples=200, deadline=None)
@given(st.integers(100, 100000), st.integers(1, 4), st.booleans())
def test_rounded_total_is_before_plus_or_minus_the_adjustment(before, r, up):
    rounded = before + r if up else before - r
    got = total_of(f"TOTAL {before / 100:.2f}", f"ROUNDING ADJ {'' if up else '-'}{r / 100:.2f}",
                   f"NETT {rounded / 100:.2f}")
    assert round(float(got["value"]) * 100) == rounded


def test_due_alone_is_the_total_and_tax_included_is_not():
    got = total_of("QTY 8 25.15", "ROUNDING ADJ - 0.00", "DUE 25.15", "PAY 25.15", "CHANGE 0.00",
                   "(TOTAL INCLUDED GST @ 6% : 1.42)")
    assert got["value"] == 25.15
    assert total_of("Due date 12/03/2018", "TOTAL 9.00")["value"] == 9.00


def test_a_total_with_its_decimal_point_lost_loses_to_the_correct_one():
    assert total_of("Total 343.95", "Grand Total 34395")["value"] == 343.95
    assert total_of("Total 34395", "Total 343.95")["value"] == 343.95


def test_cash_tendered_is_not_the_total():
    assert total_of("TOTAL 12.15", "CASH TENDERED 50.00", "CHANGE 37.85")["value"] == 12.15


def test_boxes_join_into_rows_left_to_right():
    boxes = [(100, 120, 300, "9.00", 0.9), (102, 118, 10, "TOTAL", 0.8), (10, 30, 10, "SHOP SDN BHD", 0.95)]
    assert [[b[3] for b in row] for row in rows_of(boxes)] == [["SHOP SDN BHD"], ["TOTAL", "9.00"]]
    assert page_from_boxes(boxes, "x").lines == ["SHOP SDN BHD", "TOTAL 9.00"]


RECEIPT = ("SHOP SDN BHD", "Date: 12/03/2018", "Sugar 3.00", "TOTAL 3.00", "CASH 5.00", "CHANGE 2.00")


def test_a_good_receipt_reading_needs_no_second_one():
    assert reading_problems(page(*RECEIPT), LEX) == ()


def test_what_triggers_a_second_reading():
    assert reading_problems(page("SHOP"), LEX) == ("empty_page",)
    assert "low_confidence" in reading_problems(page(*RECEIPT, conf=0.4), LEX)
    no_date = [line for line in RECEIPT if "Date" not in line]
    assert reading_problems(page(*no_date), LEX) == ("no_date",)
    assert "no_total" in reading_problems(page("SHOP SDN BHD", "Date: 12/03/2018", "cash receipt", "thank you"), LEX)
    # A prescription or a product photo has no total to look for.
    rx = page("KIMIRONKO HEALTH CENTRE", "PRESCRIPTION", "Rx", "1. Amoxicillin 500mg capsules #21",
              "Sig: Take 1 three times daily")
    assert not is_receipt_like(rx) and reading_problems(rx, LEX) == ()
    strict = ReadingPolicy(min_mean_confidence=0.99)
    assert reading_problems(page(*RECEIPT), LEX, strict) == ("low_confidence",)


def test_the_reading_with_fewer_problems_is_kept_and_an_empty_one_never_wins():
    first, second = page(*RECEIPT), page("x")
    assert better_reading(first, ("no_date",), second, ("empty_page",)) == 0
    assert better_reading(first, ("no_date", "no_total"), second, ()) == 1
    assert better_reading(first, (), second, ("no_date",)) == 0


# A space read after a decimal point, and the amount paid (cash tendered - change) over an
# unconfirmed total within one unit of it.
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
def test_paid_and_spaced_point_totals(lines, want):
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
