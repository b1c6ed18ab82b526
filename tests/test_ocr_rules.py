from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.drugs import DrugLexicon
from concierge.ocr_rules import OcrAnalysis, analyse, classify, parse_amount
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
