"""RapidOCR (PP-OCR models on ONNX Runtime, shipped inside the ``rapidocr-onnxruntime`` wheel) as
an ``OcrEngine``: the stage's second reading (docs/ocr.md "Second reading").

The wheel supports Python < 3.13 only; where it is missing, ``RapidOcr.available()`` is False and the
stage reads with Tesseract alone. The engine is built once per process (loading the three models
takes ~0.7 s) and reused.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import metadata

from PIL import Image, UnidentifiedImageError

from concierge.errors import OcrFailed
from concierge.ports import OcrPage
from simulators.ocr import unreadable
from simulators.ocr_boxes import Box, page_from_boxes

# Receipts and prescriptions are photographed upright: the 180-degree classifier costs time and,
# on a page that is upright, can only turn a line the wrong way.
USE_ANGLE_CLASSIFIER = False


@lru_cache(maxsize=2)
def _engine(use_cls: bool):
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(use_cls=use_cls, print_verbose=False)


def _version() -> str | None:
    try:
        return metadata.version("rapidocr-onnxruntime")
    except metadata.PackageNotFoundError:
        return None


class RapidOcr:
    """``concierge.ports.OcrEngine`` on RapidOCR; one word per space-separated token of each box."""

    def __init__(self, *, use_cls: bool = USE_ANGLE_CLASSIFIER):
        self.use_cls = use_cls

    @staticmethod
    def available() -> bool:
        return _version() is not None

    def engine_info(self) -> dict:
        return {"engine": "rapidocr-onnxruntime", "version": _version(), "angle_classifier": self.use_cls}

    @property
    def name(self) -> str:
        return f"rapidocr {_version()}"

    def boxes(self, image: bytes) -> list[Box]:
        """The engine's raw reading: (top, bottom, left, text, confidence) per detected text box."""
        if not isinstance(image, bytes | bytearray) or not image:
            raise OcrFailed("empty or non-bytes image")
        if not self.available():
            raise OcrFailed("rapidocr-onnxruntime is not installed (Python < 3.13 only)")
        try:
            with Image.open(io.BytesIO(image)) as img:
                img.load()
                rgb = img.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise unreadable(exc) from exc
        import numpy as np

        # RapidOCR takes OpenCV's BGR order.
        array = np.asarray(rgb)[:, :, ::-1].copy()
        try:
            result, _ = _engine(self.use_cls)(array)
        except Exception as exc:  # onnxruntime raises its own types; one clear line either way
            raise OcrFailed(f"rapidocr failed: {exc}") from exc
        out: list[Box] = []
        for points, text, score in result or ():
            ys = [p[1] for p in points]
            xs = [p[0] for p in points]
            out.append((float(min(ys)), float(max(ys)), float(min(xs)), str(text), float(score)))
        return out

    def read(self, image: bytes) -> OcrPage:
        return page_from_boxes(self.boxes(image), self.name)
