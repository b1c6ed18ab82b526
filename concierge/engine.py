"""The orchestrator: inbound events in, validated actions executed through the tools.

``Concierge`` is driven by four entry points — a webhook body, a timer, a call-status callback, and
(for tests) an already-parsed message — each handed the virtual time ``now``. It reads no clock and
does no I/O of its own: the ports do. Every decision that must hold at most once (a wamid processed,
a vendor asked, a message sent) is decided by a ledger insert, so a redelivery or a retry is a no-op.

This module is the top of the concierge: it holds the entry points and the client's and vendors'
messages, builds the concerns over one request desk (``concierge.desk``: the request's row and state,
ports, settings, tools, outbox) and wires them with explicit tables — the brain's actions, the
timers, the tools, what a settled delivery sets off. The concerns never import this module:
``outreach_flow`` (plans, batches, replies, stop conditions), ``closeout`` (the shortlist's delivery),
``timers`` (the request's clock), ``brainloop`` (the brain), ``ocrflow``, ``calling``, ``durable``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import call_gates, call_triggers, ocrflow
from . import replies as reply_rules
from .brainloop import BrainLoop
from .call_consent import request_consent
from .closeout import Closeout
from .desk import Ports, RequestDesk, Settings
from .durable import DurableScheduler, claim
from .durable import resume as resume_after_restart
from .errors import SignatureInvalid, WebhookMalformed
from .ledger import Ledger, RequestRow
from .lifecycle import OUTREACH_UNDER_WAY, RequestState
from .needs import detect_language
from .outreach_flow import OutreachFlow
from .phones import mask_phone
from .ports import Timer
from .safety import contains_payment_instruction, detect_injection
from .texts import text_for
from .timers import RequestClock
from .tools import Toolbox, core_tools
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


class Concierge:
    def __init__(self, ledger: Ledger, ports: Ports, settings: Settings | None = None):
        self.ledger = ledger
        # Timers go through the ledger first, so that a restarted concierge can re-arm them.
        self.ports = replace(ports, scheduler=DurableScheduler(ledger, ports.scheduler))
        self.settings = settings or Settings()
        self.caps = self.settings.caps
        self.flags = self.settings.flags
        desk = self.desk = RequestDesk(ledger, self.ports, self.settings)
        self.outbox = desk.outbox
        self.outreach = OutreachFlow(desk)
        self.closeout = Closeout(desk, self.outreach)
        self.brain = BrainLoop(desk, self.outreach, self.closeout)
        self.outreach.brain = self.brain
        self.clock = RequestClock(desk, self.outreach, self.brain)
        self.tools = desk.tools = Toolbox(ledger, {
            **core_tools(desk),
            "marketplace.create_ocr_job": lambda args, now: ocrflow.create_job(desk, args, now),
            "marketplace.get_ocr_result": lambda args, now: ocrflow.job_result(desk, args, now),
            "marketplace.request_call_consent": lambda args, now: request_consent(desk, args, now),
            "marketplace.start_call": lambda args, now: call_gates.start_call(desk, args, now),
        })
        # What an accepted action (the brain's or the coded workflow's) does, by action type.
        self.brain.actions = {
            "ask_client": self._ask_client,
            "vendor_outreach_plan": self.outreach.plan,
            "shortlist": self.closeout.shortlist,
            "escalate": self._escalate,
        }
        # What a timer does when it fires, by name (the concern that armed it handles it).
        self._timers: dict[str, Callable[[Timer, float], None]] = {
            "retry_send": self.outbox.retry,
            "still_waiting": self.clock.still_waiting,
            "target": self.clock.target,
            "hard_limit": self.clock.hard_limit,
            "idle_close": self.clock.idle_close,
            "batch_silence": self.outreach.batch_silence,
            "closeout_check": self.closeout.check,
            "follow_up_close": self.closeout.follow_up_close,
            "ocr_run": lambda timer, now: ocrflow.run_job(desk, self.brain, timer, now),
            "call_trigger": lambda timer, now: call_triggers.on_trigger_timer(desk, timer, now),
            "call_watchdog": lambda timer, now: call_gates.on_watchdog(desk, timer, now),
        }
        # A message whose fate was open settles its request: a batch counts as out once one of its
        # messages is, a shortlist once all its parts are.
        self.outbox.settled.update({
            "outreach": (RequestState.VENDOR_OUTREACH, self.outreach.after_batch_attempt),
            "shortlist": (RequestState.SHORTLIST_READY, self.closeout.closeout),
        })

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
            self.outbox.mark_sent(row, status.wamid, now)
        elif status.status == "failed" and row["status"] != "failed":
            self.ledger.update_outbound(key, status="failed", last_error="status failed")
            self.ledger.audit("message.failed", now, row["request_id"], idem_key=key)

    def resume(self, now: float) -> dict[str, int]:
        """Start-up after a crash or restart: re-arm unfired timers, retry sends left pending."""
        with self.ledger.unit_of_work():
            return resume_after_restart(self.desk, self.outreach, now)

    def on_call_status(self, raw_body: bytes, signature: str | None, now: float) -> str:
        """A signed status callback of the calling provider (verified and applied in call_gates.py)."""
        with self.ledger.unit_of_work():
            return call_gates.on_call_callback(self.desk, raw_body, signature, now)

    def on_timer(self, timer: Timer, now: float) -> None:
        with self.ledger.unit_of_work():
            self._on_timer(timer, now)

    def _on_timer(self, timer: Timer, now: float) -> None:
        if not claim(self.ledger, timer):
            return  # this timer already fired (a copy scheduled before a restart)
        handler = self._timers.get(timer.name)
        if handler is None:
            self.ledger.audit("timer.unknown", now, timer.request_id, name=timer.name)
            return
        handler(timer, now)

    # ------------------------------------------------------------------------------------------
    # requests
    # ------------------------------------------------------------------------------------------
    def request(self, request_id: str) -> RequestRow:
        return self.desk.request(request_id)

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
        return self.desk.update(request_id, now, **changes)

    def move(self, request_id: str, dest: RequestState, now: float, reason: str) -> bool:
        return self.desk.move(request_id, dest, now, reason)

    def send(self, **message: Any) -> str:
        return self.outbox.send(**message)

    def tell_client(self, request: RequestRow, purpose: str, text: str, now: float, **how: Any) -> str:
        return self.desk.tell_client(request, purpose, text, now, **how)

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
        request = self.desk.active_request(phone)
        # STOP is honoured even from a rate-limited client: an opt-out must never be dropped.
        if text and reply_rules.is_client_cancel(text):
            self._client_cancel(phone, request, msg, now)
            return
        if self._rate_limited(phone, msg, now):
            return
        if call_triggers.on_client_message(self.desk, phone, msg, now) is not None:
            return  # a consent answer or a bare "call me": call_triggers owns it
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
        self.desk.arm_idle_close(request.id, now)
        if msg.kind in ("image", "document"):
            ocrflow.handle_media(self.desk, request, msg, now)
            return
        if msg.kind not in ("text", "button", "interactive"):
            self.ledger.audit("inbound.unsupported", now, request.id, kind=msg.kind)
            self.desk.tell_client(request, "unsupported", text_for("unsupported_type", self.desk.lang(request)), now)
            return
        if not text:
            self.ledger.audit("inbound.empty", now, request.id)
            return
        if state is not S.COLLECTING_REQUIREMENTS:
            # The need is being worked on: the text is kept for the brain's context, nothing more.
            self.ledger.audit("client.message_while_busy", now, request.id, state=state.value)
            return
        self.desk.absorb_requirements(request, text, now)
        self.brain.consult(request.id, "client_message", now)

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
        self.desk.fire(request.id, "close", now, detail="client_cancelled")
        self.ledger.audit("client.cancelled", now, request.id, outreach_excluded=excluded)
        self.desk.tell_client(request, "cancel_confirmation", text_for("cancelled", self.desk.lang(request)), now)

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
        self.outreach.check_stop_condition(request_id, now)
        call_triggers.after_vendor_reply(self.desk, request_id, vendor.id, parsed_dict, now)

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
            self.outbox.send(
                request_id=None, to=vendor.phone, party="vendor", purpose="stop_confirmation",
                text=text_for("vendor_stop_confirmation", vendor.language),
                key=f"vendor:{vendor.id}:stop_confirmation", now=now, vendor_id=vendor.id,
            )


    # ------------------------------------------------------------------------------------------
    # action execution
    # ------------------------------------------------------------------------------------------
    def execute(self, request_id: str, action: dict[str, Any], now: float) -> None:
        self.brain.actions[action["type"]](request_id, action, now)

    def _ask_client(self, request_id: str, action: dict[str, Any], now: float) -> None:
        self.desk.ask_client(request_id, action["question_text"], now)

    def _escalate(self, request_id: str, action: dict[str, Any], now: float) -> None:
        request = self.request(request_id)
        self.ledger.audit("request.escalated", now, request_id, reason=action["reason"], to=action.get("to"))
        self.ledger.exclude_pending_outreach(request_id=request_id)
        self.update(request_id, now, error_reason=action["reason"])
        self.desk.fire(request_id, "fail", now, detail=f"escalated: {action['reason']}")
        self.desk.tell_client(request, "escalation", action["safe_client_message"], now)
