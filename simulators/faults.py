"""Faults of the OCR service: a wrapper around whatever engine the world reads images with.

A scenario's ``fault: {target: ocr, kind: ..., times: N}`` and the rollout simulator both make the
next N reads fail in the way a real OCR service does:

- ``timeout``: the engine gives up (``OcrFailed``, as ``TesseractOcr`` raises on its timeout);
- ``error``: the engine process crashes (``OcrFailed``, as ``TesseractOcr`` reports a dead binary);
- ``exception``: the adapter itself blows up with an exception the port does not promise
  (``RuntimeError``): the concierge must survive a bug on the other side of a port too;
- ``garbage``: the engine "reads" noise — words of random letters with middling confidences.

Garbage is drawn from ``random.Random(seed)``, so a run stays reproducible.
"""

from __future__ import annotations

import random
import string
from collections import deque
from typing import Any

from concierge.errors import OcrFailed
from concierge.ports import OcrPage, OcrWord

OCR_FAULT_KINDS = ("timeout", "error", "exception", "garbage")


class FaultyOcr:
    """``concierge.ports.OcrEngine`` that fails on demand and otherwise reads with ``inner``."""

    def __init__(self, inner: Any, *, seed: int = 0):
        self.inner = inner
        self.faults: deque[str] = deque()
        self.reads = 0
        self.failed = 0
        self._rng = random.Random(seed)

    def inject(self, kind: str | None = None, times: int = 1) -> None:
        kind = kind or "error"
        if kind not in OCR_FAULT_KINDS:
            raise ValueError(f"ocr fault kind must be one of {OCR_FAULT_KINDS}, got {kind!r}")
        if times < 1:
            raise ValueError("times must be >= 1")
        self.faults.extend([kind] * times)

    def read(self, image: bytes) -> OcrPage:
        self.reads += 1
        if not self.faults:
            return self.inner.read(image)
        kind = self.faults.popleft()
        self.failed += 1
        if kind == "timeout":
            raise OcrFailed("tesseract timed out after 20 s (simulated)")
        if kind == "error":
            raise OcrFailed("tesseract crashed: killed by signal 11 (simulated)")
        if kind == "exception":
            raise RuntimeError("ocr adapter bug (simulated)")
        return self._garbage()

    def _garbage(self) -> OcrPage:
        rng = self._rng
        alphabet = string.ascii_letters + string.digits + "|\\/_~^%#@"
        words = []
        for line in range(rng.randint(3, 6)):
            for _ in range(rng.randint(2, 6)):
                word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
                words.append(OcrWord(word, round(rng.uniform(0.15, 0.6), 4), line))
        return OcrPage(tuple(words), engine="garbage (simulated fault)")


def ocr_faults(world: Any) -> FaultyOcr:
    """The world's OCR port, wrapped once in a ``FaultyOcr`` (installed on first use)."""
    return ocr_faults_on(world.concierge.ports, world.config.seed)


def ocr_faults_on(ports: Any, seed: int) -> FaultyOcr:
    """A concierge's OCR port (``ports.ocr``), wrapped once in a ``FaultyOcr``: the in-process
    world's, or the service's under the harness probe."""
    if not isinstance(ports.ocr, FaultyOcr):
        ports.ocr = FaultyOcr(ports.ocr, seed=seed)
    return ports.ocr
