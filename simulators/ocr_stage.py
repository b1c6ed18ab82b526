"""The OCR stage: Tesseract first, RapidOCR as a second reading when the first fails validation.

``OcrStage`` implements ``concierge.ports.OcrEngine``. The first reading is Tesseract's (fast, with
its own preprocessing, ``simulators.ocr``); ``concierge.ocr_validation.reading_problems`` decides
whether it is good enough (a page with words, a confident reading, and on a receipt-like page a
calendar date and a total); if not, RapidOCR reads the image and ``better_reading`` keeps one of the
two. Which engines and which thresholds are data (``engine_info()``), reported by ``ocr-eval``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from concierge.drugs import DrugLexicon
from concierge.errors import OcrFailed
from concierge.ocr_validation import DEFAULT_POLICY, ReadingPolicy, better_reading, reading_problems
from concierge.ports import OcrPage
from simulators.ocr import TesseractOcr, _words
from simulators.ocr_boxes import page_from_boxes
from simulators.ocr_cache import RawCache
from simulators.ocr_rapid import RapidOcr


@dataclass
class Reading:
    """What the stage did for one image: the page it kept and why."""

    page: OcrPage
    steps: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)  # engines that read, in order
    kept: str = "tesseract"
    problems: tuple[str, ...] = ()  # the first reading's; empty when it was kept without a second
    seconds: float = 0.0  # engine time (from the cache, when one was used) plus the rules' time


class OcrStage:
    def __init__(self, *, primary: TesseractOcr | None = None, second: RapidOcr | None = None,
                 policy: ReadingPolicy = DEFAULT_POLICY, use_second: bool | None = None,
                 lexicon: DrugLexicon | None = None, cache: RawCache | None = None):
        self.primary = primary or TesseractOcr()
        self.second = second or RapidOcr()
        # Without the wheel (Python 3.13+) the stage is Tesseract alone; said in engine_info().
        self.use_second = self.second.available() if use_second is None else use_second
        self.policy = policy
        self.lexicon = lexicon or DrugLexicon.default()
        self.cache = cache or RawCache(None)

    @property
    def name(self) -> str:
        return self.primary.name

    def engine_info(self) -> dict:
        info = dict(self.primary.engine_info())
        info["second_reading"] = self.second.engine_info() if self.use_second else None
        info["second_reading_when"] = self.policy.to_dict()
        return info

    def read(self, image: bytes) -> OcrPage:
        return self.read_traced(image).page

    def read_first(self, image: bytes) -> tuple[OcrPage, list[str], float]:
        raw, seconds = self.cache.get_or_read(
            self.primary.engine_info(), image,
            lambda: dict(zip(("data", "steps"), self.primary.read_data(image)[:2], strict=True)))
        return OcrPage(_words(raw["data"]), self.primary.name), list(raw["steps"]), seconds

    def read_second(self, image: bytes) -> tuple[OcrPage, float]:
        raw, seconds = self.cache.get_or_read(
            self.second.engine_info(), image, lambda: {"boxes": self.second.boxes(image)})
        return page_from_boxes([tuple(b) for b in raw["boxes"]], self.second.name), seconds

    def read_traced(self, image: bytes) -> Reading:
        t0 = time.perf_counter()
        inside = 0.0  # wall time spent inside the engines (or their cache) in this call
        t = time.perf_counter()
        page, steps, engine_s = self.read_first(image)
        inside += time.perf_counter() - t
        problems = reading_problems(page, self.lexicon, self.policy)
        reading = Reading(page, steps, ["tesseract"], "tesseract", problems)
        if problems and self.use_second:
            t = time.perf_counter()
            try:
                second, second_s = self.read_second(image)
            except OcrFailed as exc:
                # The first reading stands; the rules still ask the client when it is weak.
                reading.steps.append(f"second reading failed: {exc}")
                second = None
            inside += time.perf_counter() - t
            if second is not None:
                engine_s += second_s
                reading.engines.append("rapidocr")
                second_problems = reading_problems(second, self.lexicon, self.policy)
                if better_reading(page, problems, second, second_problems):
                    reading.page, reading.kept = replace(second, other_reading=page), "rapidocr"
                elif "unreadable" not in problems:
                    # Kept first, the second rides along for a receipt field the first lacks; a page
                    # kept because the second did not read as a receipt gets nothing from it.
                    reading.page = replace(page, other_reading=second)
        # The engines' time as they took it (now, or when the cache was filled) plus the stage's own.
        reading.seconds = engine_s + (time.perf_counter() - t0 - inside)
        return reading
