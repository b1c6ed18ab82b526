"""The calling provider's status callbacks are signed: HMAC-SHA256 over the raw body, in a header."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

CALL_SIGNATURE_HEADER = "X-Call-Signature"
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def sign_callback(raw_body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_callback(raw_body: Any, signature: Any, secret: str) -> bool:
    """Whether the calling provider signed this body (HMAC-SHA256 over the raw bytes)."""
    if not secret or not isinstance(signature, str) or not isinstance(raw_body, (bytes, bytearray)):
        return False
    match = _SIGNATURE_RE.fullmatch(signature.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), bytes(raw_body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())
