"""The orchestrator: inbound events in, validated actions executed through the tools.

``Concierge`` is driven by four entry points — a webhook body, a timer, a call-status callback, and
(for tests) an already-parsed message — each handed the virtual time ``now``. It reads no clock and
does no I/O of its own: the ports do. Every decision that must hold at most once (a wamid processed,
a vendor asked, a message sent) is decided by a ledger insert, so a redelivery or a retry is a no-op.

This module holds the entry points, the request's life and the client's and vendors' messages; each
other concern has its own module, mixed into ``Concierge``: ``outbox`` (sending and retries),
``outreach_flow`` (plans, batches, replies, stop conditions), ``closeout`` (the shortlist's delivery)
and ``timers`` (the request's clock).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from . import lifecycle
from . import replies as reply_rules
from .brainloop import BrainLoop
from .calling import consent_status
from .closeout import CloseoutMixin
from .coded import CodedWorkflow
from .durable import DurableScheduler, claim
from .durable import resume as resume_after_restart
from .errors import (
    IllegalTransition,
    SignatureInvalid,
    WebhookMalformed,
)
from .flags import Flags
from .ledger import Ledger, RequestRow
from .lifecycle import ENDED_STATES, OUTREACH_UNDER_WAY, RequestState
from .needs import Requirements, detect_language, extract_requirements
from .outbox import OutboxMixin
from .outreach_flow import OutreachMixin
from .phones import mask_phone
from .policy import Caps
from .ports import (
    Brain,
    CallProvider,
    ClientProfiles,
    OcrEngine,
    Scheduler,
    Timer,
    Transport,
    VendorDirectory,
)
from .safety import contains_payment_instruction, detect_injection, redact, sanitize_need
from .texts import text_for
from .timers import TimersMixin
from .tools import Toolbox
from .webhooks import InboundMessage, StatusUpdate, parse_webhook

S = RequestState
log = logging.getLogger("concierge")
SILENT_KINDS = frozenset({"reaction", "system"})  # recorded (one ledger row), never answered


@dataclass
class WebhookResult:
    accepted: bool
    reason: str | None = None
    processed: int = 0
    duplicates: int = 0
    statuses: int = 0


@dataclass
class Ports:
    transport: Transport
    directory: VendorDirectory
    brain: Brain
    scheduler: Scheduler
    ocr: OcrEngine | None = None
    calls: CallProvider | None = None
    clients: ClientProfiles | None = None


@dataclass
class Settings:
    flags: Flags = field(default_factory=Flags)
    caps: Caps = field(default_factory=Caps)
    app_secret: str = "app-secret"
    call_secret: str = "call-secret"  # signs the calling provider's status callbacks



def requirements_from(data: dict[str, Any]) -> Requirements:
    return Requirements.from_dict(data)


class Concierge(OutboxMixin, OutreachMixin, CloseoutMixin, TimersMixin):
    def __init__(self, ledger: Ledger, ports: Ports, settings: Settings | None = None):
        self.ledger = ledger
        # Timers go through the ledger first, so that a restarted concierge can re-arm them.
        self.ports = replace(ports, scheduler=DurableScheduler(ledger, ports.scheduler))
        self.settings = settings or Settings()
        self.caps = self.settings.caps
        self.flags = self.settings.flags
        self.coded = CodedWorkflow()
        self.tools = Toolbox(self)
        self._busy: set[str] = set()  # requests whose batch or closeout is being sent right now
        self.brain = BrainLoop(self)
        # What entering a state sets off: lifecycle.ON_ENTER names it, this table runs it.
        self._on_enter = {"arm_idle_close": self._arm_idle_close}

    # ------------------------------------------------------------------------------------------
    # entry points
    # ------------------------------------------------------------------------------------------
    def on_webhook(self, raw_body: bytes, signature: str | None, now: float) -> WebhookResult:
        with self.ledger.unit_of_work():
            return self._on_webhook(raw_body, signature, now)

    def _on_webhook(self, raw_body: bytes, signature: str | None, now: float) -> WebhookResult:
        try:
            updates = parse_webhook(raw_body, signature, self.settings.app_secret)
        except SignatureInvalid as exc:
            self.ledger.audit("webhook.signature_invalid", now, reason=str(exc))
            log.warning("webhook refused: signature %s", exc)
            return WebhookResult(False, f"signature: {exc}")
        except WebhookMalformed as exc:
            self.ledger.audit("webhook.malformed", now, reason=str(exc)[:300])
            log.warning("webhook refused: malformed (%s)", str(exc)[:200])
            return WebhookResult(False, f"malformed: {exc}")
        result = WebhookResult(True)
        for update in updates:
            if isinstance(update, StatusUpdate):
                self.on_status(update, now)
                result.statuses += 1
            elif self.on_message(update, now):
                result.processed += 1
            else:
                result.duplicates += 1
        return result

    def on_message(self, msg: InboundMessage, now: float) -> bool:
        """Process one inbound message once; False when the wamid was already recorded."""
        vendor = self.ports.directory.by_phone(msg.from_phone)
        party = "vendor" if vendor is not None else "client"
        if not self.ledger.record_inbound(msg.wamid, msg.from_phone, party, msg.kind, now):
            self.ledger.audit("inbound.duplicate_suppressed", now, wamid=msg.wamid, party=party)
            return False
        if vendor is not None:
            self._vendor_message(vendor, msg, now)
        else:
            self._client_message(msg, now)
        return True

    def on_status(self, status: StatusUpdate, now: float) -> None:
        key = status.callback_data
        row = self.ledger.get_outbound(key) if key else None
        if row is None:
            self.ledger.audit("status.unknown", now, status=status.status, wamid=status.wamid)
            return
        if status.status in ("sent", "delivered", "read") and row["status"] in ("pending", "failed"):
            # Meta did accept it even though our call timed out (even the last attempt): it was
            # delivered, so it is sent, and never sent again.
            self._mark_sent(row, status.wamid, now)
        elif status.status == "failed" and row["status"] != "failed":
            self.ledger.update_outbound(key, status="failed", last_error="status failed")
            self.ledger.audit("message.failed", now, row["request_id"], idem_key=key)

    def resume(self, now: float) -> dict[str, int]:
        """Start-up after a crash or restart: re-arm unfired timers, retry sends left pending."""
        with self.ledger.unit_of_work():
            return resume_after_restart(self, now)

    def on_call_status(self, raw_body: bytes, signature: str | None, now: float) -> str:
        """A signed status callback of the calling provider (verified and applied in calling.py)."""
        from .calling import on_call_callback

        with self.ledger.unit_of_work():
            return on_call_callback(self, raw_body, signature, now)

    def on_timer(self, timer: Timer, now: float) -> None:
        with self.ledger.unit_of_work():
            self._on_timer(timer, now)

    def _on_timer(self, timer: Timer, now: float) -> None:
        if not claim(self.ledger, timer):
            return  # this timer already fired (a copy scheduled before a restart)
        handler = getattr(self, f"_timer_{timer.name}", None)
        if handler is None:
            self.ledger.audit("timer.unknown", now, timer.request_id, name=timer.name)
            return
        handler(timer, now)

    # ------------------------------------------------------------------------------------------
    # requests
    # ------------------------------------------------------------------------------------------
    def request(self, request_id: str) -> RequestRow:
        row = self.ledger.get_request(request_id)
        assert row is not None, request_id
        return row

    def _open_request(self, phone: str, language: str, now: float) -> RequestRow:
        handled_by = "ai" if self.flags.in_ai_cohort(phone) else "coded"
        data = {
            "language": language,
            "handled_by": handled_by,
            "requirements": {},
            "plan": None,
            "batches": 0,
            "brain_calls": 0,
            "brain_rejected": 0,
            "brain_rejected_in_a_row": 0,
            "kill_switch": False,
            "clarifications": 0,
            "progress_updates": [],
            "ocr_jobs": 0,
            "first_outreach_at": None,
            "last_reply_at": None,
            "error_reason": None,
        }
        request_id = self.ledger.create_request(phone, S.COLLECTING_REQUIREMENTS.value, now, data)
        self.ledger.audit("request.opened", now, request_id, handled_by=handled_by)
        log.info("request %s opened for %s (%s)", request_id, mask_phone(phone), handled_by)
        return self.request(request_id)

    def update(self, request_id: str, now: float, **changes: Any) -> dict[str, Any]:
        data = self.request(request_id).data
        data.update(changes)
        self.ledger.save_request_data(request_id, data, now)
        return data

    def fire(self, request_id: str, trigger: str, now: float, detail: str | None = None) -> bool:
        """Fire a lifecycle trigger; refuse and audit what the table does not allow. The audit's
        reason is the detail when there is one (why), else the trigger's name."""
        row = self.request(request_id)
        dest = lifecycle.destination(trigger)
        if row.state == dest.value:
            return True
        reason = trigger if detail is None else detail
        try:
            lifecycle.fire(row.state, trigger, request_id)
        except IllegalTransition as exc:
            self.ledger.audit(
                "state.transition_refused", now, request_id, source=row.state, dest=dest.value,
                reason=reason,
            )
            log.warning("refused transition: %s", exc)
            return False
        self.ledger.set_state(request_id, row.state, dest.value, now, reason)
        self.ledger.audit("state.changed", now, request_id, source=row.state, dest=dest.value, reason=reason)
        for effect in lifecycle.ON_ENTER.get(dest, ()):
            self._on_enter[effect](request_id, now)
        return True

    def move(self, request_id: str, dest: RequestState, now: float, reason: str) -> bool:
        """The ``update_request_state`` tool's contract names a destination: fire the trigger of
        that edge (an edge the table lacks is refused and audited like any other)."""
        row = self.request(request_id)
        if row.state == dest.value:
            return True
        trigger = lifecycle.trigger_between(row.state, dest)
        if trigger is None:
            self.ledger.audit(
                "state.transition_refused", now, request_id, source=row.state, dest=dest.value,
                reason=reason,
            )
            log.warning("refused transition: %s", IllegalTransition(request_id, row.state, dest.value))
            return False
        return self.fire(request_id, trigger, now, detail=reason)

    def _active_request(self, phone: str) -> RequestRow | None:
        row = self.ledger.latest_request(phone)
        if row is None or S(row.state) in ENDED_STATES:
            return None
        return row

    # ------------------------------------------------------------------------------------------
    # sending (outbox with retries on the virtual clock)
    # ------------------------------------------------------------------------------------------


    # ------------------------------------------------------------------------------------------
    # client messages
    # ------------------------------------------------------------------------------------------
    def _client_message(self, msg: InboundMessage, now: float) -> None:
        phone = msg.from_phone
        text = (msg.text or "").strip()
        if msg.kind in SILENT_KINDS:
            # A 👍 on the shortlist or "user changed number" is not a request: record it, answer nothing.
            self.ledger.audit("inbound.ignored", now, kind=msg.kind, wamid=msg.wamid)
            return
        request = self._active_request(phone)
        # STOP is honoured even from a rate-limited client: an opt-out must never be dropped.
        if text and reply_rules.is_client_cancel(text):
            self._client_cancel(phone, request, msg, now)
            return
        if self._rate_limited(phone, msg, now):
            return
        from .calling import on_client_message as calling_route

        if calling_route(self, phone, msg, now) is not None:
            return  # a consent answer or a bare "call me": calling.py owns it
        if request is None:
            profile_language = self.ports.clients.language_of(phone) if self.ports.clients else None
            language = detect_language(text, profile_language or "en") if text else (profile_language or "en")
            request = self._open_request(phone, language, now)
        self.ledger.link_inbound(msg.wamid, request.id)
        shown = text or (msg.caption or f"[{msg.kind}]")
        self.ledger.add_transcript(request.id, "in", "client", phone, shown, now, wamid=msg.wamid)
        if text or msg.caption:
            finding = detect_injection(text or msg.caption or "", source="client", sender_phone=phone)
            if finding.flagged:
                self.ledger.audit(
                    "injection.flagged", now, request.id, source="client", kinds=list(finding.kinds),
                    wamid=msg.wamid,
                )
                log.warning("injection attempt flagged in client text (%s)", ",".join(finding.kinds))
        state = S(request.state)
        # Whatever this message leads to (a question, "please type it", a rejected proposal, or a
        # crash half-way through answering), a client who then goes silent must not leave the
        # request open for ever: the idle timer is armed before anything is sent.
        self._arm_idle_close(request.id, now)
        if msg.kind in ("image", "document"):
            self._client_media(request, msg, now)
            return
        if msg.kind not in ("text", "button", "interactive"):
            self.ledger.audit("inbound.unsupported", now, request.id, kind=msg.kind)
            self.tell_client(request, "unsupported", text_for("unsupported_type", self._lang(request)), now)
            return
        if not text:
            self.ledger.audit("inbound.empty", now, request.id)
            return
        if state is not S.COLLECTING_REQUIREMENTS:
            # The need is being worked on: the text is kept for the brain's context, nothing more.
            self.ledger.audit("client.message_while_busy", now, request.id, state=state.value)
            return
        self._absorb_requirements(request, text, now)
        self.brain.consult(request.id, "client_message", now)

    def _arm_idle_close(self, request_id: str, now: float) -> None:
        if S(self.request(request_id).state) is S.COLLECTING_REQUIREMENTS:
            # Waiting on the client (a question, or a rejected proposal): a request nobody answers
            # must end politely rather than stay open for ever.
            self.ports.scheduler.schedule(
                Timer("idle_close", request_id, now + self.caps.idle_close_s, {"after": now}))

    def _lang(self, request: RequestRow) -> str:
        return request.data.get("language", "en")

    def _absorb_requirements(self, request: RequestRow, text: str, now: float) -> None:
        # Text is data: only the clauses that describe a need may reach vendors (and the shortlist).
        text = sanitize_need(text)
        if not text:
            self.ledger.audit("need.nothing_usable", now, request.id)
            return
        current = request.data.get("requirements") or {}
        known_area = self.ports.clients.area_of(request.client_phone) if self.ports.clients else None
        newer = extract_requirements(
            text, known_area=known_area, default_language=self._lang(request)
        )
        merged = requirements_from(current).merged(newer) if current else newer
        self.update(request.id, now, requirements=self._req_dict(merged))

    @staticmethod
    def _req_dict(req: Requirements) -> dict[str, Any]:
        d = req.to_dict()
        d["missing"] = list(req.missing())
        d["complete"] = bool(req.complete)
        return d

    def _rate_limited(self, phone: str, msg: InboundMessage, now: float) -> bool:
        # Counted on recorded inbound rows, so redeliveries never count twice.
        rows = self.ledger.client_inbound_since(phone, now - 60.0)
        # Keyed on a digest of the full number: two clients whose masks match are two clients.
        client_key = hashlib.sha256(phone.encode("utf-8")).hexdigest()[:16]
        until = self.ledger.last_rate_limited(client_key)
        if until is not None and now < until + self.caps.rate_limit_s:
            self.ledger.audit("client.message_dropped_rate_limit", now, wamid=msg.wamid)
            return True
        if rows > self.caps.client_messages_per_minute:
            self.ledger.audit("client.rate_limited", now, phone=mask_phone(phone), client_key=client_key,
                              wamid=msg.wamid)
            log.warning("client %s rate limited for %ds", mask_phone(phone), self.caps.rate_limit_s)
            return True
        return False

    def _client_cancel(self, phone: str, request: RequestRow | None, msg: InboundMessage, now: float) -> None:
        if request is None:
            self.ledger.audit("client.cancel_without_request", now, wamid=msg.wamid)
            return
        self.ledger.link_inbound(msg.wamid, request.id)
        self.ledger.add_transcript(request.id, "in", "client", phone, msg.text or "", now, wamid=msg.wamid)
        excluded = self.ledger.exclude_pending_outreach(request_id=request.id)
        self.fire(request.id, "close", now, detail="client_cancelled")
        self.ledger.audit("client.cancelled", now, request.id, outreach_excluded=excluded)
        self.tell_client(request, "cancel_confirmation", text_for("cancelled", self._lang(request)), now)

    def _client_media(self, request: RequestRow, msg: InboundMessage, now: float) -> None:
        from .ocrflow import handle_media

        handle_media(self, request, msg, now)

    # ------------------------------------------------------------------------------------------
    # vendor messages
    # ------------------------------------------------------------------------------------------
    def _vendor_message(self, vendor: Any, msg: InboundMessage, now: float) -> None:
        text = msg.text or ""
        if reply_rules.is_vendor_stop(text):
            self._vendor_stop(vendor, msg, now)
            return
        outreach = self._outreach_for_reply(vendor.id, msg.context_wamid)
        request_id = outreach.request_id if outreach else None
        if request_id:
            self.ledger.link_inbound(msg.wamid, request_id)
        self.ledger.add_transcript(request_id, "in", "vendor", vendor.phone, text or f"[{msg.kind}]", now,
                                   vendor_id=vendor.id, wamid=msg.wamid)
        parsed = reply_rules.parse_vendor_reply(text, vendor_phone=vendor.phone)
        finding = detect_injection(text, source="vendor", sender_phone=vendor.phone)
        payment = contains_payment_instruction(text)
        suspicious = bool(parsed.suspicious or finding.flagged or payment)
        if suspicious:
            self.ledger.audit(
                "injection.flagged", now, request_id, source="vendor", vendor_id=vendor.id,
                kinds=sorted(set(finding.kinds) | ({"payment_request"} if payment else set())),
                wamid=msg.wamid,
            )
            log.warning("suspicious vendor reply flagged (vendor %s)", vendor.id)
        if outreach is None:
            self.ledger.audit("vendor.unsolicited_message", now, None, vendor_id=vendor.id)
            return
        parsed_dict = parsed.to_dict()
        parsed_dict["suspicious"] = suspicious
        request = self.request(request_id)
        active = S(request.state) in OUTREACH_UNDER_WAY
        self.tools.call(
            "marketplace.record_vendor_reply",
            {
                "request_id": request_id, "idempotency_key": f"reply:{msg.wamid}", "actor": "vendor",
                "vendor_id": vendor.id, "wamid": msg.wamid, "text": text, "parsed": parsed_dict,
            },
            now,
        )
        if parsed.busy:
            self.ledger.set_vendor_busy(vendor.id, now + self.caps.busy_exclusion_s)
            self.ledger.set_outreach_status(request_id, vendor.id, "excluded", now)
            self.ledger.audit("vendor.busy", now, request_id, vendor_id=vendor.id)
            return
        if not active:
            self.ledger.audit("vendor.reply_after_end", now, request_id, vendor_id=vendor.id, state=request.state)
            return
        self.update(request_id, now, last_reply_at=now)
        self._check_stop_condition(request_id, now)
        from .calling import after_vendor_reply

        after_vendor_reply(self, request_id, vendor.id, parsed_dict, now)

    def _outreach_for_reply(self, vendor_id: str, context_wamid: str | None):
        # The outreach the message quotes; else the latest this vendor was sent, the one it most
        # likely answers. Asked of the ledger: a vendor's outreach grows with the run.
        return self.ledger.outreach_answered_by(vendor_id, context_wamid)

    def _vendor_stop(self, vendor: Any, msg: InboundMessage, now: float) -> None:
        self.ledger.add_transcript(None, "in", "vendor", vendor.phone, msg.text or "", now,
                                   vendor_id=vendor.id, wamid=msg.wamid)
        first = self.ledger.opt_out_vendor(vendor.id, now)
        excluded = self.ledger.exclude_pending_outreach(vendor_id=vendor.id)
        self.ledger.audit("vendor.opted_out", now, None, vendor_id=vendor.id, outreach_excluded=excluded,
                          first=first)
        if first:
            self.send(
                request_id=None, to=vendor.phone, party="vendor", purpose="stop_confirmation",
                text=text_for("vendor_stop_confirmation", vendor.language),
                key=f"vendor:{vendor.id}:stop_confirmation", now=now, vendor_id=vendor.id,
            )


    # ------------------------------------------------------------------------------------------
    # action execution
    # ------------------------------------------------------------------------------------------
    def execute(self, request_id: str, action: dict[str, Any], now: float) -> None:
        kind = action["type"]
        getattr(self, f"_do_{kind}")(request_id, action, now)

    def _do_ask_client(self, request_id: str, action: dict[str, Any], now: float) -> None:
        request = self.request(request_id)
        state = S(request.state)
        if state is S.OCR_PROCESSING:
            self.fire(request_id, "ocr_needs_client", now)
        elif state is S.AWAITING_VENDOR_REPLIES:
            self.fire(request_id, "widen_search", now)
        clarifications = int(request.data.get("clarifications", 0)) + 1
        self.update(request_id, now, clarifications=clarifications)
        question = action["question_text"]
        self.tell_client(self.request(request_id), "question", question, now, key_suffix=f":q{clarifications}")

    def _do_escalate(self, request_id: str, action: dict[str, Any], now: float) -> None:
        request = self.request(request_id)
        self.ledger.audit("request.escalated", now, request_id, reason=action["reason"], to=action.get("to"))
        self.ledger.exclude_pending_outreach(request_id=request_id)
        self.update(request_id, now, error_reason=action["reason"])
        self.fire(request_id, "fail", now, detail=f"escalated: {action['reason']}")
        self.tell_client(request, "escalation", action["safe_client_message"], now)


    # ------------------------------------------------------------------------------------------
    # timers
    # ------------------------------------------------------------------------------------------


    # used by BrainLoop -------------------------------------------------------------------------
    def context_pack(self, request_id: str, event: str, now: float | None = None) -> dict[str, Any]:
        request = self.request(request_id)
        # The request's core facts come through the audited snapshot tool: what the brain was shown
        # is on record. A numbered key per snapshot, so a replay never serves a stale one.
        at = request.updated_at if now is None else now
        taken = int(request.data.get("snapshots", 0)) + 1
        self.update(request_id, at, snapshots=taken)
        snapshot = self.tools.call(
            "marketplace.get_request_snapshot",
            {"request_id": request_id, "idempotency_key": f"request:{request_id}:snapshot:{taken}",
             "actor": "system"},
            at,
        )["request"]
        messages = [
            {"from": "client" if t["party"] == "client" and t["direction"] == "in"
             else ("vendor" if t["party"] == "vendor" and t["direction"] == "in" else "concierge"),
             "text": redact(t["text"])[:1000]}
            for t in self.ledger.transcript(request_id, limit=20)
        ]
        jobs = self.ledger.ocr_jobs(request_id)
        latest_ocr = jobs[-1]["result"] if jobs else None
        outreach = self.ledger.outreach(request_id=request_id)
        return {
            "contract": "context_pack.v1",
            "request_id": request_id,
            "conversation_id": f"conv:{request.client_phone and mask_phone(request.client_phone)}",
            "language": snapshot["language"],
            "state": snapshot["state"],
            "event": event,
            "requirements": snapshot["requirements"],
            "clarifications_asked": int(request.data.get("clarifications", 0)),
            "messages": messages,
            "ocr": latest_ocr,
            "outreach": {
                "contacted": len(outreach),
                "batches": int(request.data.get("batches", 0)),
                "by_status": {s: sum(1 for o in outreach if o.status == s) for s in
                              ("queued", "sent", "replied", "no_response", "failed", "excluded")},
                "replies": self.replies_summary(request_id),
            },
            "policies": {
                "ai_enabled": request.data.get("handled_by") == "ai",
                "ocr_enabled": self.flags.ocr_on(request.client_phone),
                "calling_enabled": self.flags.calling_on(request.client_phone),
                "calling_consent": consent_status(self, request_id, at),
                "caps": {
                    "batch_size_max": self.caps.batch_size_max,
                    "max_batches": self.caps.max_batches,
                    "max_vendors_per_request": self.caps.max_vendors_per_request,
                    "min_replies": self.caps.min_replies,
                    "clarifications_max": self.caps.clarifications_max,
                    "radius_default_km": self.caps.radius_default_km,
                },
            },
        }


