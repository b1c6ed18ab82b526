import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from concierge.drugs import DrugLexicon
from concierge.ocr_amounts import amounts_in, amounts_read, parse_amount, prints_cents
from concierge.ocr_arithmetic import receipt_amounts, receipt_relations
from concierge.ocr_classify import classify
from concierge.ocr_dates import date_line_candidates, fix_digit_run, month_number, parse_date
from concierge.ocr_fields import OcrAnalysis
from concierge.ocr_rules import analyse
from concierge.ports import OcrPage, OcrWord

LEX = DrugLexicon.default()


def page(*lines, conf=0.95, confs=None):
    """An OcrPage from text lines; ``confs`` maps a word to its own confidence."""
    words = []
    for n, line in enumerate(lines):
        for w in line.split():
            words.append(OcrWord(w, (confs or {}).get(w, conf), n))
    return OcrPage(tuple(words), "test")


RX = ("KIMIRONKO HEALTH CENTRE", "PRESCRIPTION Date: 03/10/2024", "Patient: E. Uwase Age: 34", "Rx",
      "1. Amoxicillin 500mg capsules #21", "Sig: Take 1 three times daily for 7 days",
      "2. Paracetamol 500 mg tablets Qty: 20", "Prescriber: Dr. J. Habimana")


def test_classify_medical_by_text_or_caption_else_general():
    assert classify("\n".join(RX), None) == "medical_prescription"
    assert classify("Samsung Galaxy A15 case\nModel SM-A155", None) == "general"
    assert classify("Samsung Galaxy A15 case", "my doctor's prescription") == "medical_prescription"
    assert classify("PHARMA PLUS LTD\nINVOICE\nAmoxicillin 500mg caps 2 1,500 3,000\nTOTAL 3,000", None) == "general"
    assert classify("", None) == "general"


def test_a_clear_prescription_proceeds_with_every_field_and_its_provenance():
    result = analyse(page(*RX), None, LEX)
    assert result.type == "medical_prescription" and result.next_action == "proceed"
    assert result.warnings == () and result.question is None
    assert result.need_text == "Amoxicillin 500mg capsules x21; Paracetamol 500mg tablets x20"
    first = result.items[0]
    assert first.drug_name.value == "Amoxicillin" and first.drug_name.confidence >= 0.9
    assert first.drug_name.provenance.startswith("ocr:line 5 words 2-2") and "lexicon" in first.drug_name.provenance
    assert first.instructions.value == "Take 1 three times daily for 7 days"
    assert result.to_dict()["items"][1]["quantity"]["value"] == 20


def test_a_brand_name_stays_as_printed():
    result = analyse(page("Rx", "1. Panadol 500mg tablets x20"), None, LEX)
    assert result.items[0].drug_name.value == "Panadol" and result.next_action == "proceed"


def test_a_misread_drug_name_lowers_confidence_and_asks_quoting_what_was_read():
    result = analyse(page("Rx", "1. Arnoxicilin 500mg capsules #21"), None, LEX)
    assert "uncertain_drug_name" in result.warnings and result.next_action == "ask_client"
    assert result.items[0].drug_name.confidence < 0.75
    assert '"1. Arnoxicilin 500mg capsules #21"' in result.question
    assert "Amoxicillin" not in result.question  # never suggests a substitute
    assert result.need_text is None


def test_one_slip_in_a_long_name_is_read_as_that_name_and_said_so():
    result = analyse(page("Rx", "1. Amoxcillin 500mg capsules #21"), None, LEX)
    drug = result.items[0].drug_name
    assert drug.value == "Amoxicillin" and 0.75 <= drug.confidence < 0.9
    assert "lexicon Amoxicillin" in drug.provenance and result.next_action == "proceed"


def test_a_reading_close_to_two_drugs_asks():
    lex = DrugLexicon({"Amoxicillin": [], "Ampicillin": []})
    result = analyse(page("Rx", "1. Amopicillin 500mg capsules #21"), None, lex)
    assert result.items[0].drug_name.confidence <= 0.5 and result.next_action == "ask_client"


def test_low_word_confidence_on_the_drug_asks_even_when_spelt_right():
    result = analyse(page("Rx", "1. Metformin 850mg tablets x30", confs={"Metformin": 0.6}), None, LEX)
    assert result.warnings[0] == "uncertain_drug_name" and result.next_action == "ask_client"


