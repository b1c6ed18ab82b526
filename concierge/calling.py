"""Calling, for escalation only: consent first, every gate checked, each refusal named and audited.

Consent is the client's (the concierge acts for the client); its scope says whom we may call.
Zero unsolicited calls is absolute, so ``start_call`` is the one door to the call provider and it
opens only when every gate of docs/domain.md holds. Triggers (an urgent request with no vendor reply for
3 minutes, an ambiguous vendor reply while the client waits, a client writing "call me") never call
by themselves: they ask for consent, or knock on that door. See docs/calling.md.

This module is the public face of calling; each reason to change has its own module:
``call_consent`` (the consent record), ``call_gates`` (the one door, statuses, callbacks, watchdog),
``call_signing`` (the provider's callback signature), ``call_text`` (what the client writes: YES/NO,
"call me", the prompt's buttons) and ``call_triggers`` (what leads to a call, the client's answers).
"""

from __future__ import annotations

from .call_consent import (
    SCOPE_COVERS,
    SCOPES,
    TARGET_SCOPE,
    answer_consent,
    consent,
    consent_status,
    request_consent,
)
from .call_gates import (
    CALL_STATUSES,
    FAILED_STATUSES,
    FINAL_STATUSES,
    on_call_callback,
    on_watchdog,
    refusal_gate,
    start_call,
)
from .call_signing import CALL_SIGNATURE_HEADER, sign_callback, verify_callback
from .call_text import NO_BUTTON, YES_BUTTON, consent_answer, is_call_me
from .call_triggers import (
    after_outreach_started,
    after_vendor_reply,
    on_client_message,
    on_trigger_timer,
    resume_pending_calls,
    vendor_trigger,
)

__all__ = [
    "CALL_SIGNATURE_HEADER", "CALL_STATUSES", "FAILED_STATUSES", "FINAL_STATUSES", "NO_BUTTON", "SCOPES",
    "SCOPE_COVERS", "TARGET_SCOPE", "YES_BUTTON", "after_outreach_started", "after_vendor_reply",
    "answer_consent", "consent", "consent_answer", "consent_status", "is_call_me", "on_call_callback",
    "on_client_message", "on_trigger_timer", "on_watchdog", "refusal_gate", "request_consent",
    "resume_pending_calls", "sign_callback", "start_call", "vendor_trigger", "verify_callback",
]
