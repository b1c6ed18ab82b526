"""The OCR stage on its real engines: Tesseract first, RapidOCR when the first reading fails
validation, raw readings cached on disk."""

from pathlib import Path

import pytest

from concierge.drugs import DrugLexicon
from concierge.errors import OcrFailed
from concierge.ocr_rules import analyse
from concierge.ocr_validation import ReadingPolicy
from simulators.ocr_cache import RawCache
from simulators.ocr_rapid import RapidOcr
from simulators.ocr_stage import OcrStage

LEX = DrugLexicon.default()
RECEIPT = Path(__file__).resolve().parents[2] / "fixtures" / "receipts-dev" / "000.png"
needs_rapid = pytest.mark.skipif(not RapidOcr.available(), reason="rapidocr-onnxruntime supports Python < 3.13 only")


def test_a_receipt_that_passes_validation_is_read_once():
    reading = OcrStage(lexicon=LEX).read_traced(RECEIPT.read_bytes())
    assert reading.engines == ["tesseract"] and reading.problems == () and reading.kept == "tesseract"
    assert analyse(reading.page, None, LEX).general["total"]["value"] == 168.95


@needs_rapid
def test_a_failed_first_reading_is_read_again_and_the_raw_readings_are_cached(tmp_path):
    # A policy no reading can meet: every receipt-like page gets its second reading.
    always = ReadingPolicy(min_mean_confidence=1.01)
    stage = OcrStage(policy=always, lexicon=LEX, cache=RawCache(tmp_path))
    image = RECEIPT.read_bytes()
    first = stage.read_traced(image)
    assert first.engines == ["tesseract", "rapidocr"] and "low_confidence" in first.problems
    general = analyse(first.page, None, LEX).general
    assert general["total"]["value"] == 168.95 and general["date"]["value"] == "06/08/2018"
    # The reading not kept rides along, for the fields the kept one lacks (docs/ocr.md "Fifth round").
    other = first.page.other_reading
    assert other is not None and other.words and other.engine != first.page.engine
    assert stage.cache.misses == 2 and stage.cache.hits == 0
    again = stage.read_traced(image)
    assert stage.cache.hits == 2 and again.page == first.page and again.kept == first.kept
    assert stage.engine_info()["second_reading_when"]["min_mean_confidence"] == 1.01


def test_a_broken_image_is_one_clear_failure():
    with pytest.raises(OcrFailed, match="not a readable image"):
        OcrStage(lexicon=LEX).read(b"\x89PNG\r\n\x1a\n broken")
    if RapidOcr.available():
        with pytest.raises(OcrFailed, match="not a readable image"):
            RapidOcr().read(b"GIF89a broken")


def test_a_broken_image_reads_the_same_every_time():
    # The ledger keeps the message: a memory address in it made two runs of one seed differ.
    messages = set()
    for _ in range(2):
        with pytest.raises(OcrFailed) as failed:
            OcrStage(lexicon=LEX).read(b"not an image at all")
        messages.add(str(failed.value))
    assert len(messages) == 1 and " at 0x" not in messages.pop()


def test_without_the_second_engine_the_stage_is_tesseract_alone():
    stage = OcrStage(use_second=False, policy=ReadingPolicy(min_mean_confidence=1.01), lexicon=LEX)
    reading = stage.read_traced(RECEIPT.read_bytes())
    assert reading.engines == ["tesseract"] and reading.problems and stage.engine_info()["second_reading"] is None


@needs_rapid
def test_a_page_read_as_garbage_is_read_again_and_kept_unless_it_reads_as_a_receipt():
    # A severely degraded product photo: Tesseract reads garbage (no money word, mean confidence ~0.2).
    image = (RECEIPT.parents[1] / "images" / "product_severe_1.jpg").read_bytes()
    reading = OcrStage(lexicon=LEX).read_traced(image)
    assert reading.problems == ("unreadable",) and reading.engines == ["tesseract", "rapidocr"]
    # RapidOCR's reading is no receipt either: Tesseract's page stands, with nothing riding along.
    assert reading.kept == "tesseract" and reading.page.other_reading is None
