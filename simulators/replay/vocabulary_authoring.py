"""The authoring extensions of the scenario format: seeded state, canned OCR, call events, includes,
xfail/skip, and the richer message checks.

Kept apart from ``vocabulary`` so that the base format and these additions each have one place; the
base tuples splice these in, so a schema generated from ``vocabulary`` sees them too.
"""

from __future__ import annotations

from concierge.lifecycle import RequestState as S

# Top-level keys: `initial_state` seeds the ledger before the first step; `xfail`/`skip` carry a reason.
AUTHORING_TOP_KEYS = ("initial_state", "xfail", "skip")

# Step actions: `include` splices the steps of another file here (expanded by the loader, never run).
AUTHORING_ACTIONS = ("ocr_result", "call_event", "include")
AUTHORING_STEP_EXTRA = {"call_event": ("by",), "include": ("vars",)}
# Keys the authoring features add to base steps: a vendor's `reply_to: CLIENT` quotes the outreach
# it got for that client's request (WhatsApp's reply context), for a vendor answering two clients.
AUTHORING_BASE_EXTRA = {"vendor": ("reply_to",)}

# `ocr_result:` stands in for Tesseract's reading of the next image or document a client sends.
OCR_RESULT_KEYS = ("text", "lines", "confidence", "fields", "type")
OCR_FIELD_KEYS = ("value", "confidence")
OCR_DEFAULT_CONFIDENCE = 0.95

# `call_event:` what the outside world does about a call. Consent events are the client's own
# messages (a "call me", a tap on the prompt's YES or NO); call events are the provider's signed
# status callbacks for the latest call, with the provider's status word.
CALL_EVENTS = {
    "consent_requested": ("client", "call me"),
    "consent_granted": ("tap", "consent_yes"),
    "consent_denied": ("tap", "consent_no"),
    "call_initiated": ("provider", "ringing"),
    "call_answered": ("provider", "in_progress"),
    "call_completed": ("provider", "completed"),
    "call_failed": ("provider", "failed"),
    "call_no_answer": ("provider", "no_answer"),
    "call_busy": ("provider", "busy"),
}

# What a message the concierge sent is, as a check names it. The concierge sends text and reply
# buttons today; list and template are accepted so a check can say "not a list".
MESSAGE_TYPES = ("text", "buttons", "list", "template")
MESSAGE_CHECK_KEYS = ("nth", "type", "buttons", "rows", "matches", "count_of")

# `initial_state:` the starting point of a scenario, seeded through the ledger's own methods.
SEED_KEYS = ("client", "request", "conversation", "consent")
SEED_REQUEST_KEYS = ("state", "requirements", "language", "outreach", "replies", "shortlist")
SEED_REQUIREMENT_KEYS = ("item", "category", "place", "quantity", "budget_max", "urgent")
SEED_OUTREACH_KEYS = ("vendor", "status", "batch")
SEED_OUTREACH_STATUSES = ("sent", "replied", "no_response", "failed")
SEED_REPLY_KEYS = ("vendor", "text")
SEED_TURN_KEYS = ("from", "text")
SEED_TURN_SOURCES = ("client", "concierge")
SEED_CONSENT_KEYS = ("status", "scope")
SEED_CONSENT_STATUSES = ("requested", "granted", "denied")
SEED_CONSENT_SCOPES = ("call_vendor", "call_client", "either")
# What a seeded state needs to be possible at all: (what must be seeded, why), by state. The
# transient states (vendor_outreach, ocr_processing, shortlist_ready) last only while the concierge
# works and cannot be a starting point; a seeded shortlist is delivered, so it means handed_off.
SEED_STATE_NEEDS = {
    S.COLLECTING_REQUIREMENTS.value: ((), ""),
    S.AWAITING_VENDOR_REPLIES.value: (("outreach",), "a request waits for replies only after vendors were asked"),
    S.HANDED_OFF.value: (("outreach", "replies", "shortlist"), "a request is handed off with a delivered "
                                                               "shortlist of vendors who replied"),
}
SEED_STATES = tuple(SEED_STATE_NEEDS)
# Besides what it needs, what each seeded state may also have.
SEED_STATE_ALLOWS = {
    S.COLLECTING_REQUIREMENTS.value: (),
    S.AWAITING_VENDOR_REPLIES.value: ("replies",),
    S.HANDED_OFF.value: (),
}
# Outreach starts only once the need is complete: the item, the kind of shop, and where.
SEED_COMPLETE_NEED = ("item", "category", "place")