def test_missing_or_unclear_dose_and_quantity_ask():
    no_dose = analyse(page("Rx", "1. Amoxicillin capsules #21"), None, LEX)
    assert "unclear_dose" in no_dose.warnings and no_dose.next_action == "ask_client"
    no_qty = analyse(page("Rx", "1. Amoxicillin 500mg capsules"), None, LEX)
    assert "unclear_quantity" in no_qty.warnings and no_qty.next_action == "ask_client"
    blurry = analyse(page("Rx", "1. Amoxicillin 500mg capsules #21", confs={"#21": 0.4}), None, LEX)
    assert "unclear_quantity" in blurry.warnings


def test_low_overall_confidence_asks():
    result = analyse(page("Rx", "1. Amoxicillin 500mg capsules #21", conf=0.5), None, LEX)
    assert "low_confidence" in result.warnings and result.confidence < 0.7
    assert result.next_action == "ask_client"


def test_no_text_asks_the_client():
    result = analyse(OcrPage((), "test"), "prescription", LEX)
    assert result.warnings == ("no_text",) and result.next_action == "ask_client"
    assert result.question and result.type == "medical_prescription"


def test_a_prescription_without_any_medicine_asks():
    result = analyse(page("PRESCRIPTION", "Patient: A. B.", "Rx", "illegible scrawl"), None, LEX)
    assert result.next_action == "ask_client" and result.items == ()


INVOICE = ("PHARMA PLUS LTD", "TIN: 123456789 Tel: 0788 123 456", "INVOICE No. 4411", "Date: 12/03/2024",
           "Item Qty Price Amount", "Amoxicillin 500mg caps 2 1,500 3,000", "ORS sachets 3 300 900",
           "SUBTOTAL 3,900", "VAT 0", "TOTAL RWF 3,900")


def test_invoice_company_date_lines_and_total():
    result = analyse(page(*INVOICE), None, LEX)
    g = result.general
    assert result.type == "general" and result.next_action == "proceed"
    assert g["company"]["value"] == "PHARMA PLUS LTD" and g["date"]["value"] == "12/03/2024"
    assert g["total"]["value"] == 3900
    assert [(i["name"], i["quantity"], i["price"]) for i in g["line_items"]] == [
        ("Amoxicillin 500mg caps", 2, 1500.0), ("ORS sachets", 3, 300.0)]
    assert "Amoxicillin" in g["drugs"]


def test_product_label_brands_models_quantities():
    result = analyse(page("TECNO", "Fast Charger 18W", "Model: T18C", "Qty: 2"), None, LEX)
    g = result.general
    assert "TECNO" in g["brands"] and "T18C" in g["models"] and "Qty: 2" in g["quantities"]
    assert result.need_text.startswith("TECNO")


def test_parse_amount():
    assert parse_amount("12,500") == 12500 and parse_amount("9.00") == 9.0
    assert parse_amount("RM9.00") == 9.0 and parse_amount("$8.20") == 8.2
    assert parse_amount("1.500.000") == 1500000 and parse_amount("abc") is None


@pytest.mark.parametrize("line, printed, iso", [
    ("Date: 25/12/2018 10:32", "25/12/2018", "2018-12-25"),
    ("25-12-18", "25-12-18", "2018-12-25"),
    ("2018-12-25", "2018-12-25", "2018-12-25"),
    ("25.12.2018", "25.12.2018", "2018-12-25"),
    ("12/25/2018", "12/25/2018", "2018-12-25"),  # day-first impossible, month-first is a date
    ("25 Dec 2018", "25 Dec 2018", "2018-12-25"),
    ("25-Dec-18", "25-Dec-18", "2018-12-25"),
    ("DEC 25, 2018", "DEC 25, 2018", "2018-12-25"),
    ("le 3 mars 2025", "3 mars 2025", "2025-03-03"),
    ("Date: 2O18-O1-O5", "2018-01-05", "2018-01-05"),  # O read for 0 inside a digit run
    ("l2/O3/2024", "12/03/2024", "2024-03-12"),
    ("05/S1/2018 1S/03/2018", "15/03/2018", "2018-03-15"),  # first is impossible (month 51)
    ("Date: 07/77/2024 Due 01/02/2024", "01/02/2024", "2024-02-01"),
    ("26 0CT 2018 07:36:45", "26 OCT 2018", "2018-10-26"),  # zero read for O inside a month name
    ("N0V 5, 2019", "NOV 5, 2019", "2019-11-05"),
    ("1 Apri1 2020", "1 April 2020", "2020-04-01"),
    ("12 5ep 2020", "12 sep 2020", "2020-09-12"),
])
def test_parse_date_formats_and_digit_lookalikes(line, printed, iso):
    assert parse_date(line) == (printed, iso)


