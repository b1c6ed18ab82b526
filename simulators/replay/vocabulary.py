"""The vocabulary of the scenario format: top-level keys, actions, and every closed set of values.

One place for what docs/scenario-format.md allows, so adding an action or a fault kind is one edit here
plus its check; the checks and the error messages read these tuples.
"""

from __future__ import annotations

import re

from concierge.lifecycle import RequestState
from concierge.texts import LANGUAGES as LANGUAGES  # the scenario files name these languages

from .. import brain_spec
from .vocabulary_authoring import (
            AUTHORING_ACTIONS,
            AUTHORING_BASE_EXTRA,
            AUTHORING_STEP_EXTRA,
            AUTHORING_TOP_KEYS,
)

TOP_KEYS = ("scenario", "description", "tags", "seed", "flags", "caps", "vendors", "clients", "steps",
            "expected_log_errors", "brain", *AUTHORING_TOP_KEYS)
ACTIONS = ("client", "vendor", "redeliver", "advance", "brain_next", "call_status", "fault", "expect",
           *AUTHORING_ACTIONS)
STEP_EXTRA = {"client": ("text", "image", "document", "button", "list", "caption"),
              "vendor": ("text", *AUTHORING_BASE_EXTRA["vendor"]), **AUTHORING_STEP_EXTRA}
CLIENT_MESSAGES = ("text", "image", "document", "button", "list")
VENDOR_KEYS = ("id", "name", "phone", "categories", "area", "lat", "lng", "rating",
               "avg_response_minutes", "active", "opted_out", "language", "tags", "blocked",
               "has_whatsapp")
VENDOR_BOOLS = ("active", "opted_out", "blocked", "has_whatsapp")
CLIENT_KEYS = ("id", "phone", "language", "area")
STATES = tuple(s.value for s in RequestState)
CALL_STATUSES = ("completed", "failed", "no_answer", "busy", "ringing")
CALL_ROW_STATUSES = ("initiated", *CALL_STATUSES)
CONSENT_STATUSES = ("not_requested", "requested", "granted", "denied", "expired")
OCR_STATUSES = ("pending", "completed", "failed")
OCR_TYPES = ("medical_prescription", "general")
FAULT_KEYS = ("target", "status", "kind", "times", "retry_after")
FAULT_TARGETS = ("whatsapp_send", "media_download", "ocr", "brain", "call", "process")
# target: process: the concierge's own process dies (now, or inside its next sends) and restarts.
PROCESS_FAULT_KINDS = ("restart", "crash_before_send", "crash_after_send")
FAULT_KINDS = ("timeout", "error", "truncated", "garbage", "non_json", "wrong_shape", "exception",
               *PROCESS_FAULT_KINDS)
MEDIA_SUFFIXES = (".png", ".jpg", ".jpeg", ".pdf")
# Mirrors simulators/render.py's spec (not imported: the loader must not need Pillow to validate).
RENDER_KINDS = ("prescription", "invoice", "product")
RENDER_KEYS = ("render", "items", "lines", "degrade", "seed", "title")
RENDER_LEVELS = ("clean", "mild", "moderate", "severe")
RENDER_ITEM_KEYS = {
    "prescription": (("drug",), ("drug", "dose", "form", "quantity", "instructions")),
    "invoice": (("name",), ("name", "quantity", "price")),
    "product": (("name",), ("name", "brand", "model", "quantity")),
}
SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*")
# `brain:` puts an HTTP brain behind the scenario (simulators/brain_wire.py, simulators/cassette.py).
BRAIN_KEYS = ("provider", "model", "cassette", "mode", "base_url", "api_key_env", "prompt", "timeout_s",
              "retries")
BRAIN_PROVIDERS, CASSETTE_MODES = brain_spec.BRAIN_PROVIDERS, brain_spec.CASSETTE_MODES  # --brain's too
