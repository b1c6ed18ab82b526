"""Calling, for escalation only: consent first, every gate checked, each refusal named and audited.

Consent is the client's (the concierge acts for the client); its scope says whom we may call.
Zero unsolicited calls is absolute, so ``start_call`` is the one door to the call provider and it
opens only when every gate of docs/domain.md holds. Triggers (an urgent request with no vendor reply for
3 minutes, an ambiguous vendor reply while the client waits, a client writing "call me") never call
by themselves: they ask for consent, or knock on that door. See docs/calling.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from .lifecycle import ENDED_STATES, MAY_MESSAGE_CLIENT, OUTREACH_UNDER_WAY, RequestState
from .phones import mask_phone
from .ports import CallOutcome, Timer
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk
    from .ledger import RequestRow
    from .webhooks import InboundMessage

log = logging.getLogger("concierge.calling")

S = RequestState
SCOPES = ("call_vendor", "call_client", "either")
SCOPE_COVERS = {
    "call_vendor": {"vendor"},
    "call_client": {"client"},
    "either": {"vendor", "client"},
}
TARGET_SCOPE = {"vendor": "call_vendor", "client": "call_client"}

CALL_SIGNATURE_HEADER = "X-Call-Signature"
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")
CALL_STATUSES = ("initiated", "ringing", "in_progress", "completed", "failed", "no_answer", "busy")
FINAL_STATUSES = frozenset({"completed", "failed", "no_answer", "busy"})
FAILED_STATUSES = frozenset({"failed", "no_answer", "busy"})

YES_BUTTON = "consent_yes"
NO_BUTTON = "consent_no"
_BUTTON_TITLES = {"en": ("Yes", "No"), "fr": ("Oui", "Non"), "rw": ("Yego", "Oya")}
_YES = frozenset({"yes", "y", "yeah", "yep", "sure", "oui", "ouais", "d'accord", "daccord", "yego", "ego",
                  "yee", "consent_yes"})
_NO = frozenset({"no", "n", "nope", "non", "oya", "hoya", "ntabwo", "consent_no"})
_FILLER = frozenset({"please", "pls", "plz", "thanks", "thank", "you", "ok", "merci", "svp", "stp",
                     "murakoze", "ndabinginze", "!", "."})
_CALL_ME = re.compile(
    r"\b(?:call\s+me|give\s+me\s+a\s+call|phone\s+me|ring\s+me|can\s+you\s+call|"
    r"appelle[sz]?[\s-]*moi|appelez[\s-]*moi|tu\s+peux\s+m'?\s*appeler|vous\s+pouvez\s+m'?\s*appeler|"
    r"mpamagara|nhamagara|mumpamagare|ntelefona|ntelefone)\b"
)
_NOW = frozenset({"now", "asap", "maintenant", "vite", "nonaha", "vuba", "urgently"})
_PROMPT_TEXT = {"call_vendor": "consent_prompt_vendor", "call_client": "consent_prompt_client",
                "either": "consent_prompt_either"}


# --- consent ----------------------------------------------------------------------------------
def consent(c: RequestDesk, request_id: str, now: float) -> dict[str, Any]:
    """The consent of a request at ``now``; a grant older than the TTL reads (and is stored) expired."""
    row = c.ledger.consent_row(request_id)
    if row is None:
        return {"status": "not_requested", "scope": None, "granted_at": None, "expires_at": None,
                "requested_at": None}
    out = dict(row)
    if out["status"] == "granted" and out["expires_at"] is not None and now >= out["expires_at"]:
        c.ledger.set_consent_status(request_id, "expired")
        c.ledger.audit("consent.expired", now, request_id, expired_at=out["expires_at"])
        out["status"] = "expired"
    return out


def _merged_scope(asked: str, current: str | None) -> str:
    if current is None or current == asked:
        return asked
    return "either"


def request_consent(c: RequestDesk, args: dict[str, Any], now: float) -> dict[str, Any]:
    """The ``request_call_consent`` tool: record that consent is asked (the prompt is sent by the caller).

    Works whether or not calling is on (docs/domain.md): asking is harmless, calling is what is gated.
    """
    request_id = args["request_id"]
    if request_id is None or c.ledger.get_request(request_id) is None:
        return {"success": False, "reason": "unknown_request", "status": "not_requested"}
    asked = args["scope"]
    current = consent(c, request_id, now)
    status = current["status"]
    if status == "granted" and SCOPE_COVERS[asked] <= SCOPE_COVERS.get(current["scope"] or "", set()):
        return {"success": True, "status": "granted"}
    if status == "requested" and SCOPE_COVERS[asked] <= SCOPE_COVERS.get(current["scope"] or "", set()):
        return {"success": True, "status": "requested"}
    scope = _merged_scope(asked, current["scope"] if status in ("requested", "granted") else None)
    c.ledger.ask_consent(request_id, scope, now)
    c.ledger.audit("consent.requested", now, request_id, scope=scope, previous=status)
    return {"success": True, "status": "requested"}


def answer_consent(c: RequestDesk, request_id: str, granted: bool, now: float) -> str:
    """Record the client's YES/NO to a pending prompt; anything else leaves the consent as it is."""
    current = consent(c, request_id, now)
    if current["status"] != "requested":
        return current["status"]
    if granted:
        expires_at = now + c.caps.consent_ttl_s
        c.ledger.grant_consent(request_id, now, expires_at)
        c.ledger.audit("consent.granted", now, request_id, scope=current["scope"], expires_at=expires_at)
        return "granted"
    c.ledger.set_consent_status(request_id, "denied")
    c.ledger.audit("consent.denied", now, request_id, scope=current["scope"])
    return "denied"


