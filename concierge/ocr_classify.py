"""Which kind of page a photo is: a prescription (read drug by drug, strictly) or anything else
(receipts, invoices, product photos). The text's words and the client's caption decide.
"""

from __future__ import annotations

from concierge.ocr_fields import words_of

MEDICAL_WORDS = {
    "rx", "prescription", "prescriber", "prescribed", "patient", "doctor", "dr", "sig", "clinic",
    "hospital", "diagnosis", "dosage", "ordonnance", "medecin", "docteur", "ibitaro", "umuganga",
    "ivuriro", "mg", "mcg", "tablets", "capsules", "syrup", "dose",
}
STRONG_MEDICAL = {"rx", "prescription", "prescriber", "prescribed", "ordonnance", "sig", "diagnosis"}
CAPTION_MEDICAL = {"prescription", "medicine", "medicines", "medication", "doctor", "pharmacy",
                   "ordonnance", "medicament", "medicaments", "umuti", "imiti", "dawa", "rx"}
INVOICE_WORDS = {"invoice", "receipt", "total", "subtotal", "amount", "tin", "vat", "cash",
                 "change", "facture", "inyemezabuguzi", "bill", "gst", "balance"}


def classify(text: str, caption: str | None) -> str:
    """``medical_prescription`` when the text or the caption looks medical, else ``general``."""
    words = words_of(text if isinstance(text, str) else "")
    caption_words = set(words_of(caption if isinstance(caption, str) else ""))
    if caption_words & CAPTION_MEDICAL:
        return "medical_prescription"
    strong = sum(1 for w in words if w in STRONG_MEDICAL)
    medical = sum(1 for w in words if w in MEDICAL_WORDS)
    invoice = sum(1 for w in words if w in INVOICE_WORDS)
    if strong and strong >= invoice:
        return "medical_prescription"
    # Doses and forms alone also fill a pharmacy's invoice: they count only on a page without money.
    if medical >= 2 and invoice == 0:
        return "medical_prescription"
    return "general"
