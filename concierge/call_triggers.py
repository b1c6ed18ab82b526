"""What leads to a call, and what the client says about calls. Triggers never call by themselves:
they ask for consent, or knock on the one door (``call_gates.start_call``) so that a refusal is named.

Vendor-call triggers: an urgent request with no vendor reply 3 minutes after outreach, an ambiguous
vendor reply while the client waits. The client's side: a YES/NO to the consent prompt (then the calls
waiting on it are placed) and "call me", which is a wish, not consent. See docs/calling.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .call_consent import SCOPE_COVERS, answer_consent, consent, consent_status
from .call_gates import refusal_gate
from .call_text import (
    NO_BUTTON,
    YES_BUTTON,
    button_titles,
    consent_answer,
    is_call_me,
    only_asks_for_a_call,
)
from .lifecycle import ENDED_STATES, MAY_MESSAGE_CLIENT, OUTREACH_UNDER_WAY, RequestState
from .ports import Timer
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk
    from .ledger import RequestRow
    from .webhooks import InboundMessage

S = RequestState
_PROMPT_TEXT = {"call_vendor": "consent_prompt_vendor", "call_client": "consent_prompt_client",
                "either": "consent_prompt_either"}


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
    lang = c.lang(request)
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
    lang = c.lang(request)
    yes, no = button_titles(lang)
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
    only_call_me = only_asks_for_a_call(msg.text)
    if only_call_me:
        _record_inbound(c, request, msg, now)
    if not c.flags.calling_on(request.client_phone):
        c.ledger.audit("call.request_declined", now, request.id, gate="disabled")
        if only_call_me:
            c.tell_client(request, "calling_unavailable", text_for("calling_unavailable", c.lang(request)), now,
                          key_suffix=":calling_unavailable")
    else:
        current = consent(c, request.id, now)
        if current["status"] == "granted" and "client" in SCOPE_COVERS.get(current["scope"] or "", set()):
            _call_tool(c, request.id, "client", None, "client", now)
        else:
            _remember(c, request, "client", {"trigger": "client"}, now)
            _ask(c, request, "call_client", now)
    return request if only_call_me else None


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