@pytest.mark.parametrize("line", ["31/02/2024", "SOS/IS/lO", "Tel 0788 123 456", "INVOICE No. 4411",
                                  "1.500.000", "10:32:05", "Total 12.50", "", "May the best win"])
def test_parse_date_rejects_what_is_no_calendar_date(line):
    assert parse_date(line) is None


@pytest.mark.parametrize("lines, wanted", [
    (["SHOP LTD", "No: 45217 92.06.2017", "TOTAL 5.00"], [1]),   # day 92: date-shaped, not a date
    (["SHOP LTD", "No: 61588 17,11.2017"], [1]),                  # a dot read as a comma
    (["Dater 498 40 20:58", "Cement 19.50"], [0]),                # a misread label
    (["Date: 12/03/2024", "92.06.2017"], []),                     # the page has a date: nothing to do
    (["Total 1,234.56", "Tel 0788 123 456", "12:39:27"], []),     # amounts, phones and times are not
    (["Date ?", "Tarikh ?", "Itariki ?"], [0, 1]),                # at most `limit` lines
    ([], []),
])
def test_lines_worth_a_second_read_for_the_date(lines, wanted):
    assert date_line_candidates(lines) == wanted


@pytest.mark.parametrize("token, month", [("Oct", 10), ("0CT", 10), ("n0v", 11), ("JU1", 7), ("ju1y", 7),
                                          ("5EP", 9), ("10", None), ("0", None), ("Total", None), ("", None)])
def test_month_names_survive_digits_read_for_letters(token, month):
    assert month_number(token) == month


@settings(max_examples=200)
@given(st.data())
def test_a_month_name_with_some_letters_read_as_digits_is_still_that_month(data):
    from concierge.ocr_dates import _MONTHS

    name = data.draw(st.sampled_from(sorted(_MONTHS)))
    lookalike = {"o": "0", "s": "5", "i": "1", "l": "1"}
    swaps = [data.draw(st.booleans()) and c in lookalike for c in name]
    misread = "".join(lookalike[c] if swap else c for c, swap in zip(name, swaps, strict=True))
    if not any(c.isalpha() for c in misread):
        assert month_number(misread) is None  # a number never becomes a month
    else:
        assert month_number(misread.upper()) == _MONTHS[name]


@pytest.mark.parametrize("token, fixed", [("2O18", "2018"), ("l2", "12"), ("1S", "15"), ("|0", "10"),
                                          ("SOS", None), ("IS", None), ("12a", None), ("", None)])
def test_lookalike_letters_become_digits_only_inside_digit_runs(token, fixed):
    assert fix_digit_run(token) == fixed


@pytest.mark.parametrize("text, amounts", [
    # Letters read for digits, in a word of lookalikes only beside a digit: fixed.
    ("total 1o.50", [10.5]), ("l2.00", [12]), ("9.0o", [9]), ("1oo.00", [100]), ("|0", [10]), ("2o18", [2018]),
    # A currency or TOTAL glued to the amount (spaces dropped) is a word of its own.
    ("rml0.00", [10]), ("totall0.00", [10]), ("subtotal:l0.00", [10]),
    # A letter of a longer word is the word's, never a digit: TOTAL0 is TOTAL and 0.
    ("total0", [0]), ("tota10", [10]), ("rm10", [10]), ("sol0", [0]), ("loa5", [5]), ("no5", [5]),
])
def test_lookalike_letters_are_digits_only_in_a_word_of_their_own(text, amounts):
    assert amounts_in(text) == amounts


@pytest.mark.parametrize("line, total", [
    ("TOTAL0", 0), ("TOTAL 1O.50", 10.5), ("TOTAL l2.00", 12), ("TOTALl0.00", 10), ("TOTAL RMl0.00", 10),
    ("TOTAL 1OO.00", 100),
    # digits that only look like a misread TOTAL ("10RA1" read as T-O-T-A-L) name no total
    ("10RA10", None), ("T0TAL 5.00", 5), ("TOTA1 5.00", 5), ("1OTAL 5.00", 5),
])
def test_a_total_takes_no_letter_from_its_keyword_and_no_digit_for_one(line, total):
    assert _total_of("SHOP LTD", line) == total


