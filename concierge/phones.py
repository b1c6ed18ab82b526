"""Phone numbers: E.164 normalization (Rwanda by default), masking for logs, wa.me links."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "RW"


class InvalidPhone(ValueError):
    pass


@lru_cache(maxsize=8192)  # pure, and called for every webhook and send: parsing is costly
def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """``0788 000 101``, ``+250788000101`` and ``250788000101`` all give ``+250788000101``."""
    text = str(raw).strip()
    digits = re.sub(r"\D", "", text)
    # A bare international number without '+' ("250788000101") is common in WhatsApp payloads.
    if not text.startswith("+") and digits.startswith("250") and len(digits) == 12:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {raw!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def wa_digits(phone_e164: str) -> str:
    """The digits WhatsApp uses as a wa_id and in wa.me links (E.164 without '+')."""
    return phone_e164.lstrip("+")


def wa_link(phone_e164: str) -> str:
    return f"https://wa.me/{wa_digits(phone_e164)}"


_NON_DIGIT = re.compile(r"\D")


def mask_phone(phone: str) -> str:
    """Keep only the last 3 digits: ``+250788000101`` -> ``*********101``."""
    digits = _NON_DIGIT.sub("", phone)
    if len(digits) <= 3:
        return "*" * len(digits)
    return "*" * (len(digits) - 3) + digits[-3:]


# Rwandan mobile numbers in any common notation, and other long international numbers.
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+?\d[\d \-().]{7,16}\d)(?!\w)")


def mask_phones_in(text: str) -> str:
    """Mask every phone-number-looking run of digits (8+ digits) in free text."""
    if type(text) is str:
        # The same texts are masked again and again (a question asked of every vendor, a transcript
        # line each time the brain reads it); the answer is a str, which no caller can change.
        return _masked_in(text)
    return _PHONE_RE.sub(_mask, text)


def _mask(m: re.Match[str]) -> str:
    digits = _NON_DIGIT.sub("", m.group(0))
    if len(digits) < 8:
        return m.group(0)
    return mask_phone(digits)


@lru_cache(maxsize=4096)  # messages of a few hundred characters: a few MB at most
def _masked_in(text: str) -> str:
    return _PHONE_RE.sub(_mask, text)
