"""The orchestrator: inbound events in, validated actions executed through the tools.

``Concierge`` is driven by four entry points — a webhook body, a timer, a call-status callback, and
(for tests) an already-parsed message — each handed the virtual time ``now``. It reads no clock and
does no I/O of its own: the ports do. Every decision that must hold at most once (a wamid processed,
a vendor asked, a message sent) is decided by a ledger insert, so a redelivery or a retry is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from . import replies as reply_rules
from .brainloop import BrainLoop
from .coded import CodedWorkflow, usable
from .contracts import validate_brain_output
from .errors import (
    ContractViolation,
    IllegalTransition,
    MediaUnavailable,
    OcrFailed,
    SignatureInvalid,
    WebhookMalformed,
)
from .flags import Flags
from .geo import distance_km, lookup_place
from .ledger import Ledger, RequestRow
from .lifecycle import ENDED_STATES, Lifecycle, RequestState
from .needs import Requirements, detect_language, extract_requirements
from .outreach import compose_vendor_message, eligible_vendors, outreach_key
from .phones import mask_phone, mask_phones_in
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
from .shortlist import format_shortlist
from .texts import text_for
from .tools import Toolbox
from .webhooks import InboundMessage, StatusUpdate, parse_webhook

S = RequestState
log = logging.getLogger("concierge")
CLOSEOUT_CHECK_S = 60.0  # a closeout stopped half-way is resumed this long after it started
# Client messages that may still go out (on retry) once a request is closed or in error.
_CLOSING_PURPOSES = frozenset({"cancel_confirmation", "timeout_apology", "escalation", "idle_closed",
                               "outreach_failed_apology"})


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


def _same_phone(a: str, b: str) -> bool:
    from .phones import InvalidPhone, normalize_phone

    try:
        return normalize_phone(a) == normalize_phone(b)
    except InvalidPhone:
        return False


def requirements_from(data: dict[str, Any]) -> Requirements:
    return Requirements.from_dict(data)


class Concierge:
    def __init__(self, ledger: Ledger, ports: Ports, settings: Settings | None = None):
        self.ledger = ledger
        self.ports = ports
        self.settings = settings or Settings()
        self.caps = self.settings.caps
        self.flags = self.settings.flags
        self.lifecycle = Lifecycle()
        self.coded = CodedWorkflow()
        self.tools = Toolbox(self)
        self._busy: set[str] = set()  # requests whose batch or closeout is being sent right now
        self.brain = BrainLoop(self)

    # ------------------------------------------------------------------------------------------
    # entry points
    # ------------------------------------------------------------------------------------------
    def on_webhook(self, raw_body: bytes, signature: str | None, now: float) -> WebhookResult:
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

    def on_call_status(self, raw_body: bytes, signature: str | None, now: float) -> str:
        """A signed status callback of the calling provider (verified and applied in calling.py)."""
        from .calling import on_call_callback

        return on_call_callback(self, raw_body, signature, now)

    def on_timer(self, timer: Timer, now: float) -> None:
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
        self.lifecycle.track(request_id, S.COLLECTING_REQUIREMENTS)
        self.ledger.audit("request.opened", now, request_id, handled_by=handled_by)
        log.info("request %s opened for %s (%s)", request_id, mask_phone(phone), handled_by)
        return self.request(request_id)

    def update(self, request_id: str, now: float, **changes: Any) -> dict[str, Any]:
        data = self.request(request_id).data
        data.update(changes)
        self.ledger.save_request_data(request_id, data, now)
        return data

    def move(self, request_id: str, dest: RequestState, now: float, reason: str) -> bool:
        """Apply an allowed transition; refuse and audit anything else."""
        row = self.request(request_id)
        self.lifecycle.track(request_id, row.state)
        if row.state == dest.value:
            return True
        try:
            source = self.lifecycle.move(request_id, dest)
        except IllegalTransition as exc:
            self.ledger.audit(
                "state.transition_refused", now, request_id, source=row.state, dest=dest.value,
                reason=reason,
            )
            log.warning("refused transition: %s", exc)
            return False
        self.ledger.set_state(request_id, source.value, dest.value, now, reason)
        self.ledger.audit("state.changed", now, request_id, source=source.value, dest=dest.value, reason=reason)
        if dest in (S.CLOSED, S.ERROR):
            self.lifecycle.forget(request_id)
        return True

    def _active_request(self, phone: str) -> RequestRow | None:
        row = self.ledger.latest_request(phone)
        if row is None or S(row.state) in ENDED_STATES:
            return None
        return row

    # ------------------------------------------------------------------------------------------
    # sending (outbox with retries on the virtual clock)
    # ------------------------------------------------------------------------------------------
    def send(
        self, *, request_id: str | None, to: str, party: str, purpose: str, text: str, key: str,
        now: float, vendor_id: str | None = None, buttons: list[tuple[str, str]] | None = None,
    ) -> str:
        """Send once per idempotency key: 'sent', 'queued' (retrying), 'failed' or 'suppressed'."""
        if not self.ledger.insert_outbound(key, request_id, to, party, purpose, text, now):
            existing = self.ledger.get_outbound(key)
            self.ledger.audit("message.duplicate_suppressed", now, request_id, idem_key=key)
            return "suppressed" if existing is None else existing["status"]
        self.ledger.audit(
            "message.queued", now, request_id, party=party, purpose=purpose, to=mask_phone(to),
            idem_key=key,
        )
        return self._attempt(key, now, vendor_id=vendor_id, buttons=buttons)

    def _attempt(
        self, key: str, now: float, *, vendor_id: str | None = None,
        buttons: list[tuple[str, str]] | None = None,
    ) -> str:
        row = self.ledger.get_outbound(key)
        assert row is not None
        attempts = row["attempts"] + 1
        self.ledger.update_outbound(key, attempts=attempts)
        if buttons:
            outcome = self.ports.transport.send_buttons(row["to_phone"], row["text"], buttons, idempotency_key=key)
        else:
            outcome = self.ports.transport.send_text(row["to_phone"], row["text"], idempotency_key=key)
        if outcome.status == "sent":
            self._mark_sent(self.ledger.get_outbound(key) or row, outcome.wamid, now)
            return "sent"
        if outcome.status == "retry" and attempts < self.caps.send_attempts_max:
            delay = outcome.retry_after_s or self.caps.send_backoff_s * (2 ** (attempts - 1))
            self.ledger.update_outbound(key, last_error=outcome.error or f"http {outcome.http_status}")
            self.ledger.audit(
                "message.retry_scheduled", now, row["request_id"], idem_key=key, attempt=attempts,
                delay_s=delay, http_status=outcome.http_status,
            )
            self.ports.scheduler.schedule(
                Timer("retry_send", row["request_id"], now + delay,
                      {"key": key, "vendor_id": vendor_id, "buttons": buttons})
            )
            return "queued"
        self.ledger.update_outbound(key, status="failed", last_error=outcome.error or f"http {outcome.http_status}")
        self.ledger.audit(
            "message.failed", now, row["request_id"], idem_key=key, attempts=attempts,
            http_status=outcome.http_status,
        )
        log.warning("send failed for good after %d attempt(s): %s", attempts, row["purpose"])
        if row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"]:
            vendor = self._vendor_for_phone(row["to_phone"])
            if vendor:
                self.ledger.set_outreach_status(row["request_id"], vendor, "failed", now)
        self._delivery_settled(row, now)
        return "failed"

    def _vendor_for_phone(self, phone: str) -> str | None:
        v = self.ports.directory.by_phone(phone)
        return v.id if v else None

    def _mark_sent(self, row: dict[str, Any], wamid: str | None, now: float) -> None:
        if row["status"] == "sent":
            return
        self.ledger.update_outbound(row["idem_key"], status="sent", wamid=wamid, sent_at=now)
        vendor_id = self._vendor_for_phone(row["to_phone"]) if row["party"] == "vendor" else None
        self.ledger.add_transcript(
            row["request_id"], "out", row["party"], row["to_phone"], row["text"], now,
            vendor_id=vendor_id, wamid=wamid,
        )
        self.ledger.audit(
            "message.sent", now, row["request_id"], party=row["party"], purpose=row["purpose"],
            to=mask_phone(row["to_phone"]), wamid=wamid, idem_key=row["idem_key"],
        )
        if row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"] and vendor_id:
            self.ledger.set_outreach_status(row["request_id"], vendor_id, "sent", now, wamid=wamid)
        self._delivery_settled(row, now)

    def _delivery_settled(self, row: dict[str, Any], now: float) -> None:
        """A message whose fate was open (sent on a retry, or failed for good) moves its request on:
        a batch counts as out once one of its messages is, a shortlist once all its parts are."""
        request_id = row["request_id"]
        if not request_id or request_id in self._busy:
            return  # the batch or closeout that sent it is still running and will decide itself
        state = S(self.request(request_id).state)
        if row["purpose"] == "outreach" and state is S.VENDOR_OUTREACH:
            self._after_batch_attempt(request_id, now)
        elif row["purpose"] == "shortlist" and state is S.SHORTLIST_READY:
            self._closeout(request_id, now)

    def _timer_retry_send(self, timer: Timer, now: float) -> None:
        key = timer.payload["key"]
        row = self.ledger.get_outbound(key)
        if row is None or row["status"] != "pending":
            return
        if row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"]:
            if S(self.request(row["request_id"]).state) in ENDED_STATES:
                self.ledger.update_outbound(key, status="failed", last_error="request ended")
                return
        # Between two attempts the world may have changed: a vendor opted out, a client said STOP.
        if row["party"] == "vendor" and row["purpose"] != "stop_confirmation":
            vendor_id = self._vendor_for_phone(row["to_phone"])
            if vendor_id and self.ledger.vendor_status(vendor_id)["opted_out"]:
                self.ledger.update_outbound(key, status="failed", last_error="vendor opted out")
                self.ledger.audit("message.blocked_opted_out", now, row["request_id"], vendor_id=vendor_id)
                return
        if row["party"] == "client" and row["request_id"] and row["purpose"] not in _CLOSING_PURPOSES:
            if S(self.request(row["request_id"]).state) in (S.CLOSED, S.ERROR):
                self.ledger.update_outbound(key, status="failed", last_error="request ended")
                return
        self._attempt(key, now, vendor_id=timer.payload.get("vendor_id"), buttons=timer.payload.get("buttons"))

    @staticmethod
    def client_key(request: RequestRow, text: str, suffix: str = "") -> str:
        """DOMAIN.md's outbound key: request, recipient and a hash of the content."""
        digest = hashlib.sha256(text[:4096].encode("utf-8")).hexdigest()[:16]
        return f"request:{request.id}:to:{request.client_phone}:hash:{digest}{suffix}"

    def tell_client(
        self, request: RequestRow, purpose: str, text: str, now: float, *, key_suffix: str = "",
        buttons: list[tuple[str, str]] | None = None,
    ) -> str:
        key = self.client_key(request, text, key_suffix)
        return self.tools.call(
            "marketplace.send_client_message",
            {
                "request_id": request.id, "idempotency_key": key, "actor": "system",
                "to": request.client_phone, "text": text[:4096], "purpose": purpose,
                **({"buttons": [list(b) for b in buttons]} if buttons else {}),
            },
            now,
        )["status"]

    # ------------------------------------------------------------------------------------------
    # client messages
    # ------------------------------------------------------------------------------------------
    def _client_message(self, msg: InboundMessage, now: float) -> None:
        phone = msg.from_phone
        text = (msg.text or "").strip()
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
        if S(self.request(request.id).state) is S.COLLECTING_REQUIREMENTS:
            # Waiting on the client (a question, or a rejected proposal): a request nobody answers
            # must end politely rather than stay open for ever.
            self.ports.scheduler.schedule(
                Timer("idle_close", request.id, now + self.caps.idle_close_s, {"after": now}))

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
        rows = self.ledger.db.execute(
            "SELECT COUNT(*) FROM inbound WHERE from_phone=? AND party='client' AND received_at>?",
            (phone, now - 60.0),
        ).fetchone()[0]
        # Keyed on a digest of the full number: two clients whose masks match are two clients.
        client_key = hashlib.sha256(phone.encode("utf-8")).hexdigest()[:16]
        until = self.ledger.db.execute(
            "SELECT MAX(at) FROM audit WHERE event='client.rate_limited' AND data LIKE ?",
            (f'%"client_key":"{client_key}"%',),
        ).fetchone()[0]
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
        self.move(request.id, S.CLOSED, now, "client_cancelled")
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
        active = S(request.state) in (S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES)
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
        rows = self.ledger.outreach(vendor_id=vendor_id)
        if context_wamid:
            for row in rows:
                if row.wamid == context_wamid:
                    return row
        answered = [r for r in rows if r.status in ("sent", "replied", "excluded") and r.sent_at is not None]
        if not answered:
            return None
        # The latest outreach this vendor was sent is the one it most likely answers.
        return max(answered, key=lambda r: (r.sent_at, r.id))

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

    def replies_summary(self, request_id: str) -> list[dict[str, Any]]:
        """Each replying vendor's latest parsed reply, with what the shortlist needs to rank it."""
        request = self.request(request_id)
        origin = self._origin(request)
        first_at: float | None = None
        latest: dict[str, dict[str, Any]] = {}
        outreach = {o.vendor_id: o for o in self.ledger.outreach(request_id=request_id)}
        for reply in self.ledger.replies(request_id):
            if first_at is None:
                first_at = reply["at"]
            latest[reply["vendor_id"]] = reply
        out = []
        first_vendor = None
        for vendor_id, reply in latest.items():
            if first_vendor is None or reply["at"] < latest[first_vendor]["at"]:
                first_vendor = vendor_id
        for vendor_id, reply in latest.items():
            vendor = self.ports.directory.by_id(vendor_id)
            if vendor is None:
                continue
            p = reply["parsed"]
            if p.get("busy") or p.get("stop"):
                continue
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

    def _origin(self, request: RequestRow) -> tuple[float, float] | None:
        place = (request.data.get("requirements") or {}).get("place")
        if place:
            p = lookup_place(place)
            if p:
                return (p.lat, p.lng)
        return None

    def _check_stop_condition(self, request_id: str, now: float) -> None:
        request = self.request(request_id)
        if S(request.state) is not S.AWAITING_VENDOR_REPLIES:
            return
        plan = request.data.get("plan") or {}
        need = int(plan.get("min_replies") or self.caps.min_replies)
        in_stock = [
            r for r in self.replies_summary(request_id)
            if r["availability"] == "in_stock" and not r["suspicious"]
        ]
        if len(in_stock) >= need:
            self.ledger.audit("outreach.stop_condition_met", now, request_id, in_stock=len(in_stock))
            self.brain.consult(request_id, "replies_ready", now)

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
            self.move(request_id, S.COLLECTING_REQUIREMENTS, now, "ocr_needs_client")
        elif state is S.AWAITING_VENDOR_REPLIES:
            self.move(request_id, S.COLLECTING_REQUIREMENTS, now, "widen_search")
        clarifications = int(request.data.get("clarifications", 0)) + 1
        self.update(request_id, now, clarifications=clarifications)
        question = action["question_text"]
        self.tell_client(self.request(request_id), "question", question, now, key_suffix=f":q{clarifications}")

    def _do_escalate(self, request_id: str, action: dict[str, Any], now: float) -> None:
        request = self.request(request_id)
        self.ledger.audit("request.escalated", now, request_id, reason=action["reason"], to=action.get("to"))
        self.ledger.exclude_pending_outreach(request_id=request_id)
        self.update(request_id, now, error_reason=action["reason"])
        self.move(request_id, S.ERROR, now, f"escalated: {action['reason']}")
        self.tell_client(request, "escalation", action["safe_client_message"], now)

    def _do_vendor_outreach_plan(self, request_id: str, action: dict[str, Any], now: float) -> None:
        stop = action.get("stop_conditions", {})
        filters = action.get("vendor_filters") or {}
        plan = {
            "category": action["category"],
            "need": action["normalized_need"],
            "batch_size": min(int(action["batch_size"]), self.caps.batch_size_max),
            "questions": list(action.get("vendor_questions") or []),
            # Caps never widen: the brain may ask for fewer vendors, never more.
            "max_vendors": min(int(stop.get("max_vendors", 15)), self.caps.max_vendors_per_request),
            "min_replies": int(stop.get("min_replies") or self.caps.min_replies),
            "radius_km": min(float(filters.get("location_radius_km", self.caps.radius_default_km)),
                             self.caps.radius_max_km),
            "min_rating": float(filters.get("min_rating", 0.0)),
            "tags": list(filters.get("tags") or []),
            "calling_allowed": bool(action.get("calling_allowed")),
        }
        request = self.request(request_id)
        under_way = S(request.state) in (S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES)
        if not self._eligible(request, plan, now):
            self.ledger.audit("outreach.no_eligible_vendors", now, request_id, category=plan["category"])
            if under_way:
                return  # a repeated plan with nobody new to ask: the running outreach goes on as it is
            if S(request.state) is S.OCR_PROCESSING:
                self.move(request_id, S.COLLECTING_REQUIREMENTS, now, "ocr_needs_client")
            self.update(request_id, now, plan=None)
            clar = int(request.data.get("clarifications", 0)) + 1
            self.update(request_id, now, clarifications=clar)
            self.tell_client(request, "widen_search", text_for("no_vendors", self._lang(request)), now,
                             key_suffix=f":nv{clar}")
            return
        # The outreach clock starts once per request: a second plan must not re-arm its timers.
        first = request.data.get("first_outreach_at") is None
        self.update(request_id, now, plan=plan, **({"first_outreach_at": now} if first else {}))
        if S(request.state) is S.OCR_PROCESSING:
            self.move(request_id, S.VENDOR_OUTREACH, now, "ocr_complete")
        else:
            self.move(request_id, S.VENDOR_OUTREACH, now, "next_batch" if under_way else "requirements_complete")
        if self._send_batch(request_id, now) == 0 and under_way:
            # Caps left no room for another batch: keep waiting on the batches already out.
            self.move(request_id, S.AWAITING_VENDOR_REPLIES, now, "batch_sent")
        if under_way or S(self.request(request_id).state) in ENDED_STATES:
            return  # a repeated plan keeps the first one's timers; a failed outreach already apologised
        for name, delay in (("still_waiting", self.caps.still_waiting_s),
                            ("target", self.caps.target_s),
                            ("hard_limit", self.caps.hard_limit_s)):
            if first:
                self.ports.scheduler.schedule(Timer(name, request_id, now + delay))
        from .calling import after_outreach_started

        after_outreach_started(self, request_id, now)
        self.tell_client(self.request(request_id), "searching",
                         text_for("searching", self._lang(request)), now)

    def _eligible(self, request: RequestRow, plan: dict[str, Any], now: float):
        result = self.tools.call(
            "marketplace.search_vendors",
            {
                "request_id": request.id,
                "idempotency_key": f"request:{request.id}:search:{self.ledger.db.execute('SELECT COUNT(*) FROM tool_calls').fetchone()[0]}",
                "actor": "system",
                "category": plan["category"],
                "lat": (self._origin(request) or (None, None))[0],
                "lng": (self._origin(request) or (None, None))[1],
                "radius_km": plan["radius_km"],
                "min_rating": plan["min_rating"],
                "tags": plan["tags"],
                "limit": 15,
            },
            now,
        )
        return result["vendors"]

    def search(self, request_id: str, args: dict[str, Any], now: float) -> dict[str, Any]:
        origin = (args["lat"], args["lng"]) if args.get("lat") is not None else None
        chosen, excluded = eligible_vendors(
            self.ports.directory.all_vendors(), ledger=self.ledger, request_id=request_id,
            category=args["category"], tags=tuple(args.get("tags") or ()), origin=origin,
            radius_km=args["radius_km"], min_rating=args.get("min_rating", 0.0), now=now,
            caps=self.caps,
        )
        return {
            "success": True,
            "vendors": [
                {
                    "vendor_id": e.vendor.id, "name": e.vendor.name,
                    "distance_km": None if e.distance_km is None else round(e.distance_km, 3),
                    "rating": float(e.vendor.rating), "match_strength": e.match_strength,
                    "avg_response_minutes": float(e.vendor.avg_response_minutes),
                }
                for e in chosen[: args["limit"]]
            ],
            "excluded": excluded,
        }

    def _send_batch(self, request_id: str, now: float) -> int:
        request = self.request(request_id)
        plan = request.data["plan"]
        contacted = len(self.ledger.outreach(request_id=request_id))
        room = min(plan["batch_size"], plan["max_vendors"] - contacted)
        batch_no = int(request.data.get("batches", 0)) + 1
        if room <= 0 or batch_no > self.caps.max_batches:
            return 0
        candidates = self._eligible(request, plan, now)
        sent = 0
        self._busy.add(request_id)
        try:
            sent = self._send_to(request_id, plan, candidates, room, batch_no, now)
        finally:
            self._busy.discard(request_id)
        if sent:
            self.update(request_id, now, batches=batch_no, last_batch_at=now)
            self.ledger.audit("outreach.batch_sent", now, request_id, batch=batch_no, vendors=sent)
            self._after_batch_attempt(request_id, now)
        return sent

    def _send_to(self, request_id: str, plan: dict[str, Any], candidates: list[dict[str, Any]], room: int,
                 batch_no: int, now: float) -> int:
        sent = 0
        for cand in candidates:
            if sent >= room:
                break
            vendor = self.ports.directory.by_id(cand["vendor_id"])
            if vendor is None:
                continue
            key = outreach_key(request_id, vendor.id)
            if not self.ledger.insert_outreach(request_id, vendor.id, key, batch_no, now):
                continue  # already asked for this request: the unique constraint said no
            text = compose_vendor_message(vendor, plan["need"], plan["questions"])
            self.tools.call(
                "marketplace.send_vendor_message",
                {"request_id": request_id, "idempotency_key": key, "actor": "system",
                 "vendor_id": vendor.id, "text": text, "purpose": "outreach"},
                now,
            )
            sent += 1
        return sent

    def _after_batch_attempt(self, request_id: str, now: float) -> None:
        """vendor_outreach -> awaiting_vendor_replies once a message of the batch is out; while all
        are still retrying, stay; if every one failed for good, ask the next vendors or give up."""
        request = self.request(request_id)
        if S(request.state) is not S.VENDOR_OUTREACH:
            return
        batch_no = int(request.data.get("batches", 0))
        rows = self.ledger.outreach(request_id=request_id)
        current = [o for o in rows if o.batch == batch_no]
        if any(o.sent_at is not None for o in current):
            self.move(request_id, S.AWAITING_VENDOR_REPLIES, now, "batch_sent")
            self.ports.scheduler.schedule(
                Timer("batch_silence", request_id, now + self.caps.batch_silence_s, {"batch": batch_no}))
            return
        if any(o.status == "queued" for o in current):
            self.ledger.audit("outreach.batch_pending", now, request_id, batch=batch_no)
            return
        self.ledger.audit("outreach.batch_failed", now, request_id, batch=batch_no)
        log.warning("no vendor of batch %d could be reached for %s", batch_no, request_id)
        if self._send_batch(request_id, now):
            return  # the next vendors were asked (the caps still bound how many)
        if any(o.sent_at is not None for o in rows):
            # Earlier batches are out: keep waiting on them, with a fresh silence clock.
            self.move(request_id, S.AWAITING_VENDOR_REPLIES, now, "batch_sent")
            self.ports.scheduler.schedule(
                Timer("batch_silence", request_id, now + self.caps.batch_silence_s, {"batch": batch_no}))
            return
        self.ledger.exclude_pending_outreach(request_id=request_id)
        self.update(request_id, now, error_reason="outreach_failed")
        self.move(request_id, S.ERROR, now, "outreach_failed")
        self.tell_client(request, "outreach_failed_apology", text_for("timeout", self._lang(request)), now)

    def send_vendor(self, request_id: str | None, vendor_id: str, text: str, key: str, purpose: str,
                    now: float) -> str:
        vendor = self.ports.directory.by_id(vendor_id)
        if vendor is None:
            return "failed"
        if vendor.opted_out or self.ledger.vendor_status(vendor_id)["opted_out"]:
            if purpose != "stop_confirmation":
                self.ledger.audit("message.blocked_opted_out", now, request_id, vendor_id=vendor_id)
                return "suppressed"
        return self.send(request_id=request_id, to=vendor.phone, party="vendor", purpose=purpose,
                         text=mask_phones_in(text), key=key, now=now, vendor_id=vendor_id)

    def _do_shortlist(self, request_id: str, action: dict[str, Any], now: float) -> None:
        request = self.request(request_id)
        replies = {r["vendor_id"]: r for r in self.replies_summary(request_id)}
        budget = (request.data.get("requirements") or {}).get("budget_max")
        from .coded import candidates_from
        from .shortlist import rank

        # The brain chooses which replies; DOMAIN.md's score decides their order, drops out-of-stock
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
        if not items:
            self.ledger.audit("shortlist.empty", now, request_id)
            return
        if self.ledger.persist_shortlist(request_id, items, now):
            # Resumes the closeout should anything below stop half-way (crash, restart).
            self.ports.scheduler.schedule(Timer("closeout_check", request_id, now + CLOSEOUT_CHECK_S))
        else:
            self.ledger.audit("shortlist.already_persisted", now, request_id)
        self._closeout(request_id, now)

    def _closeout(self, request_id: str, now: float) -> None:
        """persist → shortlist_ready → send → handed_off → pending outreach excluded; every step is
        idempotent, and a retry delivers the shortlist persisted first, so it sends nothing twice."""
        from .shortlist import Candidate, ScoredCandidate

        persisted = self.ledger.shortlist(request_id)
        if persisted is None:
            return
        request = self.request(request_id)
        state = S(request.state)
        if state is S.AWAITING_VENDOR_REPLIES:
            self._closeout_move(request_id, S.SHORTLIST_READY, now, "build_shortlist")
        elif state is S.COLLECTING_REQUIREMENTS:
            self._closeout_move(request_id, S.SHORTLIST_READY, now, "shortlist_existing_replies")
        if S(self.request(request_id).state) is S.SHORTLIST_READY:
            fields = Candidate.__dataclass_fields__
            scored = [ScoredCandidate(Candidate(**{k: v for k, v in item.items() if k in fields
                                                   and k != "options"}, options=tuple(item.get("options") or ())),
                                      float(item["score"]), ())
                      for item in persisted["items"]]
            need = (request.data.get("plan") or {}).get("need")
            keys = []
            self._busy.add(request_id)
            try:
                for i, text in enumerate(format_shortlist(scored, language=self._lang(request), need=need)):
                    suffix = f":shortlist:{i}"
                    keys.append(self.client_key(request, text, suffix))
                    self.tell_client(self.request(request_id), "shortlist", text, now, key_suffix=suffix)
            finally:
                self._busy.discard(request_id)
            # The tool replays a retried call's first result; the outbox row is the message's fate.
            fates = [(self.ledger.get_outbound(k) or {}).get("status") for k in keys]
            if any(f == "failed" for f in fates):
                self.ledger.exclude_pending_outreach(request_id=request_id)
                self.update(request_id, now, error_reason="shortlist_undeliverable")
                self.move(request_id, S.ERROR, now, "shortlist_undeliverable")
                return
            if not all(f == "sent" for f in fates):
                self.ledger.audit("shortlist.delivery_pending", now, request_id)
                return  # stays shortlist_ready until the outbox settles (see _delivery_settled)
            self.ledger.mark_shortlist_delivered(request_id, now)
            if self._closeout_move(request_id, S.HANDED_OFF, now, "deliver_shortlist"):
                self.ledger.audit("shortlist.delivered", now, request_id, size=len(scored),
                                  time_to_shortlist_s=now - request.created_at)
                self.ports.scheduler.schedule(
                    Timer("follow_up_close", request_id, now + self.caps.followup_window_s))
        if S(self.request(request_id).state) in (S.HANDED_OFF, S.CLOSED):
            excluded = self.ledger.exclude_pending_outreach(request_id=request_id)
            if excluded:
                self.ledger.audit("shortlist.outreach_excluded", now, request_id, outreach_excluded=excluded)

    def _closeout_move(self, request_id: str, dest: RequestState, now: float, reason: str) -> bool:
        # Through the audited tool, keyed per step: a resumed closeout replays, never re-applies.
        return bool(self.tools.call(
            "marketplace.update_request_state",
            {"request_id": request_id, "idempotency_key": f"request:{request_id}:closeout:{dest.value}",
             "actor": "system", "to_state": dest.value, "reason": reason},
            now,
        )["success"])

    def _timer_closeout_check(self, timer: Timer, now: float) -> None:
        shortlist = self.ledger.shortlist(timer.request_id or "")
        request = self.ledger.get_request(timer.request_id or "")
        if shortlist is None or request is None or S(request.state) is S.ERROR:
            return
        if shortlist["delivered_at"] is None or S(request.state) is S.SHORTLIST_READY:
            self.ledger.audit("shortlist.closeout_resumed", now, request.id, state=request.state)
        self._closeout(request.id, now)

    def shortlist_evidence_problem(self, request_id: str, action: dict[str, Any]) -> str | None:
        """Why a proposed shortlist is not backed by the replies, or None."""
        replies = {r["vendor_id"]: r for r in self.replies_summary(request_id)}
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

    # ------------------------------------------------------------------------------------------
    # timers
    # ------------------------------------------------------------------------------------------
    def _live(self, request_id: str | None) -> RequestRow | None:
        if request_id is None:
            return None
        request = self.ledger.get_request(request_id)
        if request is None or S(request.state) in ENDED_STATES:
            return None
        return request

    def _timer_batch_silence(self, timer: Timer, now: float) -> None:
        request = self._live(timer.request_id)
        if request is None or S(request.state) is not S.AWAITING_VENDOR_REPLIES:
            return
        if timer.payload.get("batch") != request.data.get("batches"):
            return  # a newer batch owns the silence timer
        last = max(request.data.get("last_reply_at") or 0.0, request.data.get("last_batch_at") or 0.0)
        if now - last < self.caps.batch_silence_s:
            self.ports.scheduler.schedule(
                Timer("batch_silence", request.id, last + self.caps.batch_silence_s, timer.payload)
            )
            return
        plan = request.data["plan"]
        contacted = len(self.ledger.outreach(request_id=request.id))
        can_more = (
            int(request.data.get("batches", 0)) < self.caps.max_batches
            and contacted < plan["max_vendors"]
            and bool(self._eligible(request, plan, now))
        )
        if can_more:
            self.move(request.id, S.VENDOR_OUTREACH, now, "next_batch")
            if self._send_batch(request.id, now) == 0:  # pragma: no cover - eligibility just said yes
                self.move(request.id, S.AWAITING_VENDOR_REPLIES, now, "batch_sent")
            return
        summary = self.replies_summary(request.id)
        if any(usable(r) for r in summary):
            self.ledger.audit("outreach.exhausted_shortlisting", now, request.id)
            self.brain.consult(request.id, "shortlist_due", now)
            return
        pending = [o for o in self.ledger.outreach(request_id=request.id) if o.status in ("queued", "sent")]
        if summary and not pending:
            # Everyone answered and nobody has it: ask the client to widen the search.
            self.ledger.audit("outreach.exhausted_no_stock", now, request.id)
            self._do_ask_client(request.id, {
                "type": "ask_client", "why": "widen_search",
                "question_text": text_for("widen_search", self._lang(request)),
            }, now)

    def _timer_still_waiting(self, timer: Timer, now: float) -> None:
        request = self._live(timer.request_id)
        if request is None or S(request.state) not in (S.AWAITING_VENDOR_REPLIES, S.VENDOR_OUTREACH):
            return
        if any(usable(r) for r in self.replies_summary(request.id)):
            return
        self.progress_update(request, text_for("still_waiting", self._lang(request)), now)

    def progress_update(self, request: RequestRow, text: str, now: float) -> bool:
        updates = list(request.data.get("progress_updates") or [])
        if len(updates) >= self.caps.progress_updates_max:
            self.ledger.audit("client.update_suppressed", now, request.id, reason="cap")
            return False
        if any(u["text"] == text and now - u["at"] < self.caps.progress_repeat_window_s for u in updates):
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
        self.move(request.id, S.ERROR, now, "timeout")
        self.ledger.audit("request.timeout", now, request.id)
        self.tell_client(request, "timeout_apology", text_for("timeout", self._lang(request)), now)

    def _timer_call_trigger(self, timer: Timer, now: float) -> None:
        from .calling import on_trigger_timer

        on_trigger_timer(self, timer, now)

    def _calling_consent(self, request_id: str, now: float) -> str:
        from .calling import consent_status

        return consent_status(self, request_id, now)

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
        self.move(request.id, S.CLOSED, now, "idle")
        self.ledger.audit("request.idle_closed", now, request.id)
        self.tell_client(request, "idle_closed", text_for("idle_closed", self._lang(request)), now)

    def _timer_follow_up_close(self, timer: Timer, now: float) -> None:
        request = self.ledger.get_request(timer.request_id or "")
        if request is None or S(request.state) is not S.HANDED_OFF:
            return
        self.move(request.id, S.CLOSED, now, "follow_up_done")

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
                "calling_consent": self._calling_consent(request_id, at),
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

    def validate(self, raw: Any) -> dict[str, Any]:
        return validate_brain_output(raw)

    def unknown_ports_errors(self) -> tuple[type[Exception], ...]:
        return (ContractViolation, MediaUnavailable, OcrFailed)