def test_a_labelled_date_beats_an_earlier_unlabelled_one():
    g = analyse(page("SHOP LTD", "Promo valid 01/01/2030", "Date: 12/03/2024", "TOTAL 5.00"), None, LEX).general
    assert g["date"]["value"] == "12/03/2024" and "2024-03-12" in g["date"]["provenance"]


@pytest.mark.parametrize("head, company", [
    (("ABC TRADING SDN. BHD. (123456-X)", "NO 1 JALAN 2"), "ABC TRADING SDN. BHD."),
    (("XYZ SDN.BHD CO. REG 1234-A",), "XYZ SDN.BHD"),
    (("www.example.com", "PHARMA PLUS LTD"), "PHARMA PLUS LTD"),
    (("GOOD STORE 12345",), "GOOD STORE 12345"),  # a bare number may be part of the name: kept
])
def test_company_suffix_line_without_its_registration_number(head, company):
    g = analyse(page(*head, "TOTAL 5.00"), None, LEX).general
    assert g["company"]["value"] == company


def _total_of(*lines):
    return (analyse(page(*lines), None, LEX).general.get("total") or {}).get("value")


@pytest.mark.parametrize("lines, total", [
    (("SUBTOTAL 8.90", "GST 6% 0.53", "TOTAL 9.43"), 9.43),
    (("TOTAL 9.43", "ROUNDING ADJ 0.02", "ROUNDED TOTAL 9.45"), 9.45),
    (("TOTAL SALES (EXCL GST) 8.90", "TOTAL GST 0.53", "TOTAL (INCL GST) 9.43"), 9.43),
    (("Total Qty 3", "NET TOTAL 12.00", "CASH 20.00", "CHANGE 8.00"), 12),
    (("Item total 5.00", "GRAND TOTAL 5.50", "Total 6.00 points"), 5.5),
    (("AMOUNT DUE RM 7.20",), 7.2),
    (("TOTAL (RM): 15.90",), 15.9),
    (("TOTAL", "RM 6 00"), 6),  # amount on the next line, decimal point read as a space
    (("TOTAL 6 00",), 6),
    (("TOTAL 9.0O",), 9),  # O read for 0 inside the amount
    (("JUMLAH 23.50",), 23.5),
    (("MONTANT TOTAL 12 500 FRW", "TVA 1 800"), 12500),  # space groups thousands (French)
    (("TOTAL 1 234 50",), 1234.5),
    (("Igiteranyo cyose 4,500",), 4500),
    (("Montant 3,000",), 3000),
    (("TOTAL", "THANK YOU 2024"), None),  # next line is words, not an amount
    (("SUBTOTAL 10.00", "TAX 1.00"), 10),  # last resort: nothing better printed
    (("Total Qty 2   Total 9.00",), 9),  # two columns read as one line
    (("Total 9.00   Total Items 3",), 9),
])
def test_total_rules(lines, total):
    assert _total_of("SHOP LTD", *lines) == total


words = st.builds(
    OcrWord,
    text=st.one_of(st.text(max_size=15), st.sampled_from(["Rx", "1.", "Amoxicillin", "500mg", "x21",
                                                           "Qty:", "TOTAL", "12/03/2024", "3,000"])),
    confidence=st.floats(min_value=0, max_value=1),
    line=st.integers(min_value=0, max_value=8),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(words, max_size=30), st.one_of(st.none(), st.text(max_size=20)))
def test_analyse_never_raises_and_always_answers_safely(ws, caption):
    result = analyse(OcrPage(tuple(ws), "fuzz"), caption, LEX)
    assert isinstance(result, OcrAnalysis) and result.next_action in ("ask_client", "proceed")
    assert 0.0 <= result.confidence <= 1.0
    if result.next_action == "proceed":
        assert result.need_text and not result.warnings
        assert all(i.drug_name.confidence >= 0.75 for i in result.items)
    else:
        assert result.question
    result.to_dict()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789OolIS|/-.,: DecMarTOTALrm"), max_size=40) | st.text(max_size=40))