# --- the one door -----------------------------------------------------------------------------
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
    c.tell_client(request, "call_fallback", text_for("call_fallback", _lang(request)), now,
                  key_suffix=f":fallback:{call_id}")


def _lang(request: RequestRow) -> str:
    return request.data.get("language", "en")


# --- provider callbacks -----------------------------------------------------------------------
def sign_callback(raw_body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_callback(raw_body: Any, signature: Any, secret: str) -> bool:
    """Whether the calling provider signed this body (HMAC-SHA256 over the raw bytes)."""
    if not secret or not isinstance(signature, str) or not isinstance(raw_body, (bytes, bytearray)):
        return False
    match = _SIGNATURE_RE.fullmatch(signature.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), bytes(raw_body), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


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


# --- client answers ---------------------------------------------------------------------------
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def consent_answer(text: str | None, button_id: str | None = None) -> bool | None:
    """True for YES, False for NO, None for anything else (whole-message answers only)."""
    if button_id in (YES_BUTTON, NO_BUTTON):
        return button_id == YES_BUTTON
    if not isinstance(text, str):
        return None
    words = [w for w in re.split(r"[^a-z0-9_']+", _fold(text)) if w and w not in _FILLER]
    if not words or len(words) > 3:
        return None
    found = {True for w in words if w in _YES} | {False for w in words if w in _NO}
    if len(found) != 1 or any(w not in _YES and w not in _NO for w in words):
        return None
    return found.pop()


def is_call_me(text: str | None) -> bool:
    """The client asks to be called ("call me", "appelez-moi", "mpamagara")."""
    return isinstance(text, str) and _CALL_ME.search(_fold(text)) is not None


def _prompt_is_latest_question(c: RequestDesk, request: RequestRow) -> bool:
    return c.ledger.latest_client_question(request.id) == "consent_prompt"


def on_client_message(c: RequestDesk, phone: str, msg: InboundMessage, now: float) -> RequestRow | None:
    """Route a consent answer or a "call me" before the need pipeline sees the text.

    Returns the request the message belonged to when it was fully handled here, else None.
    A YES/NO is an answer only while a prompt is pending and it is the latest question we asked
    (else "yes" answers that other question); buttons of the prompt always are.
    """
    text = (msg.text or "").strip()
    request = c.ledger.latest_request(phone)
    if request is None:
        return None
    pending = consent(c, request.id, now)["status"] == "requested"
    answer = consent_answer(text, msg.button_id)
    if pending and answer is not None and (msg.button_id in (YES_BUTTON, NO_BUTTON)
                                           or _prompt_is_latest_question(c, request)):
        _record_inbound(c, request, msg, now)
        _on_answer(c, request, answer, now)
        return request
    if msg.button_id in (YES_BUTTON, NO_BUTTON):
        # A tap on an old prompt (already answered, or its request ended): recorded, not a new need.
        _record_inbound(c, request, msg, now)
        c.ledger.audit("consent.stale_answer", now, request.id, button=msg.button_id)
        return request
    if S(request.state) in ENDED_STATES or not is_call_me(text):
        return None
    return _on_call_me(c, request, msg, now)


def _record_inbound(c: RequestDesk, request: RequestRow, msg: InboundMessage, now: float) -> None:
    c.ledger.link_inbound(msg.wamid, request.id)
    c.ledger.add_transcript(request.id, "in", "client", msg.from_phone, msg.text or f"[{msg.kind}]", now,
                            wamid=msg.wamid)


def _on_answer(c: RequestDesk, request: RequestRow, granted: bool, now: float) -> None:
    status = answer_consent(c, request.id, granted, now)
    lang = _lang(request)
    if status == "denied":
        c.update(request.id, now, call_pending={})
        if S(request.state) in MAY_MESSAGE_CLIENT:  # after STOP or an error: nothing more is sent
            c.tell_client(request, "consent_confirmation", text_for("consent_denied", lang), now,
                          key_suffix=":consent:denied")
        return
    if S(request.state) in ENDED_STATES:
        if S(request.state) is S.HANDED_OFF:  # after STOP, a timeout or an escalation: say nothing more
            c.tell_client(request, "consent_confirmation", text_for("call_not_needed", lang), now,
                          key_suffix=":consent:not_needed")
        _run_pending(c, request.id, now)  # every pending call meets the request-state gate, audited
        return
    c.tell_client(request, "consent_confirmation", text_for("consent_granted", lang), now,
                  key_suffix=":consent:granted")
    _run_pending(c, request.id, now)


def resume_pending_calls(c: RequestDesk, request: RequestRow, now: float) -> bool:
    """After a restart: the client said yes (consent granted) but the process died before the calls
    waiting on that answer were placed (the confirmation is sent first). Meta's retry of the tap is a
    duplicate by then, so the calls would never happen. True when pending calls were run."""
    if not request.data.get("call_pending") or consent_status(c, request.id, now) != "granted":
        return False
    _run_pending(c, request.id, now)
    return True


def _run_pending(c: RequestDesk, request_id: str, now: float) -> None:
    request = c.request(request_id)
    pending = dict(request.data.get("call_pending") or {})
    c.update(request_id, now, call_pending={})
    # The client's own wish to be called goes first; a vendor call then waits for the cooldown.
    for target in ("client", "vendor"):
        intent = pending.get(target)
        if intent is None:
            continue
        if target == "vendor" and S(c.request(request_id).state) not in ENDED_STATES:
            vendor_id = _vendor_still_worth_calling(c, c.request(request_id), intent)
            if vendor_id is None:
                c.ledger.audit("call.trigger_lapsed", now, request_id, trigger=intent.get("trigger"))
                continue
            intent = {**intent, "vendor_id": vendor_id}
        _call_tool(c, request_id, target, intent.get("vendor_id"), intent.get("trigger", "client"), now)


def _call_tool(c: RequestDesk, request_id: str, target: str, vendor_id: str | None, trigger: str,
               now: float) -> dict[str, Any]:
    who = vendor_id or "client"
    return c.tools.call(
        "marketplace.start_call",
        {"request_id": request_id, "idempotency_key": f"request:{request_id}:call:{who}:{trigger}:{now:.3f}",
         "actor": "system", "target": target, "vendor_id": vendor_id, "trigger": trigger},
        now,
    )


def _ask(c: RequestDesk, request: RequestRow, scope: str, now: float) -> None:
    before = consent(c, request.id, now)
    result = c.tools.call(
        "marketplace.request_call_consent",
        {"request_id": request.id, "idempotency_key": f"request:{request.id}:consent:{scope}:{now:.3f}",
         "actor": "system", "scope": scope},
        now,
    )
    if result.get("status") != "requested":
        return
    stored = consent(c, request.id, now)["scope"] or scope
    if before["status"] == "requested" and before["scope"] == stored:
        return  # the pending prompt already asks exactly this
    lang = _lang(request)
    yes, no = _BUTTON_TITLES.get(lang, _BUTTON_TITLES["en"])
    prompts = int(request.data.get("consent_prompts", 0)) + 1
    c.update(request.id, now, consent_prompts=prompts)
    c.tell_client(c.request(request.id), "consent_prompt", text_for(_PROMPT_TEXT[stored], lang), now,
                  key_suffix=f":consent:{prompts}", buttons=[(YES_BUTTON, yes), (NO_BUTTON, no)])


def _remember(c: RequestDesk, request: RequestRow, target: str, intent: dict[str, Any], now: float) -> None:
    pending = dict(c.request(request.id).data.get("call_pending") or {})
    pending.setdefault(target, intent)
    c.update(request.id, now, call_pending=pending)


def _on_call_me(c: RequestDesk, request: RequestRow, msg: InboundMessage, now: float) -> RequestRow | None:
    """"Call me" is a wish, not consent: ask for it (or call if a covering consent already holds).

    A bare "call me" is handled here whole; one that says more also goes on to the need pipeline.
    """
    c.ledger.audit("call.requested_by_client", now, request.id)
    rest = re.sub(r"[^a-z]+", " ", _CALL_ME.sub(" ", _fold(msg.text or ""))).split()
    only_call_me = all(w in _FILLER or w in _NOW for w in rest)
    if only_call_me:
        _record_inbound(c, request, msg, now)
    if not c.flags.calling_on(request.client_phone):
        c.ledger.audit("call.request_declined", now, request.id, gate="disabled")
        if only_call_me:
            c.tell_client(request, "calling_unavailable", text_for("calling_unavailable", _lang(request)), now,
                          key_suffix=":calling_unavailable")
    else:
        current = consent(c, request.id, now)
        if current["status"] == "granted" and "client" in SCOPE_COVERS.get(current["scope"] or "", set()):
            _call_tool(c, request.id, "client", None, "client", now)
        else:
            _remember(c, request, "client", {"trigger": "client"}, now)
            _ask(c, request, "call_client", now)
    return request if only_call_me else None


# --- vendor-call triggers ---------------------------------------------------------------------
def after_outreach_started(c: RequestDesk, request_id: str, now: float) -> None:
    """Arm the urgent trigger: an urgent request with no vendor reply 3 minutes after outreach."""
    request = c.request(request_id)
    if not (request.data.get("requirements") or {}).get("urgent"):
        return
    if request.data.get("call_trigger_armed"):
        return
    c.update(request_id, now, call_trigger_armed=True)
    c.ports.scheduler.schedule(
        Timer("call_trigger", request_id, now + c.caps.call_trigger_no_reply_s, {"trigger": "urgent_no_reply"})
    )


def _waiting(request: RequestRow) -> bool:
    return S(request.state) in OUTREACH_UNDER_WAY


def _first_silent_vendor(c: RequestDesk, request_id: str) -> str | None:
    replied = {r["vendor_id"] for r in c.ledger.replies(request_id)}
    rows = [o for o in c.ledger.outreach(request_id=request_id)
            if o.status == "sent" and o.vendor_id not in replied]
    rows.sort(key=lambda o: (o.batch, o.sent_at or 0.0, o.id))
    return rows[0].vendor_id if rows else None


def _latest_confidence(c: RequestDesk, request_id: str, vendor_id: str) -> float | None:
    latest = [r for r in c.ledger.replies(request_id) if r["vendor_id"] == vendor_id]
    if not latest:
        return None
    value = latest[-1]["parsed"].get("confidence")
    return float(value) if isinstance(value, (int, float)) else 0.0


def _vendor_still_worth_calling(c: RequestDesk, request: RequestRow, intent: dict[str, Any]) -> str | None:
    """Re-check a trigger when consent arrives: the situation may have resolved meanwhile."""
    if not _waiting(request):
        return None
    if intent.get("trigger") == "urgent_no_reply":
        if c.ledger.replies(request.id):
            return None
        return _first_silent_vendor(c, request.id)
    vendor_id = intent.get("vendor_id")
    confidence = _latest_confidence(c, request.id, vendor_id or "")
    if vendor_id and confidence is not None and confidence < c.caps.ambiguous_confidence:
        return vendor_id
    return None


def on_trigger_timer(c: RequestDesk, timer: Timer, now: float) -> None:
    request = c.ledger.get_request(timer.request_id or "")
    if request is None or not _waiting(request):
        return
    if c.ledger.replies(request.id):
        return  # a vendor answered within the 3 minutes: nothing to escalate
    vendor_id = _first_silent_vendor(c, request.id)
    if vendor_id is None:
        return
    vendor_trigger(c, request, vendor_id, "urgent_no_reply", now)


def after_vendor_reply(c: RequestDesk, request_id: str | None, vendor_id: str, parsed: dict[str, Any],
                       now: float) -> None:
    """An ambiguous reply (confidence below 0.6) while the client waits may justify a call."""
    if request_id is None:
        return
    request = c.ledger.get_request(request_id)
    if request is None or not _waiting(request):
        return
    if parsed.get("busy") or parsed.get("stop") or parsed.get("suspicious"):
        return  # never ring a vendor who is busy, leaving, or trying something
    confidence = parsed.get("confidence")
    if not isinstance(confidence, (int, float)) or confidence >= c.caps.ambiguous_confidence:
        return
    vendor_trigger(c, request, vendor_id, "ambiguous_reply", now)


def vendor_trigger(c: RequestDesk, request: RequestRow, vendor_id: str, trigger: str, now: float) -> None:
    """A reason to call a vendor: call if every gate holds, ask consent once if it was never asked,
    otherwise knock on the door anyway so that the refusal is named and audited."""
    c.ledger.audit("call.triggered", now, request.id, trigger=trigger, vendor_id=vendor_id)
    gate = refusal_gate(c, request.id, "vendor", now)
    status = consent(c, request.id, now)["status"]
    intent = {"trigger": trigger, "vendor_id": vendor_id}
    if gate == "consent" and status == "not_requested":
        _remember(c, request, "vendor", intent, now)
        _ask(c, request, "call_vendor", now)
        return
    if gate == "consent" and status == "requested":
        _remember(c, request, "vendor", intent, now)
        c.ledger.audit("call.awaiting_consent", now, request.id, trigger=trigger)
        return
    _call_tool(c, request.id, "vendor", vendor_id, trigger, now)


def consent_status(c: RequestDesk, request_id: str, now: float) -> str:
    return str(consent(c, request_id, now)["status"])
