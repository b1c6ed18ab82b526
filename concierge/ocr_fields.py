"""What an OCR analysis is made of (fields with confidence and provenance, prescription items, the
analysis) and the small helpers every reader of a page shares: its lines, quotes, confidences, the
question that asks the client, and the letters OCR reads for digits.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from concierge.ports import OcrPage, OcrWord

OVERALL_MIN_CONFIDENCE = 0.70
QUOTE_MAX_CHARS = 160


# OCR reads these letters for the digit they resemble; corrected only next to digits, never a letter
# of a longer word (ocr_amounts.fix_lookalikes, ocr_dates.fix_digit_run).
DIGIT_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5"})
LOOKALIKE_CHARS = "OolI|S"


@dataclass(frozen=True)
class Field:
    value: str | int | None
    confidence: float
    provenance: str


@dataclass(frozen=True)
class PrescriptionItem:
    drug_name: Field
    dose: Field
    form: Field
    quantity: Field
    instructions: Field


@dataclass(frozen=True)
class OcrAnalysis:
    type: str
    confidence: float
    items: tuple[PrescriptionItem, ...]
    general: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    next_action: str = "ask_client"
    question: str | None = None
    need_text: str | None = None

    def to_dict(self) -> dict:
        return {
            "type": self.type,
            "confidence": self.confidence,
            "items": [asdict(i) for i in self.items],
            "general": self.general,
            "warnings": list(self.warnings),
            "next_action": self.next_action,
            "question": self.question,
            "need_text": self.need_text,
        }


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ]+", (text or "").lower())


def clamp_confidence(x: float) -> float:
    return round(max(0.0, min(1.0, x)), 3)


def page_lines(page: OcrPage) -> list[list[OcrWord]]:
    out: dict[int, list[OcrWord]] = {}
    for w in page.words:
        if isinstance(w.text, str) and w.text.strip():
            out.setdefault(w.line, []).append(w)
    return [ws for _, ws in sorted(out.items())]


def _clean(token: str) -> str:
    return token.strip(".,;:()[]{}!?\"'*|")


def quote(words: list[OcrWord]) -> str:
    text = " ".join(w.text for w in words)
    return text if len(text) <= QUOTE_MAX_CHARS else text[: QUOTE_MAX_CHARS - 1] + "…"


def _where(line_no: int, a: int, b: int) -> str:
    return f"ocr:line {line_no + 1} words {a + 1}-{b + 1}"


def mean_confidence(words: list[OcrWord]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


def line_text(words: list[OcrWord]) -> str:
    return " ".join(w.text for w in words)


def ask_to_confirm(read: list[str], reasons: list[str], source: str = "the prescription") -> str:
    if not read:
        return ("I couldn't read the medicines on that photo. Could you send a clearer photo, or "
                "type the medicine names, strength and quantity as written?")
    quoted = "; ".join(f'"{r}"' for r in read[:4])
    return (f"I read this from your photo: {quoted}. I'm not sure about {' and '.join(reasons)}. "
            f"Please confirm it exactly as written on {source}, or type it.")