def test_date_and_amount_parsers_never_raise(text):
    hit = parse_date(text)
    assert hit is None or (isinstance(hit[0], str) and len(hit[1]) == 10)
    amount = parse_amount(text)
    assert amount is None or amount >= 0
    fixed = fix_digit_run(text)
    assert fixed is None or fixed.isdigit()
    assert isinstance(analyse(page(text, "TOTAL " + text), None, LEX), OcrAnalysis)


# --- receipt arithmetic -----------------------------------------------------------------------------

def _total_field(*lines):
    return analyse(page("SHOP LTD", *lines), None, LEX).general.get("total") or {}


RECEIPT = ("MEGA BOUTIQUE TRADING", "GST Reg No: 870245877", "Tel: 0785 695 618", "Cashier: Siti 18:23",
           "Itariki: 08-11-17 15:03:20", "Padlock 40mm 25.80", "Mineral water 1.5L", "2 x 1.20 2.40",
           "Airtime card 75.20", "Sub-total 103.40", "GST 6% 6.20", "Rounding Adj 0.00", "Total Amount {total}",
           "Cash 110.00", "Change Due 0.40")


def test_receipt_amounts_sorts_each_printed_amount_into_its_role():
    roles = receipt_amounts([line.format(total="109.60") for line in RECEIPT])
    # Header numbers (registration, phone, time) are no items; "Airtime card" above the totals is an
    # item, not a card payment; "Cashier" is not cash; the GST rate is not the GST amount.
    assert roles["item"] == [(2580, 5), (240, 7), (7520, 8)]
    assert roles["subtotal"] == [(10340, 9)] and roles["tax"] == [(620, 10)]
    assert roles["rounding"] == [(0, 11)]
    assert roles["tendered"] == [(11000, 13)] and roles["change"] == [(40, 14)]
    assert "total" not in roles


def test_receipt_relations_name_their_value_and_the_lines_they_used():
    rels = {(r.name, r.cents, tuple(sorted(r.lines)))
            for r in receipt_relations([line.format(total="109.60") for line in RECEIPT])}
    assert ("subtotal + tax + rounding", 10960, (9, 10, 11)) in rels
    assert ("items + tax + rounding", 10960, (5, 7, 8, 10, 11)) in rels
    assert ("tendered - change", 10960, (13, 14)) in rels


@pytest.mark.parametrize("lines, total, provenance", [
    # Confirmed: the keyword total stays, and the provenance says what confirmed it.
    (("SUBTOTAL 8.90", "GST 6% 0.53", "TOTAL 9.43"), 9.43, "confirmed by subtotal + tax"),
    (("Total Qty 3", "NET TOTAL 12.00", "CASH 20.00", "CHANGE 8.00"), 12, "confirmed by tendered - change"),
    # A digit misread that two independent relations agree on is corrected.
    (("Sub-total 103.40", "GST 6% 6.20", "Total Amount 109.66", "Cash 110.00", "Change 0.40"), 109.6,
     "arithmetic: subtotal + tax = tendered - change"),
    # The minus of the rounding adjustment lost by OCR: the rounding counts either way.
    (("Sub Total 159.40", "GST 6% 9.56", "Rounding Adj 0.01", "Grand Total 168.96", "Paid 170.00", "Change 1.05"),
     168.95, "arithmetic: subtotal + tax - rounding = tendered - change"),
    # The items stand in for an unreadable subtotal; a last-resort subtotal pick is replaced.
    (("Airtime card 1,000", "Paracetamol 500mg 2,500", "3 Chicken 1kg 16,500", "Sub Total 28 608", "VAT 18% 3,600", "Cash 23,610",
      "Change 10"), 23600, "arithmetic: items + tax = tendered - change"),
    (("SUBTOTAL 10.00", "TAX 1.00", "CASH 20.00", "CHANGE 9.00"), 11, "arithmetic: subtotal + tax = tendered"),
    # Among total lines, the one the other amounts confirm.
    (("Sugar 1kg 51.30", "Total 51.30", "GRAND TOTAL 57.30", "Cash 60.00", "Change 8.70"), 51.3,
     "confirmed by items = tendered - change; keyword pick unconfirmed"),
    # Discount and service enter with their signs.
    (("Subtotal 50.00", "Service 10% 5.00", "Discount 2.00", "TOTAL 53.00"), 53,
     "confirmed by subtotal + service - discount"),
    # Silent: nothing to check against.
    (("TOTAL 9.43",), 9.43, "(total, rank 1)"),
    # One relation alone is not enough to overrule the keyword total (it may rest on a misread itself).
    (("Sub-total 103.40", "GST 6% 6.20", "Total Amount 109.66"), 109.66, "(total, rank 2)"),
    # ... except the amount paid within one unit of an unconfirmed total (tests/test_ocr_paid_total_rules.py).
    (("Total Amount 109.66", "Cash 110.00", "Change 4.40"), 109.66, "(total, rank 2)"),
    (("Total Amount 109.66", "Cash 110.00", "Change 0.40"), 109.6, "arithmetic: tendered - change"),
    # Relations that disagree change nothing.
    (("Sub-total 103.40", "GST 6% 6.20", "Total Amount 109.66", "Cash 110.00", "Change 0.50"), 109.66,
     "(total, rank 2)"),
    # Two values each agreed on by two relations: ambiguous, unchanged.
    # (subtotal + tax = cash - change = 11; items + tax = paid - change = 6)
    (("Item A 5.00", "Sub Total 10.00", "Tax 1.00", "Total 12.50", "Cash 20.00", "Paid 15.00", "Change 9.00"),
     12.5, "(total, rank 1)"),
])
def test_receipt_arithmetic_cross_check(lines, total, provenance):
    got = _total_field(*lines)
    assert got["value"] == total
    assert provenance in got["provenance"]
    if "rank" in provenance and "confirmed" not in provenance:
        assert "confirmed" not in got["provenance"] and "arithmetic" not in got["provenance"]


