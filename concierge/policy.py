"""The numbers of docs/domain.md in one place: caps, budgets and timers (overridable per scenario)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

MINUTE = 60.0


@dataclass(frozen=True)
class Caps:
    batch_size_max: int = 5
    max_batches: int = 3
    max_vendors_per_request: int = 15
    min_replies: int = 3
    vendor_daily_max: int = 20
    vendor_min_gap_s: float = 5 * MINUTE
    busy_exclusion_s: float = 2 * 3600.0
    radius_default_km: float = 5.0
    radius_max_km: float = 15.0
    batch_silence_s: float = 2 * MINUTE
    still_waiting_s: float = 4 * MINUTE
    target_s: float = 6 * MINUTE
    hard_limit_s: float = 10 * MINUTE
    followup_window_s: float = 5 * MINUTE
    brain_calls_max: int = 8
    ocr_jobs_max: int = 2
    ocr_latency_s: float = 5.0  # a real OCR service answers in seconds, not instantly
    client_messages_per_minute: int = 20
    rate_limit_s: float = 5 * MINUTE
    progress_updates_max: int = 3
    progress_repeat_window_s: float = 5 * MINUTE
    clarifications_max: int = 2
    idle_close_s: float = 30 * MINUTE  # a request waiting on a silent client ends politely
    kill_switch_after: int = 3
    send_attempts_max: int = 5
    send_backoff_s: float = 2.0
    resume_grace_s: float = 30.0  # after a restart, Meta's status webhook for a send may still come
    consent_ttl_s: float = 24 * 3600.0
    call_cooldown_s: float = 10 * MINUTE
    call_trigger_no_reply_s: float = 3 * MINUTE  # urgent request: no vendor reply this long -> call
    ambiguous_confidence: float = 0.6  # a reply below this confidence is ambiguous (call trigger)
    call_watchdog_s: float = 5 * MINUTE  # no final call status by then: treated as failed
    call_max_s: float = 60 * MINUTE  # ...unless it is in progress (connected): then only after this

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def with_overrides(self, overrides: dict[str, Any]) -> Caps:
        known = {k: v for k, v in overrides.items() if k in self.names()}
        return replace(self, **known)


PHASE2_CAPS = Caps(max_vendors_per_request=10)
