"""The request's clock: progress updates, the 6-minute target, the 10-minute limit, idle
requests. Written against the request desk (``concierge.desk``); the orchestrator's timer table
routes each timer name to its handler, here or in the concern that armed it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .coded import usable
from .ledger import RequestRow
from .lifecycle import OUTREACH_UNDER_WAY, RequestState
from .ports import Timer
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .brainloop import BrainLoop
    from .desk import RequestDesk
    from .outreach_flow import OutreachFlow

S = RequestState
log = logging.getLogger("concierge")


class RequestClock:
    def __init__(self, desk: RequestDesk, outreach: OutreachFlow, brain: BrainLoop):
        self.desk = desk
        self.outreach = outreach
        self.brain = brain

    def still_waiting(self, timer: Timer, now: float) -> None:
        request = self.desk.live(timer.request_id)
        if request is None or S(request.state) not in OUTREACH_UNDER_WAY:
            return
        if any(usable(r) for r in self.outreach.standing_replies(request.id)):
            return
        self.progress_update(request, text_for("still_waiting", self.desk.lang(request)), now)

    def progress_update(self, request: RequestRow, text: str, now: float) -> bool:
        updates = list(request.data.get("progress_updates") or [])
        if len(updates) >= self.desk.caps.progress_updates_max:
            self.desk.ledger.audit("client.update_suppressed", now, request.id, reason="cap")
            return False
        if self.desk.ledger.client_text_since(request.id, text, now - self.desk.caps.progress_repeat_window_s):
            self.desk.ledger.audit("client.update_suppressed", now, request.id, reason="repeat")
            return False
        updates.append({"text": text, "at": now})
        self.desk.update(request.id, now, progress_updates=updates)
        self.desk.tell_client(self.desk.request(request.id), "progress", text, now, key_suffix=f":u{len(updates)}")
        return True

    def target(self, timer: Timer, now: float) -> None:
        request = self.desk.live(timer.request_id)
        if request is None or S(request.state) is not S.AWAITING_VENDOR_REPLIES:
            return
        if any(usable(r) for r in self.outreach.standing_replies(request.id)):
            self.desk.ledger.audit("outreach.target_reached", now, request.id)
            self.brain.consult(request.id, "shortlist_due", now)

    def hard_limit(self, timer: Timer, now: float) -> None:
        request = self.desk.live(timer.request_id)
        if request is None:
            return
        self.desk.ledger.exclude_pending_outreach(request_id=request.id)
        self.desk.update(request.id, now, error_reason="timeout")
        self.desk.fire(request.id, "fail", now, detail="timeout")
        self.desk.ledger.audit("request.timeout", now, request.id)
        self.desk.tell_client(request, "timeout_apology", text_for("timeout", self.desk.lang(request)), now)

    def idle_close(self, timer: Timer, now: float) -> None:
        request = self.desk.live(timer.request_id)
        if request is None or S(request.state) is not S.COLLECTING_REQUIREMENTS:
            return
        heard = self.desk.ledger.last_heard_from_client(request.id)
        if heard is not None and heard > timer.payload["after"]:
            return  # the client spoke since: a newer idle timer owns the request
        changes = self.desk.ledger.state_changes(request.id)
        if changes and changes[-1]["at"] > timer.payload["after"]:
            return  # the request came back to this wait later: that move armed a newer timer
        self.desk.fire(request.id, "close", now, detail="idle")
        self.desk.ledger.audit("request.idle_closed", now, request.id)
        self.desk.tell_client(request, "idle_closed", text_for("idle_closed", self.desk.lang(request)), now)

