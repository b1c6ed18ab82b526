"""The request's clock: progress updates, the 6-minute target, the 10-minute limit, idle
requests, and the timers that hand over to OCR and calling.

A mixin of ``concierge.engine.Concierge``: it shares the concierge's ledger, ports and caps.
"""

from __future__ import annotations

import logging

from .coded import usable
from .ledger import RequestRow
from .lifecycle import ENDED_STATES, OUTREACH_UNDER_WAY, RequestState
from .ports import (
    Timer,
)
from .texts import text_for

S = RequestState
log = logging.getLogger("concierge")


class TimersMixin:
    def _live(self, request_id: str | None) -> RequestRow | None:
        if request_id is None:
            return None
        request = self.ledger.get_request(request_id)
        if request is None or S(request.state) in ENDED_STATES:
            return None
        return request

    def _timer_still_waiting(self, timer: Timer, now: float) -> None:
        request = self._live(timer.request_id)
        if request is None or S(request.state) not in OUTREACH_UNDER_WAY:
            return
        if any(usable(r) for r in self.replies_summary(request.id)):
            return
        self.progress_update(request, text_for("still_waiting", self._lang(request)), now)

    def progress_update(self, request: RequestRow, text: str, now: float) -> bool:
        updates = list(request.data.get("progress_updates") or [])
        if len(updates) >= self.caps.progress_updates_max:
            self.ledger.audit("client.update_suppressed", now, request.id, reason="cap")
            return False
        if self.ledger.client_text_since(request.id, text, now - self.caps.progress_repeat_window_s):
            self.ledger.audit("client.update_suppressed", now, request.id, reason="repeat")
            return False
        updates.append({"text": text, "at": now})
        self.update(request.id, now, progress_updates=updates)
        self.tell_client(self.request(request.id), "progress", text, now, key_suffix=f":u{len(updates)}")
        return True

    def _timer_target(self, timer: Timer, now: float) -> None:
        request = self._live(timer.request_id)
        if request is None or S(request.state) is not S.AWAITING_VENDOR_REPLIES:
            return
        if any(usable(r) for r in self.replies_summary(request.id)):
            self.ledger.audit("outreach.target_reached", now, request.id)
            self.brain.consult(request.id, "shortlist_due", now)

    def _timer_hard_limit(self, timer: Timer, now: float) -> None:
        request = self._live(timer.request_id)
        if request is None:
            return
        self.ledger.exclude_pending_outreach(request_id=request.id)
        self.update(request.id, now, error_reason="timeout")
        self.fire(request.id, "fail", now, detail="timeout")
        self.ledger.audit("request.timeout", now, request.id)
        self.tell_client(request, "timeout_apology", text_for("timeout", self._lang(request)), now)

    def _timer_call_trigger(self, timer: Timer, now: float) -> None:
        from .calling import on_trigger_timer

        on_trigger_timer(self, timer, now)

    def _timer_call_watchdog(self, timer: Timer, now: float) -> None:
        from .calling import on_watchdog

        on_watchdog(self, timer, now)

    def _timer_ocr_run(self, timer: Timer, now: float) -> None:
        from .ocrflow import run_job

        run_job(self, timer, now)

    def _timer_idle_close(self, timer: Timer, now: float) -> None:
        request = self._live(timer.request_id)
        if request is None or S(request.state) is not S.COLLECTING_REQUIREMENTS:
            return
        heard = [t["at"] for t in self.ledger.transcript(request.id)
                 if t["direction"] == "in" and t["party"] == "client"]
        if heard and max(heard) > timer.payload["after"]:
            return  # the client spoke since: a newer idle timer owns the request
        changes = self.ledger.state_changes(request.id)
        if changes and changes[-1]["at"] > timer.payload["after"]:
            return  # the request came back to this wait later: that move armed a newer timer
        self.fire(request.id, "close", now, detail="idle")
        self.ledger.audit("request.idle_closed", now, request.id)
        self.tell_client(request, "idle_closed", text_for("idle_closed", self._lang(request)), now)

