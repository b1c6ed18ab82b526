"""A canned OCR reading (`ocr_result:` step) in place of Tesseract's for the next image.

The canned reading is what an engine returns, words with confidences, so the concierge's own
analysis (document type, fields, safety rules) decides on it exactly as on a real reading; a field
given with a confidence lowers (or raises) the confidence of the words that spell its value.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from concierge.ports import OcrPage, OcrWord

from .vocabulary_authoring import OCR_DEFAULT_CONFIDENCE

ENGINE = "canned (scenario ocr_result)"


def canned_lines(spec: dict[str, Any]) -> list[str]:
    if isinstance(spec.get("lines"), list):
        return [str(x) for x in spec["lines"]]
    return str(spec.get("text") or "").splitlines()


def canned_page(spec: dict[str, Any]) -> OcrPage:
    base = float(spec.get("confidence", OCR_DEFAULT_CONFIDENCE))
    by_word: dict[str, float] = {}
    for field in (spec.get("fields") or {}).values():
        if isinstance(field, dict) and "confidence" in field:
            for token in str(field.get("value", "")).split():
                by_word[token.casefold()] = float(field["confidence"])
        # A bare value (no confidence) only documents what the text says.
    words = []
    for n, line in enumerate(canned_lines(spec)):
        for left, token in enumerate(line.split()):
            words.append(OcrWord(token, by_word.get(token.casefold(), base), n, left=left * 10, top=n * 20))
    return OcrPage(tuple(words), ENGINE)


class CannedOcr:
    """The OCR port with canned readings queued in front of the real engine: each `ocr_result:`
    step serves the next read; with none queued, the real engine reads the image."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.queue: deque[OcrPage] = deque()

    def read(self, image: bytes) -> OcrPage:
        if self.queue:
            return self.queue.popleft()
        return self.inner.read(image)


def canned_ocr(world: Any) -> CannedOcr:
    """The world's canned OCR port, wrapped around its current engine on first use."""
    return canned_ocr_on(world.concierge.ports)


def canned_ocr_on(ports: Any) -> CannedOcr:
    """A concierge's OCR port (``ports.ocr``) with a queue of canned readings in front, installed
    on first use: the in-process world's, or the service's under the harness probe."""
    if not isinstance(ports.ocr, CannedOcr):
        ports.ocr = CannedOcr(ports.ocr)
    return ports.ocr
