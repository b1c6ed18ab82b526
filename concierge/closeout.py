"""The shortlist's closeout: persist -> shortlist_ready -> send -> handed_off -> pending outreach
excluded, each step idempotent; and the evidence a brain-proposed shortlist must have.

Written against the request desk (``concierge.desk``) and the outreach flow's reply summary.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .coded import candidates_from
from .lifecycle import PAST_HANDOFF, RequestState
from .phones import InvalidPhone, normalize_phone
from .ports import Timer
from .shortlist import Candidate, ScoredCandidate, format_shortlist, rank

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk
    from .outreach_flow import OutreachFlow

S = RequestState
log = logging.getLogger("concierge")
CLOSEOUT_CHECK_S = 60.0  # a closeout stopped half-way is resumed this long after it started


def _same_phone(a: str, b: str) -> bool:
    try:
        return normalize_phone(a) == normalize_phone(b)
    except InvalidPhone:
        return False


class Closeout:
    def __init__(self, desk: RequestDesk, outreach: OutreachFlow):
        self.desk = desk
        self.outreach = outreach

    def shortlist(self, request_id: str, action: dict[str, Any], now: float) -> None:
        """The ``shortlist`` action."""
        request = self.desk.request(request_id)
        replies = {r["vendor_id"]: r for r in self.outreach.replies_summary(request_id, request=request)}
        budget = (request.data.get("requirements") or {}).get("budget_max")
        # The brain chooses which replies; the domain's score (docs/domain.md) decides their order, drops out-of-stock
        # ones while a usable reply exists, and keeps at most 5.
        chosen = rank(candidates_from([replies[i["vendor_id"]] for i in action["items"]
                                       if i["vendor_id"] in replies]), budget)
        items = [{"vendor_id": s.candidate.vendor_id, "vendor_name": s.candidate.vendor_name,
                  "vendor_phone": s.candidate.vendor_phone, "score": s.score,
                  "availability": s.candidate.availability, "price_min": s.candidate.price_min,
                  "price_max": s.candidate.price_max, "confidence": s.candidate.confidence,
                  "distance_km": s.candidate.distance_km, "replied_after_s": s.candidate.replied_after_s,
                  "first_responder": s.candidate.first_responder,
                  "location_note": s.candidate.location_note, "options": list(s.candidate.options)}
                 for s in chosen]
        template = (action.get("handoff") or {}).get("message_template")
        if template:  # kept with the list, so a resumed closeout pre-fills the same links
            items = [{**item, "link_text": template} for item in items]
        if not items:
            self.desk.ledger.audit("shortlist.empty", now, request_id)
            return
        if self.desk.ledger.persist_shortlist(request_id, items, now):
            # Resumes the closeout should anything below stop half-way (crash, restart).
            self.desk.ports.scheduler.schedule(Timer("closeout_check", request_id, now + CLOSEOUT_CHECK_S))
        else:
            self.desk.ledger.audit("shortlist.already_persisted", now, request_id)
        self.closeout(request_id, now)

    def closeout(self, request_id: str, now: float) -> None:
        """persist → shortlist_ready → send → handed_off → pending outreach excluded; every step is
        idempotent, and a retry delivers the shortlist persisted first, so it sends nothing twice."""
        persisted = self.desk.ledger.shortlist(request_id)
        if persisted is None:
            return
        request = self.desk.request(request_id)
        state = S(request.state)
        if state is S.AWAITING_VENDOR_REPLIES:
            self._move(request_id, S.SHORTLIST_READY, now, "build_shortlist")
        elif state is S.COLLECTING_REQUIREMENTS:
            self._move(request_id, S.SHORTLIST_READY, now, "shortlist_existing_replies")
        if S(self.desk.request(request_id).state) is S.SHORTLIST_READY:
            fields = Candidate.__dataclass_fields__
            scored = [ScoredCandidate(Candidate(**{k: v for k, v in item.items() if k in fields
                                                   and k != "options"}, options=tuple(item.get("options") or ())),
                                      float(item["score"]), ())
                      for item in persisted["items"]]
            need = (request.data.get("plan") or {}).get("need")
            keys = []
            self.desk.outbox.busy.add(request_id)
            try:
                for i, text in enumerate(format_shortlist(scored, language=self.desk.lang(request), need=need)):
                    suffix = f":shortlist:{i}"
                    keys.append(self.desk.outbox.client_key(request, text, suffix))
                    self.desk.tell_client(self.desk.request(request_id), "shortlist", text, now, key_suffix=suffix)
            finally:
                self.desk.outbox.busy.discard(request_id)
            # The tool replays a retried call's first result; the outbox row is the message's fate.
            fates = [(self.desk.ledger.get_outbound(k) or {}).get("status") for k in keys]
            if any(f == "failed" for f in fates):
                self.desk.ledger.exclude_pending_outreach(request_id=request_id)
                self.desk.update(request_id, now, error_reason="shortlist_undeliverable")
                self.desk.fire(request_id, "fail", now, detail="shortlist_undeliverable")
                return
            if not all(f == "sent" for f in fates):
                self.desk.ledger.audit("shortlist.delivery_pending", now, request_id)
                return  # stays shortlist_ready until the outbox settles (see _delivery_settled)
            self.desk.ledger.mark_shortlist_delivered(request_id, now)
            if self._move(request_id, S.HANDED_OFF, now, "deliver_shortlist"):
                self.desk.ledger.audit("shortlist.delivered", now, request_id, size=len(scored),
                                  time_to_shortlist_s=now - request.created_at)
                self.desk.ports.scheduler.schedule(
                    Timer("follow_up_close", request_id, now + self.desk.caps.followup_window_s))
        if S(self.desk.request(request_id).state) in PAST_HANDOFF:
            excluded = self.desk.ledger.exclude_pending_outreach(request_id=request_id)
            if excluded:
                self.desk.ledger.audit("shortlist.outreach_excluded", now, request_id, outreach_excluded=excluded)

    def _move(self, request_id: str, dest: RequestState, now: float, reason: str) -> bool:
        # Through the audited tool, keyed per step: a resumed closeout replays, never re-applies.
        return bool(self.desk.tools.call(
            "marketplace.update_request_state",
            {"request_id": request_id, "idempotency_key": f"request:{request_id}:closeout:{dest.value}",
             "actor": "system", "to_state": dest.value, "reason": reason},
            now,
        )["success"])

    def check(self, timer: Timer, now: float) -> None:
        """The ``closeout_check`` timer: resume a closeout stopped half-way."""
        shortlist = self.desk.ledger.shortlist(timer.request_id or "")
        request = self.desk.ledger.get_request(timer.request_id or "")
        if shortlist is None or request is None or S(request.state) is S.ERROR:
            return
        if shortlist["delivered_at"] is None or S(request.state) is S.SHORTLIST_READY:
            self.desk.ledger.audit("shortlist.closeout_resumed", now, request.id, state=request.state)
        self.closeout(request.id, now)

    def evidence_problem(self, request_id: str, action: dict[str, Any]) -> str | None:
        """Why a proposed shortlist is not backed by the replies, or None."""
        replies = {r["vendor_id"]: r for r in self.outreach.replies_summary(request_id)}
        seen = set()
        for i, item in enumerate(action["items"]):
            vid = item["vendor_id"]
            if vid in seen:
                return f"items[{i}]: vendor {vid} listed twice"
            seen.add(vid)
            reply = replies.get(vid)
            if reply is None:
                return f"items[{i}]: vendor {vid} did not reply to this request"
            if not _same_phone(item["vendor_phone"], reply["vendor_phone"]):
                return f"items[{i}]: phone does not match vendor {vid}"
            if reply["suspicious"]:
                return f"items[{i}]: vendor {vid} was flagged as suspicious"
            price = item.get("price")
            if price is not None:
                try:
                    value = int(str(price).replace(",", "").replace("RWF", "").strip())
                except ValueError:
                    return f"items[{i}]: price {price!r} is not a number"
                lo, hi = reply["price_min"], reply["price_max"]
                if lo is None or not (lo <= value <= hi):
                    return f"items[{i}]: price {value} differs from the vendor's reply ({lo}-{hi})"
            avail = item.get("availability")
            if avail is not None and avail != reply["availability"]:
                return f"items[{i}]: availability {avail} differs from the reply ({reply['availability']})"
        return None

    def follow_up_close(self, timer: Timer, now: float) -> None:
        """The ``follow_up_close`` timer: the follow-up window is over."""
        request = self.desk.ledger.get_request(timer.request_id or "")
        if request is None or S(request.state) is not S.HANDED_OFF:
            return
        self.desk.fire(request.id, "follow_up_done", now)

