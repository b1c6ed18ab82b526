"""Fifth round (issue 20): the amount to pay named without the word total, a discount taken off a
total, the other engine's reading filling a field the kept one lacks, and a page read as garbage
read again (docs/ocr.md "Fifth round")."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ocr_second_reading_rules import LEX, page, total_of

from concierge.ocr_rules import analyse
from concierge.ocr_validation import ReadingPolicy, better_reading, reading_problems
from concierge.ports import OcrPage, OcrWord

money = st.integers(100, 999999)


def fmt(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


@pytest.mark.parametrize("label", ["AMOUNT PAYABLE", "Amount Payable RM", "NETT AMOUNT", "Net Amount :",
                                   "NET AMT", "Payable", "Net à payer"])
def test_the_amount_to_pay_is_found_without_the_word_total(label):
    # The item above is no payment: with it counted as one more item the arithmetic would disagree.
    assert total_of("Sugar 1kg 12.00", f"{label} 12.00", "CASH 20.00", "CHANGE 8.00")["value"] == 12


@settings(max_examples=150, deadline=None)
@given(money, st.sampled_from(["AMOUNT PAYABLE", "NETT AMOUNT", "NET AMT", "PAYABLE"]))
def test_a_payable_line_is_the_total_over_smaller_amounts(cents, label):
    got = total_of("Item 1.00", f"GST 6% {fmt(cents // 20)}", f"{label} {fmt(cents)}")
    assert round(float(got["value"]) * 100) == cents


def test_lines_that_are_no_amount_to_pay_stay_out():
    # "net weight" and a payee's name are no totals; a "due date" is a date.
    assert total_of("Net weight 500", "TOTAL 9.00")["value"] == 9
    assert total_of("Payee: ABC", "TOTAL 9.00", "Due date 12/03/2018")["value"] == 9


def test_a_discount_below_the_total_gives_the_amount_to_pay():
    assert total_of("Total Amount 265.00", "Discount 10.00", "Net Total 255.00")["value"] == 255
    # Without the discounted amount printed, nothing is invented.
    assert total_of("Total Amount 265.00", "Discount 10.00")["value"] == 265
    # A discount printed above the total is already in it.
    assert total_of("Discount 10.00", "Total 255.00", "Cash 300.00", "Change 45.00")["value"] == 255


@settings(max_examples=200, deadline=None)
@given(money, st.integers(1, 10000), st.sampled_from(["Discount", "Member Disc", "Less"]))
def test_total_after_a_discount_is_before_minus_the_discount(before, discount, label):
    discount = min(discount, before - 1)
    got = total_of(f"TOTAL AMOUNT {fmt(before)}", f"{label} {fmt(discount)}", f"NET TOTAL {fmt(before - discount)}")
    assert round(float(got["value"]) * 100) == before - discount


# --- the other engine's reading -----------------------------------------------------------------

def general_of(kept: OcrPage, other: OcrPage) -> dict:
    return analyse(replace(kept, other_reading=other), None, LEX).general


KEPT = ("SHOP SDN BHD", "RECEIPT", "Date: 12/03/2018", "Sugar 3.00", "TOTAL 3.00", "CASH 5.00", "CHANGE 2.00")


def test_a_field_the_kept_reading_lacks_is_taken_from_the_other_reading():
    no_date = page(*(line for line in KEPT if "Date" not in line))
    got = general_of(no_date, page(*KEPT))
    assert got["date"]["value"] == "12/03/2018" and got["date"]["provenance"].startswith("other reading (test)")
    no_total = page("SHOP SDN BHD", "RECEIPT", "Date: 12/03/2018", "T0TAI ...")
    assert general_of(no_total, page(*KEPT))["total"]["value"] == 3


def test_a_confirmed_total_in_the_other_reading_beats_an_unconfirmed_one():
    unconfirmed = page("SHOP SDN BHD", "Date: 12/03/2018", "Sugar 3.00", "TOTAL 8.00")
    assert "confirmed" not in analyse(unconfirmed, None, LEX).general["total"]["provenance"]
    got = general_of(unconfirmed, page(*KEPT))
    assert got["total"]["value"] == 3 and "confirmed by" in got["total"]["provenance"]
    # Both unconfirmed: the kept reading's stands.
    assert general_of(unconfirmed, page("SHOP", "TOTAL 9.00"))["total"]["value"] == 8


@settings(max_examples=150, deadline=None)
@given(money, money)
def test_a_confirmed_total_and_a_found_date_are_never_replaced(kept_cents, other_cents):
    kept = page("SHOP SDN BHD", "Date: 12/03/2018", f"Sugar {fmt(kept_cents)}", f"TOTAL {fmt(kept_cents)}")
    other = page("SHOP SDN BHD", "Date: 01/01/2019", f"Sugar {fmt(other_cents)}", f"TOTAL {fmt(other_cents)}")
    got = general_of(kept, other)
    assert round(float(got["total"]["value"]) * 100) == kept_cents and got["date"]["value"] == "12/03/2018"


# --- a page read as garbage ---------------------------------------------------------------------

GARBAGE = page("TR W, SR Ny 3 - b", "e fvid) 1 A= B drg i", "! O o O Y BREERED", "SNy WY s &4 R", conf=0.25)


def test_a_page_read_as_garbage_is_read_again():
    assert reading_problems(GARBAGE, LEX) == ("unreadable",)
    # The same words read confidently are a page that says something else (a product label): left alone.
    assert reading_problems(page(*GARBAGE.lines, conf=0.9), LEX) == ()
    assert reading_problems(GARBAGE, LEX, ReadingPolicy(min_readable_confidence=0.2)) == ()


def test_a_garbage_page_is_replaced_only_by_a_receipt():
    receipt = page(*KEPT)
    assert better_reading(GARBAGE, ("unreadable",), receipt, reading_problems(receipt, LEX)) == 1
    label = page("ACME", "Model X-200", "Made in Kenya", "Batch 42 500 ml")
    assert better_reading(GARBAGE, ("unreadable",), label, reading_problems(label, LEX)) == 0


def test_a_prescription_read_with_low_confidence_is_never_read_again():
    rx = OcrPage(tuple(OcrWord(w, 0.3, n) for n, line in enumerate(
        ("KIMIRONKO HEALTH CENTRE", "PRESCRIPTION", "Rx", "1. Amoxicillin 500mg capsules #21")) for w in line.split()),
        "test")
    assert reading_problems(rx, LEX) == ()


# --- a total and its payment on one row ---------------------------------------------------------

def test_a_payment_on_the_total_row_is_not_the_total():
    assert total_of("Qty 10 Total RM 250.00 Cash RM 300.00 Change RM 50.00")["value"] == 250
    # "Total Paid" names the total: the payment word before any amount starts nothing.
    assert total_of("GRAND TOTAL RM 2,450.00", "Total Paid 2,450.00")["value"] == 2450


@settings(max_examples=200, deadline=None)
@given(money, st.integers(0, 100000), st.sampled_from(["CASH", "Tendered", "Card", "Paid"]))
def test_total_cash_and_change_on_one_row_give_the_total(total, change, word):
    row = f"TOTAL {fmt(total)} {word} {fmt(total + change)} CHANGE {fmt(change)}"
    assert round(float(total_of(row)["value"]) * 100) == total
