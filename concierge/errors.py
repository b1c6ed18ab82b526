"""The concierge's own exceptions: each says what is wrong in the domain's words."""

from __future__ import annotations


class ConciergeError(Exception):
    """Base of every error the concierge raises on purpose."""


class IllegalTransition(ConciergeError):
    def __init__(self, request_id: str, source: str, dest: str):
        super().__init__(f"request {request_id}: {source} -> {dest} is not an allowed transition")
        self.request_id, self.source, self.dest = request_id, source, dest


class ContractViolation(ConciergeError):
    """A payload broke a JSON Schema contract (brain output, tool arguments or tool result)."""

    def __init__(self, contract: str, reason: str):
        super().__init__(f"{contract}: {reason}")
        self.contract, self.reason = contract, reason


class SignatureInvalid(ConciergeError):
    """A webhook whose X-Hub-Signature-256 is missing, malformed or wrong."""


class WebhookMalformed(ConciergeError):
    """A signed webhook whose body is not the Cloud API shape we can read."""


class MediaUnavailable(ConciergeError):
    """Inbound media could not be downloaded (404, timeout, truncated)."""


class OcrFailed(ConciergeError):
    """The OCR engine could not read the file (broken image, timeout, engine missing)."""


class BrainUnavailable(ConciergeError):
    """The brain did not answer (timeout, transport error, exception)."""


class ConsentRequired(ConciergeError):
    """A call was attempted without granted, unexpired, in-scope consent."""