def test_a_relation_never_confirms_a_total_with_its_own_line():
    # "Total Cash 12.00" is a total line and the tendered amount at once: it cannot vouch for itself.
    got = _total_field("Sub Total 10.00", "Total Cash 12.00")
    assert got["value"] == 12 and "confirmed" not in got["provenance"]
    assert _total_field("Sub Total 12.00", "Total Cash 12.00")["provenance"].endswith("confirmed by subtotal)")


def test_a_tax_rate_without_an_amount_is_no_tax_amount():
    roles = receipt_amounts(["Sub Total 10.00", "SST 6%", "GST @6% 0.60", "TOTAL 10.60"])
    assert roles["tax"] == [(60, 2)]


receipt_line = st.one_of(
    st.text(max_size=20),
    st.builds(lambda k, a: f"{k} {a}",
              st.sampled_from(["Sub Total", "GST 6%", "Tax", "Rounding Adj", "TOTAL", "Grand Total", "Cash",
                               "Tendered", "Change", "Discount", "Service", "Item", "2 x 1.50", "Sugar"]),
              st.sampled_from(["0.00", "0.01", "1.00", "1.50", "3.00", "9.00", "10.00", "10.50", "12.00",
                               "1,000", "9.0O", "-0.01", "abc"])),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(receipt_line, max_size=14))
# Found by randomized runs: the L of the word TOTAL read as the 1 of "10" by the whole line's reading;
# digits read as a misread TOTAL ("10RA1" of "10RA10"); the amount paid within one unit of the total.
@example(["TOTAL0"])
@example(["10RA10"])
@example(["TOTAL 1000", "CASH:1000", "CHANGE.01"])
def test_a_total_is_always_printed_or_agreed_by_two_independent_relations(lines):
    total = _total_field(*lines)
    if not total:
        return
    texts = ["SHOP LTD", *lines]
    cents = round(float(total["value"]) * 100)
    printed = {round(a * 100) for t in texts for a in amounts_in(t.lower())}
    # ... or a whole amount read without its decimal point on a page that prints cents (6th round).
    if prints_cents(texts):
        printed |= {round(a) for t in texts for a, decimals in amounts_read(t.lower()) if not decimals and a >= 100}
    relations = receipt_relations(texts)
    if "is within one unit of it" in total["provenance"]:
        # The amount paid (one tendered - change value) over a printed total less than one unit away.
        assert {r.cents for r in relations if r.name == "tendered - change"} == {cents}
        assert any(0 < abs(p - cents) < 100 for p in printed)
    elif total["provenance"].startswith("arithmetic"):
        agreeing = [r for r in relations if r.cents == cents]
        assert any(not a.lines & b.lines for a in agreeing for b in agreeing)
    else:
        assert cents in printed
