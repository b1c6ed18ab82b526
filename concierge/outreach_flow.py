"""Vendor outreach: executing a plan, batches, who replied, and when to stop asking.

Written against the request desk (``concierge.desk``). The brain loop it hands replies to is
attached by the orchestrator (the brain in turn executes this flow's plans).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .call_triggers import after_outreach_started
from .coded import usable
from .geo import distance_km, lookup_place
from .ledger import OutreachRow, RequestRow
from .lifecycle import ENDED_STATES, OUTREACH_UNDER_WAY, RequestState
from .outreach import compose_vendor_message, outreach_key
from .ports import Timer, Vendor
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .brainloop import BrainLoop
    from .desk import RequestDesk

S = RequestState
log = logging.getLogger("concierge")


@dataclass(frozen=True)
class Search:
    """A vendor search made through the audited tool: for which request, what was asked (the other
    arguments but the key), when, and its result; ``fresh`` when the handler computed it in this call (not a replay of a record)."""

    request_id: str
    query: dict[str, Any]
    now: float
    result: dict[str, Any]
    fresh: bool

    @property
    def vendors(self) -> list[dict[str, Any]]:
        return self.result["vendors"]


class OutreachFlow:
    brain: BrainLoop

    def __init__(self, desk: RequestDesk):
        self.desk = desk

    def plan(self, request_id: str, action: dict[str, Any], now: float) -> None:
        """The ``vendor_outreach_plan`` action."""
        stop = action.get("stop_conditions", {})
        filters = action.get("vendor_filters") or {}
        plan = {
            "category": action["category"],
            "need": action["normalized_need"],
            "batch_size": min(int(action["batch_size"]), self.desk.caps.batch_size_max),
            "questions": list(action.get("vendor_questions") or []),
            # Caps never widen: the brain may ask for fewer vendors, never more.
            "max_vendors": min(int(stop.get("max_vendors", 15)), self.desk.caps.max_vendors_per_request),
            "min_replies": int(stop.get("min_replies") or self.desk.caps.min_replies),
            "radius_km": min(float(filters.get("location_radius_km", self.desk.caps.radius_default_km)),
                             self.desk.caps.radius_max_km),
            "min_rating": float(filters.get("min_rating", 0.0)),
            "tags": list(filters.get("tags") or []),
            "calling_allowed": bool(action.get("calling_allowed")),
        }
        request = self.desk.request(request_id)
        under_way = S(request.state) in OUTREACH_UNDER_WAY
        searched = self._eligible(request, plan, now)
        if not searched.vendors:
            self.desk.ledger.audit("outreach.no_eligible_vendors", now, request_id, category=plan["category"])
            if under_way:
                return  # a repeated plan with nobody new to ask: the running outreach goes on as it is
            if S(request.state) is S.OCR_PROCESSING:
                self.desk.fire(request_id, "ocr_needs_client", now)
            clar = int(request.data.get("clarifications", 0)) + 1
            self.desk.update(request_id, now, plan=None, clarifications=clar)
            self.desk.tell_client(request, "widen_search", text_for("no_vendors", self.desk.lang(request)), now,
                             key_suffix=f":nv{clar}")
            return
        # The outreach clock starts once per request: a second plan must not re-arm its timers.
        first = request.data.get("first_outreach_at") is None
        # Only the search's record was written since the request was read.
        self.desk.update_row(request, now, plan=plan, **({"first_outreach_at": now} if first else {}))
        if S(request.state) is S.OCR_PROCESSING:
            self.desk.fire(request_id, "ocr_complete", now)
        else:
            self.desk.fire(request_id, "next_batch" if under_way else "requirements_complete", now)
        if first and not under_way:
            # Armed before the first send, so that a crash in the middle of the batch cannot leave
            # a request without its 10-minute limit (timers are durable, sends may be interrupted).
            for name, delay in (("still_waiting", self.desk.caps.still_waiting_s),
                                ("target", self.desk.caps.target_s),
                                ("hard_limit", self.desk.caps.hard_limit_s)):
                self.desk.ports.scheduler.schedule(Timer(name, request_id, now + delay))
        # Only the request's data, state and timers were written since the search: the batch's own
        # search, at the same time, finds what it found (recorded again, not computed again).
        if self._send_batch(request_id, now, searched=searched) == 0 and under_way:
            # Caps left no room for another batch: keep waiting on the batches already out.
            self.desk.fire(request_id, "batch_sent", now)
        if under_way or S(self.desk.request(request_id).state) in ENDED_STATES:
            return  # a repeated plan keeps the first one's timers; a failed outreach already apologised
        after_outreach_started(self.desk, request_id, now)
        self.desk.tell_client(self.desk.request(request_id), "searching",
                         text_for("searching", self.desk.lang(request)), now)

    def _eligible(self, request: RequestRow, plan: dict[str, Any], now: float, *,
                  searched: Search | None = None) -> Search:
        """The plan's vendor search, through the audited tool (each search is its own record).
        ``searched``: a fresh search this handling made before, with nothing written since to the
        outreach rows or the vendors' statuses (what a search reads besides its arguments and the
        directory); asked the same at the same time, its result is recorded rather than recomputed."""
        lat, lng = self._origin(request) or (None, None)
        query = {
            "actor": "system",
            "category": plan["category"],
            "lat": lat,
            "lng": lng,
            "radius_km": plan["radius_km"],
            "min_rating": plan["min_rating"],
            "tags": plan["tags"],
            "limit": 15,
        }
        known = None
        if (searched is not None and searched.fresh and searched.request_id == request.id
                and searched.now == now and searched.query == query):
            known = searched.result
        tools = self.desk.tools
        key = f"request:{request.id}:search:{self.desk.ledger.tool_call_count()}"
        args = {"request_id": request.id, "idempotency_key": key, **query}
        result = tools.call("marketplace.search_vendors", args, now, known=known)
        return Search(request.id, query, now, result, fresh=not tools.replayed)

    def _send_batch(self, request_id: str, now: float, *, searched: Search | None = None) -> int:
        request = self.desk.request(request_id)
        plan = request.data["plan"]
        rows = self.desk.ledger.outreach(request_id=request_id)
        room = min(plan["batch_size"], plan["max_vendors"] - len(rows))
        batch_no = self._current_batch(request, rows) + 1
        if room <= 0 or batch_no > self.desk.caps.max_batches:
            return 0
        candidates = self._eligible(request, plan, now, searched=searched).vendors
        sent = 0
        self.desk.outbox.busy.add(request_id)
        try:
            sent = self._send_to(request_id, plan, candidates, room, batch_no, now)
        finally:
            self.desk.outbox.busy.discard(request_id)
        if sent:
            self.desk.update(request_id, now, batches=batch_no, last_batch_at=now)
            self.desk.ledger.audit("outreach.batch_sent", now, request_id, batch=batch_no, vendors=sent)
            self.after_batch_attempt(request_id, now)
        return sent

    def _send_to(self, request_id: str, plan: dict[str, Any], candidates: list[dict[str, Any]], room: int,
                 batch_no: int, now: float) -> int:
        sent = 0
        for cand in candidates:
            if sent >= room:
                break
            vendor = self.desk.ports.directory.by_id(cand["vendor_id"])
            if vendor is None:
                continue
            key = outreach_key(request_id, vendor.id)
            if not self.desk.ledger.insert_outreach(request_id, vendor.id, key, batch_no, now):
                continue  # already asked for this request: the unique constraint said no
            text = compose_vendor_message(vendor, plan["need"], plan["questions"])
            self.desk.tools.call(
                "marketplace.send_vendor_message",
                {"request_id": request_id, "idempotency_key": key, "actor": "system",
                 "vendor_id": vendor.id, "text": text, "purpose": "outreach"},
                now,
            )
            sent += 1
        return sent

    def finish_interrupted_batch(self, request_id: str, now: float) -> bool:
        """After a restart, for a request found in vendor_outreach: a crash may have cut its batch
        short (that state lasts while a batch is being sent), and Meta's retry of the message that
        started it is a duplicate by then. Ask the rest of the batch, then do what the interrupted
        handler would have done next. Sends are keyed, so what already went out is not sent again.
        True when vendors were asked here."""
        request = self.desk.request(request_id)
        plan = request.data.get("plan")
        if not plan:
            return False
        rows = self.desk.ledger.outreach(request_id=request_id)
        batch_no = self._current_batch(request, rows)
        if batch_no == 0:
            sent = self._send_batch(request_id, now)
            batch_no = 1
        else:
            current = [o for o in rows if o.batch == batch_no]
            room = min(plan["batch_size"] - len(current), plan["max_vendors"] - len(rows))
            sent = 0
            if room > 0:
                self.desk.outbox.busy.add(request_id)
                try:
                    candidates = self._eligible(request, plan, now).vendors
                    sent = self._send_to(request_id, plan, candidates, room, batch_no, now)
                finally:
                    self.desk.outbox.busy.discard(request_id)
            if int(request.data.get("batches", 0)) < batch_no:  # the crash came before the count
                self.desk.update(request_id, now, batches=batch_no, last_batch_at=now)
                self.desk.ledger.audit("outreach.batch_sent", now, request_id, batch=batch_no,
                                  vendors=len(current) + sent, resumed=True)
            self.after_batch_attempt(request_id, now)
        request = self.desk.request(request_id)
        if batch_no == 1 and S(request.state) not in ENDED_STATES:
            after_outreach_started(self.desk, request_id, now)
            self.desk.tell_client(request, "searching", text_for("searching", self.desk.lang(request)), now)
        return sent > 0

    @staticmethod
    def _current_batch(request: RequestRow, rows: list[Any]) -> int:
        """The latest batch: the outreach rows are inserted before each send, so they know it even
        when a crash came before the request's own count was updated."""
        return max([int(request.data.get("batches", 0)), *(o.batch for o in rows)])

    def after_batch_attempt(self, request_id: str, now: float) -> None:
        """vendor_outreach -> awaiting_vendor_replies once a message of the batch is out; while all
        are still retrying, stay; if every one failed for good, ask the next vendors or give up."""
        request = self.desk.request(request_id)
        if S(request.state) is not S.VENDOR_OUTREACH:
            return
        rows = self.desk.ledger.outreach(request_id=request_id)
        batch_no = self._current_batch(request, rows)
        current = [o for o in rows if o.batch == batch_no]
        if any(o.sent_at is not None for o in current):
            self.desk.fire(request_id, "batch_sent", now)
            self.desk.ports.scheduler.schedule(
                Timer("batch_silence", request_id, now + self.desk.caps.batch_silence_s, {"batch": batch_no}))
            return
        if any(o.status == "queued" for o in current):
            self.desk.ledger.audit("outreach.batch_pending", now, request_id, batch=batch_no)
            return
        self.desk.ledger.audit("outreach.batch_failed", now, request_id, batch=batch_no)
        log.warning("no vendor of batch %d could be reached for %s", batch_no, request_id)
        if self._send_batch(request_id, now):
            return  # the next vendors were asked (the caps still bound how many)
        if any(o.sent_at is not None for o in rows):
            # Earlier batches are out: keep waiting on them, with a fresh silence clock.
            self.desk.fire(request_id, "batch_sent", now)
            self.desk.ports.scheduler.schedule(
                Timer("batch_silence", request_id, now + self.desk.caps.batch_silence_s, {"batch": batch_no}))
            return
        self.desk.ledger.exclude_pending_outreach(request_id=request_id)
        self.desk.update(request_id, now, error_reason="outreach_failed")
        self.desk.fire(request_id, "fail", now, detail="outreach_failed")
        self.desk.tell_client(request, "outreach_failed_apology", text_for("timeout", self.desk.lang(request)), now)

    def replies_summary(self, request_id: str, *, request: RequestRow | None = None,
                        outreach_rows: list[OutreachRow] | None = None) -> list[dict[str, Any]]:
        """Each replying vendor's latest parsed reply, with what the shortlist needs to rank it.

        A caller that holds the request's row (for the place its distances are measured from) or
        its outreach rows, read in the same handling with no write to them since, passes them in
        rather than have them read again (a request row's data is decoded on every read)."""
        if request is None:
            request = self.desk.request(request_id)
        origin = self._origin(request)
        if outreach_rows is None:
            outreach_rows = self.desk.ledger.outreach(request_id=request_id)
        outreach = {o.vendor_id: o for o in outreach_rows}
        latest = self._latest_replies(request_id)
        out = []
        first_vendor = None
        for vendor_id, reply in latest.items():
            if first_vendor is None or reply["at"] < latest[first_vendor]["at"]:
                first_vendor = vendor_id
        for vendor_id, reply in latest.items():
            vendor = self.desk.ports.directory.by_id(vendor_id)
            if not _standing(vendor, reply):
                continue
            p = reply["parsed"]
            o = outreach.get(vendor_id)
            sent_at = o.sent_at if o and o.sent_at is not None else reply["at"]
            dist = None
            if origin and vendor.lat is not None and vendor.lng is not None:
                dist = round(distance_km(origin[0], origin[1], vendor.lat, vendor.lng), 3)
            out.append({
                "vendor_id": vendor_id,
                "vendor_name": vendor.name,
                "vendor_phone": vendor.phone,
                "availability": p.get("availability", "unclear"),
                "price_min": p.get("price_min"),
                "price_max": p.get("price_max"),
                "confidence": p.get("confidence", 0.0),
                "location_note": p.get("location_note"),
                "options": list(p.get("options") or []),
                "distance_km": dist,
                "replied_after_s": max(0.0, reply["at"] - sent_at),
                "first_responder": vendor_id == first_vendor,
                "suspicious": bool(p.get("suspicious")),
            })
        out.sort(key=lambda r: r["vendor_id"])
        return out

    def _latest_replies(self, request_id: str) -> dict[str, dict[str, Any]]:
        """Each replying vendor's latest reply, in the order the vendors first replied."""
        latest: dict[str, dict[str, Any]] = {}
        for reply in self.desk.ledger.replies(request_id):
            latest[reply["vendor_id"]] = reply
        return latest

    def standing_replies(self, request_id: str) -> list[dict[str, Any]]:
        """What ``replies_summary`` says of each reply it lists (its vendor, its availability and
        whether it is suspicious; in the order the vendors first replied), read from the replies
        alone. For the checks that only ask whether enough replies are in stock or usable (a vendor
        reply, the clock's timers): they need neither the outreach rows the summary times the
        replies by nor the request's place it measures from."""
        directory = self.desk.ports.directory
        return [
            {"vendor_id": vendor_id, "availability": reply["parsed"].get("availability", "unclear"),
             "suspicious": bool(reply["parsed"].get("suspicious"))}
            for vendor_id, reply in self._latest_replies(request_id).items()
            if _standing(directory.by_id(vendor_id), reply)
        ]

    def _origin(self, request: RequestRow) -> tuple[float, float] | None:
        place = (request.data.get("requirements") or {}).get("place")
        if place:
            p = lookup_place(place)
            if p:
                return (p.lat, p.lng)
        return None

    def check_stop_condition(self, request_id: str, now: float) -> None:
        request = self.desk.request(request_id)
        if S(request.state) is not S.AWAITING_VENDOR_REPLIES:
            return
        plan = request.data.get("plan") or {}
        need = int(plan.get("min_replies") or self.desk.caps.min_replies)
        in_stock = [
            r for r in self.standing_replies(request_id)
            if r["availability"] == "in_stock" and not r["suspicious"]
        ]
        if len(in_stock) >= need:
            self.desk.ledger.audit("outreach.stop_condition_met", now, request_id, in_stock=len(in_stock))
            self.brain.consult(request_id, "replies_ready", now)

    def batch_silence(self, timer: Timer, now: float) -> None:
        """The ``batch_silence`` timer: ask the next vendors, shortlist, or ask to widen the search."""
        request = self.desk.live(timer.request_id)
        if request is None or S(request.state) is not S.AWAITING_VENDOR_REPLIES:
            return
        if timer.payload.get("batch") != request.data.get("batches"):
            return  # a newer batch owns the silence timer
        last = max(request.data.get("last_reply_at") or 0.0, request.data.get("last_batch_at") or 0.0)
        if now - last < self.desk.caps.batch_silence_s:
            self.desk.ports.scheduler.schedule(
                Timer("batch_silence", request.id, last + self.desk.caps.batch_silence_s, timer.payload)
            )
            return
        plan = request.data["plan"]
        rows = self.desk.ledger.outreach(request_id=request.id)
        contacted = len(rows)
        searched = None
        if int(request.data.get("batches", 0)) < self.desk.caps.max_batches and contacted < plan["max_vendors"]:
            searched = self._eligible(request, plan, now)
        if searched is not None and searched.vendors:
            self.desk.fire(request.id, "next_batch", now)
            # Only the state was written since the search: the batch's own finds the same.
            if self._send_batch(request.id, now, searched=searched) == 0:  # pragma: no cover - eligibility just said yes
                self.desk.fire(request.id, "batch_sent", now)
            return
        summary = self.standing_replies(request.id)
        if any(usable(r) for r in summary):
            self.desk.ledger.audit("outreach.exhausted_shortlisting", now, request.id)
            self.brain.consult(request.id, "shortlist_due", now)
            return
        pending = [o for o in rows if o.status in ("queued", "sent")]
        if summary and not pending:
            # Everyone answered and nobody has it: ask the client to widen the search.
            self.desk.ledger.audit("outreach.exhausted_no_stock", now, request.id)
            self.desk.ask_client(request.id, text_for("widen_search", self.desk.lang(request)), now)


def _standing(vendor: Vendor | None, reply: dict[str, Any]) -> bool:
    """Whether a vendor's latest reply stands in the summary: a vendor still in the directory, not
    saying it is busy or asking to stop."""
    p = reply["parsed"]
    return vendor is not None and not (p.get("busy") or p.get("stop"))
