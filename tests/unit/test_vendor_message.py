"""The outreach message a vendor reads: in the vendor's language, the need, numbered questions, STOP."""

from __future__ import annotations

import pytest

from concierge.outreach import DEFAULT_QUESTIONS, compose_vendor_message
from concierge.ports import Vendor


def vendor(language: str) -> Vendor:
    return Vendor(id="v", name="Pharma Plus", phone="+250788000101", categories=("pharmacy",), language=language)


@pytest.mark.parametrize("language, question, stop", [
    ("en", "1. Do you have it in stock? (yes/no)", "Reply STOP"),
    ("fr", "1. L'avez-vous en stock ? (oui/non)", "Répondez STOP"),
    ("rw", "1. Murabifite? (yego/oya)", "HAGARIKA"),
])
def test_the_standard_questions_are_asked_in_the_vendors_language(language, question, stop):
    text = compose_vendor_message(vendor(language), "Amoxicillin 500mg", list(DEFAULT_QUESTIONS))
    assert question in text and stop in text and "*Amoxicillin 500mg*" in text
    assert text.count("\n4. ") == 1
    if language != "en":
        assert not any(q in text for q in DEFAULT_QUESTIONS)  # no English question left in the message


def test_a_question_the_brain_wrote_itself_is_sent_as_written_and_phones_never_pass():
    text = compose_vendor_message(vendor("fr"), "a phone case",
                                  ["Do you deliver to Remera?", "Call +250788123456 first?"])
    assert "1. Do you deliver to Remera?" in text
    assert "788123456" not in text and "Bonjour Pharma Plus" in text
