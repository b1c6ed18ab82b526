"""Feature flags and the rollout cohort, read from a plain mapping (an environment or a scenario).

Production's defaults are all OFF: a missing or unparsable boolean is false. The cohort hash is
SHA-256 of the normalized phone number, so a phone lands in the same bucket on every process and
machine (Python's ``hash()`` is salted per process and would not).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from .phones import InvalidPhone, normalize_phone

FLAG_AI = "FEATURE_AI_CONCIERGE"
FLAG_OCR = "FEATURE_AI_CONCIERGE_OCR"
FLAG_CALLING = "FEATURE_AI_CONCIERGE_CALLING"
ALLOWLIST = "AI_CONCIERGE_ALLOWLIST_PHONES"
PERCENT = "AI_CONCIERGE_PERCENT_ROLLOUT"
KNOWN_KEYS = (FLAG_AI, FLAG_OCR, FLAG_CALLING, ALLOWLIST, PERCENT)

_TRUE = {"1", "true", "yes", "on"}


def parse_bool(value: object) -> bool:
    """True only for an explicit yes: anything missing, empty or unparsable is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return False


def parse_percent(value: object) -> float | None:
    """0..100, or None when unset/empty/unparsable (None means: the master flag alone decides)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        pct = float(str(value).strip())
    except ValueError:
        return None
    if pct != pct:  # NaN
        return None
    return min(100.0, max(0.0, pct))


def parse_allowlist(value: object) -> frozenset[str]:
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    phones = set()
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        try:
            phones.add(normalize_phone(item))
        except InvalidPhone:
            continue  # an unparsable entry widens nothing
    return frozenset(phones)


@functools.lru_cache(maxsize=4096)
def cohort_bucket(phone_e164: str) -> float:
    """A stable bucket in [0, 100) for a phone number (remembered: a pure function of the number,
    asked at each brain call and each new request)."""
    digest = hashlib.sha256(phone_e164.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100.0


@dataclass(frozen=True)
class Flags:
    ai: bool = False
    ocr: bool = False
    calling: bool = False
    allowlist: frozenset[str] = field(default_factory=frozenset)
    percent: float | None = None

    @classmethod
    def from_mapping(cls, env: Mapping[str, object]) -> Flags:
        return cls(
            ai=parse_bool(env.get(FLAG_AI)),
            ocr=parse_bool(env.get(FLAG_OCR)),
            calling=parse_bool(env.get(FLAG_CALLING)),
            allowlist=parse_allowlist(env.get(ALLOWLIST)),
            percent=parse_percent(env.get(PERCENT)),
        )

    def in_ai_cohort(self, phone_e164: str) -> bool:
        """Whether this client is served by the AI path (else: the coded workflow)."""
        if not self.ai:
            return False
        if phone_e164 in self.allowlist:
            return True
        if self.percent is None:
            return True
        return cohort_bucket(phone_e164) < self.percent

    def ocr_on(self, phone_e164: str) -> bool:
        return self.ocr and self.in_ai_cohort(phone_e164)

    def calling_on(self, phone_e164: str) -> bool:
        return self.calling and self.in_ai_cohort(phone_e164)

    def describe(self) -> dict[str, object]:
        return {
            FLAG_AI: self.ai,
            FLAG_OCR: self.ocr,
            FLAG_CALLING: self.calling,
            ALLOWLIST: sorted(self.allowlist),
            PERCENT: self.percent,
        }
