"""The one door to the call provider, and a call's life after it.

Zero unsolicited calls is absolute, so ``start_call`` (the tool) is the one door and it opens only
when every gate of docs/domain.md holds; each refusal names its gate and is audited. After the door:
the provider's signed status callbacks, a watchdog for lost ones, and the client told once per failed
call that chat goes on.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .call_consent import SCOPE_COVERS, consent
from .call_signing import verify_callback
from .lifecycle import ENDED_STATES, RequestState
from .phones import mask_phone
from .ports import CallOutcome, Timer
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk

log = logging.getLogger("concierge.calling")

S = RequestState
CALL_STATUSES = ("initiated", "ringing", "in_progress", "completed", "failed", "no_answer", "busy")
FINAL_STATUSES = frozenset({"completed", "failed", "no_answer", "busy"})
FAILED_STATUSES = frozenset({"failed", "no_answer", "busy"})


def refusal_gate(c: RequestDesk, request_id: str, target: str, now: float) -> str | None:
    """The first gate that refuses a call now, or None when every gate holds."""
    request = c.ledger.get_request(request_id)
    if request is None:
        return "unknown_request"
    if not c.flags.calling_on(request.client_phone):
        return "disabled"
    if RequestState(request.state) in ENDED_STATES:
        return "request_state"
    current = consent(c, request_id, now)
    if current["status"] == "expired":
        return "consent_expired"
    if current["status"] != "granted":
        return "consent"
    if target not in SCOPE_COVERS.get(current["scope"] or "", set()):
        return "scope"
    last = c.ledger.last_call_started(request_id)
    if last is not None and now - last < c.caps.call_cooldown_s:
        return "cooldown"
    if c.ports.calls is None:
        return "no_provider"
    return None


def _refuse(c: RequestDesk, request_id: str | None, gate: str, target: str, now: float) -> dict[str, Any]:
    c.ledger.audit("call.refused", now, request_id, gate=gate, target=target)
    log.info("call refused by gate %s (%s)", gate, target)
    return {"success": False, "reason": gate, "gate": gate, "call_id": None}


def start_call(c: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    """The ``start_call`` tool. Every refusal names its gate and is audited; a call is inserted
    into the ledger before the provider is asked, so a crash can never leave an unknown call."""
    request_id = args["request_id"]
    target = args["target"]
    if request_id is None:
        return _refuse(c, None, "unknown_request", target, now)
    gate = refusal_gate(c, request_id, target, now)
    if gate is not None:
        return _refuse(c, request_id, gate, target, now)
    request = c.ledger.get_request(request_id)
    assert request is not None
    if target == "client":
        to = request.client_phone
    else:
        vendor_id = args.get("vendor_id") or ""
        vendor = c.ports.directory.by_id(vendor_id)
        if vendor is None:
            return _refuse(c, request_id, "unknown_vendor", target, now)
        if vendor.opted_out or c.ledger.vendor_status(vendor.id)["opted_out"]:
            return _refuse(c, request_id, "vendor_opted_out", target, now)
        if not c.ledger.outreach(request_id=request_id, vendor_id=vendor.id):
            # Only a vendor this request already asked is someone the client's consent can cover.
            return _refuse(c, request_id, "vendor_not_contacted", target, now)
        to = vendor.phone
    call_id = f"{request_id}:call:{c.ledger.calls_count(request_id) + 1}"
    c.ledger.insert_call(call_id, request_id, target, to, now)
    # Audited before the provider is asked: the audit order is then the order of consent and call.
    c.ledger.audit("call.placing", now, request_id, call_id=call_id, target=target, to=mask_phone(to))
    assert c.ports.calls is not None
    c.ledger.checkpoint()  # the provider is about to dial: the call's record must survive a crash
    try:
        outcome = c.ports.calls.start_call(to, request_id=request_id, idempotency_key=call_id)
    except Exception as exc:  # a provider adapter bug must not leave the call 'starting' forever
        outcome = CallOutcome(False, error=f"adapter: {type(exc).__name__}")
    status = "initiated" if outcome.accepted else "failed"
    _set_status(c, call_id, status, now)
    if not outcome.accepted:
        c.ledger.audit("call.provider_error", now, request_id, call_id=call_id, target=target,
                       error=outcome.error or "provider_error")
        log.warning("call provider refused call %s: %s", call_id, outcome.error)
        _fallback(c, request_id, call_id, now)
        return {"success": False, "reason": outcome.error or "provider_error", "call_id": call_id}
    c.ledger.audit("call.started", now, request_id, call_id=call_id, target=target,
                   provider_call_id=outcome.call_id, trigger=args.get("trigger"))
    c.ports.scheduler.schedule(
        Timer("call_watchdog", request_id, now + c.caps.call_watchdog_s, {"call_id": call_id})
    )
    return {"success": True, "call_id": call_id}


def _set_status(c: RequestDesk, call_id: str, status: str, now: float) -> None:
    c.ledger.set_call_status(call_id, status, now)


def _fallback(c: RequestDesk, request_id: str, call_id: str, now: float) -> None:
    """Tell the client once per call that chat goes on, unless the request has already ended."""
    request = c.ledger.get_request(request_id)
    if request is None or S(request.state) in ENDED_STATES:
        c.ledger.audit("call.fallback_skipped", now, request_id, call_id=call_id,
                       state=request.state if request else None)
        return
    c.tell_client(request, "call_fallback", text_for("call_fallback", c.lang(request)), now,
                  key_suffix=f":fallback:{call_id}")


def on_call_callback(c: RequestDesk, raw_body: bytes, signature: str | None, now: float) -> str:
    """A status callback from the calling provider. Returns what was done: ``refused``,
    ``malformed``, ``unknown``, ``ignored`` or ``updated``. Never raises on bad input."""
    secret = getattr(c.settings, "call_secret", "")
    if not verify_callback(raw_body, signature, secret):
        c.ledger.audit("call.callback_signature_invalid", now)
        log.warning("call status callback refused: bad signature")
        return "refused"
    try:
        body = json.loads(bytes(raw_body).decode("utf-8"))
        reference = body["reference"]
        status = body["status"]
        if not isinstance(reference, str) or status not in CALL_STATUSES:
            raise ValueError(status)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        c.ledger.audit("call.callback_malformed", now)
        return "malformed"
    row = c.ledger.call(reference)
    if row is None:
        c.ledger.audit("call.status_unknown", now, status=status)
        return "unknown"
    if row["status"] in FINAL_STATUSES or row["status"] == status:
        # Late or repeated callbacks never reopen a finished call nor notify the client twice.
        c.ledger.audit("call.status_ignored", now, row["request_id"], call_id=reference, status=status,
                       current=row["status"])
        return "ignored"
    _set_status(c, reference, status, now)
    c.ledger.audit("call.status", now, row["request_id"], call_id=reference, status=status)
    if status in FAILED_STATUSES:
        _fallback(c, row["request_id"], reference, now)
    return "updated"


def on_watchdog(c: RequestDesk, timer: Timer, now: float) -> None:
    """A call with no final status long after it started is treated as failed (lost callbacks).

    A call the provider reports in progress has connected: people talk for more than five minutes,
    so it is looked at again later instead of being called a failure while they are still talking.
    """
    call_id = timer.payload.get("call_id")
    row = c.ledger.call(call_id)
    if row is None or row["status"] in FINAL_STATUSES:
        return
    if row["status"] == "in_progress" and now - row["started_at"] < c.caps.call_max_s:
        due = min(now + c.caps.call_watchdog_s, row["started_at"] + c.caps.call_max_s)
        c.ports.scheduler.schedule(Timer("call_watchdog", row["request_id"], due, {"call_id": call_id}))
        return
    _set_status(c, call_id, "failed", now)
    c.ledger.audit("call.no_final_status", now, row["request_id"], call_id=call_id, last=row["status"])
    _fallback(c, row["request_id"], call_id, now)
