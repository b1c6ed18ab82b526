"""Asking the brain: context pack -> proposal -> contract and evidence checks -> execution.

The brain only proposes. A proposal that breaks the contract (or names a vendor or a price the
replies do not back) is rejected: audited, the client gets the safe message, nothing is executed,
and the brain is not asked again for that event. Three rejections in a row trip the request's kill
switch, and the coded workflow serves the rest of it. Calls beyond the per-request budget, and a
brain that does not answer, also fall back to the coded workflow.

Written against the request desk (``concierge.desk``). What an accepted action does is the
``actions`` table the orchestrator fills (action type -> handler), so this loop names no concern
it hands work to; the context pack the brain is shown is built here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .call_consent import consent_status
from .coded import CodedWorkflow
from .contracts import BRAIN_ACTION_TYPES, decode_brain_output, validate_brain_output
from .errors import BrainUnavailable, ContractViolation
from .lifecycle import RequestState
from .phones import mask_phone
from .safety import contains_payment_instruction, detect_injection, phones_in, redact
from .texts import text_for

if TYPE_CHECKING:  # pragma: no cover
    from .closeout import Closeout
    from .desk import RequestDesk
    from .ledger import RequestRow
    from .outreach_flow import OutreachFlow

Action = Callable[[str, dict[str, Any], float], None]

log = logging.getLogger("concierge.brain")


class BrainLoop:
    actions: dict[str, Action]  # action type -> what executes it (filled by the orchestrator)

    def __init__(self, desk: RequestDesk, outreach: OutreachFlow, closeout: Closeout):
        self.desk = desk
        self.outreach = outreach
        self.closeout = closeout
        self.coded = CodedWorkflow()

    def consult(self, request_id: str, event: str, now: float) -> None:
        c = self.desk
        request = c.request(request_id)
        data = request.data
        coded = data.get("handled_by") != "ai" or data.get("kill_switch")
        calls = 0 if coded else int(data.get("brain_calls", 0))
        asks = not coded and calls < c.caps.brain_calls_max
        # A brain call is counted in the snapshot's write: nothing in between reads the count.
        pack = self.context_pack(request_id, event, now, request=request,
                                 counting={"brain_calls": calls + 1} if asks else None)
        if coded:
            self._run(request_id, self.coded.propose(pack), now, source="coded")
            return
        if not asks:
            c.ledger.audit("brain.budget_exhausted", now, request_id, calls=data.get("brain_calls"))
            self._run(request_id, self.coded.propose(pack), now, source="coded")
            return
        c.ledger.audit("brain.called", now, request_id, trigger=event)
        try:
            raw = c.ports.brain.propose(pack)
        except BrainUnavailable as exc:
            c.ledger.audit("brain.unavailable", now, request_id, reason=str(exc)[:200])
            log.warning("brain unavailable for %s: %s", request_id, str(exc)[:120])
            self._run(request_id, self.coded.propose(pack), now, source="coded")
            return
        except Exception as exc:  # a brain is a remote service: any failure is "unavailable"
            c.ledger.audit("brain.unavailable", now, request_id, reason=type(exc).__name__)
            log.warning("brain raised %s for %s", type(exc).__name__, request_id)
            self._run(request_id, self.coded.propose(pack), now, source="coded")
            return
        try:
            action = validate_brain_output(raw)
            if action["type"] == "shortlist":
                problem = self.closeout.evidence_problem(request_id, action)
                if problem:
                    raise ContractViolation("evidence", problem)
            problem = containment_problem(action)
            if problem:
                raise ContractViolation("containment", problem)
        except ContractViolation as exc:
            self._reject(request_id, str(exc), event, pack, now, action_type=proposed_type(raw))
            return
        c.update(request_id, now, brain_rejected_in_a_row=0)
        c.ledger.audit("brain.output_accepted", now, request_id, action=action["type"])
        self._run(request_id, action, now, source="brain", checked=True)
        if action.get("state_suggestion"):
            # Advisory only: on record beside the state the backend's own rules reached.
            c.ledger.audit("brain.state_suggestion", now, request_id, action=action["type"],
                           suggested=action["state_suggestion"], state=c.request(request_id).state)

    def _reject(self, request_id: str, reason: str, event: str, pack: dict[str, Any], now: float,
                action_type: str | None = None) -> None:
        c = self.desk
        data = c.request(request_id).data
        in_a_row = int(data.get("brain_rejected_in_a_row", 0)) + 1
        c.update(
            request_id, now, brain_rejected=int(data.get("brain_rejected", 0)) + 1,
            brain_rejected_in_a_row=in_a_row,
        )
        reason = redact(reason)  # schema errors quote the output, which may carry numbers or secrets
        c.ledger.audit("brain.output_rejected", now, request_id, reason=reason[:500], trigger=event,
                       action_type=action_type)
        log.warning("brain output rejected for %s: %s", request_id, reason[:200])
        if in_a_row >= c.caps.kill_switch_after:
            c.update(request_id, now, kill_switch=True, handled_by="coded")
            c.ledger.audit("brain.kill_switch", now, request_id, rejections=in_a_row)
            log.warning("kill switch tripped for %s: coded workflow takes over", request_id)
            self._run(request_id, self.coded.propose(self.context_pack(request_id, event, now)), now, source="coded")
            return
        request = c.request(request_id)
        if RequestState(request.state) is RequestState.OCR_PROCESSING:
            # Nothing else moves a request out of ocr_processing: without this the client's next
            # message would be ignored for good. Back to the client, as for an unreadable photo.
            c.fire(request_id, "ocr_needs_client", now, detail="brain_rejected")
            request = c.request(request_id)
        text = text_for("processing", data.get("language", "en"))
        if c.ledger.client_text_since(request_id, text, now - c.caps.progress_repeat_window_s):
            # docs/domain.md: never the same text to a client twice within 5 minutes.
            c.ledger.audit("client.repeat_suppressed", now, request_id, purpose="safe_message")
            return
        c.tell_client(request, "safe_message", text, now, key_suffix=f":rej{data.get('brain_rejected', 0) + 1}")

    def _run(self, request_id: str, action: dict[str, Any], now: float, *, source: str,
             checked: bool = False) -> None:
        """Execute an action. ``checked``: ``validate_brain_output`` returned it (checking it again
        gives the same action: its limits applied, its schema met); the handler gets a copy as ever."""
        # The coded workflow is held to the same contract: a bug there is caught, not executed.
        action = dict(action) if checked else validate_brain_output(action)
        self.desk.ledger.audit("action.executed", now, request_id, action=action["type"], source=source)
        self.actions[action["type"]](request_id, action, now)

    def context_pack(self, request_id: str, event: str, now: float | None = None, *,
                     request: RequestRow | None = None,
                     counting: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the brain is shown. ``request``: the request's row, when the caller has just read
        it (its data is decoded on every read). ``counting``: more changes to the request's data,
        written with the snapshot's count in one write (what the pack shows is unaffected)."""
        c = self.desk
        if request is None:
            request = c.request(request_id)
        # The request's core facts come through the audited snapshot tool: what the brain was shown
        # is on record. A numbered key per snapshot, so a replay never serves a stale one.
        at = request.updated_at if now is None else now
        taken = int(request.data.get("snapshots", 0)) + 1
        c.update_row(request, at, snapshots=taken, **(counting or {}))  # read just now, or by the caller
        snapshot = c.tools.call(
            "marketplace.get_request_snapshot",
            {"request_id": request_id, "idempotency_key": f"request:{request_id}:snapshot:{taken}",
             "actor": "system"},
            at,
        )["request"]
        messages = [
            {"from": "client" if t["party"] == "client" and t["direction"] == "in"
             else ("vendor" if t["party"] == "vendor" and t["direction"] == "in" else "concierge"),
             "text": redact(t["text"])[:1000]}
            for t in c.ledger.transcript(request_id, limit=20)
        ]
        jobs = c.ledger.ocr_jobs(request_id)
        latest_ocr = jobs[-1]["result"] if jobs else None
        outreach = c.ledger.outreach(request_id=request_id)
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
                # The snapshot's update wrote only the snapshot count: the row and outreach stand.
                "replies": self.outreach.replies_summary(request_id, request=request, outreach_rows=outreach),
            },
            "policies": {
                "ai_enabled": request.data.get("handled_by") == "ai",
                "ocr_enabled": c.flags.ocr_on(request.client_phone),
                "calling_enabled": c.flags.calling_on(request.client_phone),
                "calling_consent": consent_status(c, request_id, at),
                "caps": {
                    "batch_size_max": c.caps.batch_size_max,
                    "max_batches": c.caps.max_batches,
                    "max_vendors_per_request": c.caps.max_vendors_per_request,
                    "min_replies": c.caps.min_replies,
                    "clarifications_max": c.caps.clarifications_max,
                    "radius_default_km": c.caps.radius_default_km,
                },
            },
        }


def proposed_type(raw: Any) -> str | None:
    """The action type a raw output claims to be, when it names a known one (for the audit trail)."""
    try:
        decoded = decode_brain_output(raw)
    except ContractViolation:
        return None
    kind = decoded.get("type") if isinstance(decoded, dict) else None
    return kind if kind in BRAIN_ACTION_TYPES else None


def containment_problem(action: dict[str, Any]) -> str | None:
    """Text the brain wants shown to the client must not carry payment instructions or phone
    numbers: the only numbers a client gets are the wa.me links built from the vendors' replies."""
    for key in ("question_text", "safe_client_message"):
        text = action.get(key)
        if not isinstance(text, str):
            continue
        if contains_payment_instruction(text):
            return f"{action['type']}: {key} carries payment instructions"
        if phones_in(text):
            return f"{action['type']}: {key} carries a phone number"
    # Vendor-facing text the brain writes is held to the same rule: nothing to forward.
    vendor_texts = [("normalized_need", action.get("normalized_need"))]
    vendor_texts += [(f"vendor_questions[{i}]", q) for i, q in enumerate(action.get("vendor_questions") or [])]
    for key, text in vendor_texts:
        if isinstance(text, str) and (contains_payment_instruction(text) or phones_in(text)):
            return f"{action['type']}: {key} carries payment instructions or a phone number"
    for i, option in enumerate(action.get("options") or []):
        if isinstance(option, str) and (contains_payment_instruction(option) or phones_in(option)):
            return f"{action['type']}: options[{i}] carries payment instructions or a phone number"
    return _link_text_problem(action)


def _link_text_problem(action: dict[str, Any]) -> str | None:
    """The shortlist's ``handoff.message_template`` is what the client's wa.me links pre-fill: the
    client reads it and then sends it to a vendor, so it is held to both sides' rules, and an
    instruction aimed at the vendor's own assistant is refused as it would be from a client."""
    template = (action.get("handoff") or {}).get("message_template") if action["type"] == "shortlist" else None
    if not isinstance(template, str):
        return None
    where = "shortlist: handoff.message_template"
    if contains_payment_instruction(template):
        return f"{where} carries payment instructions"
    if phones_in(template):
        return f"{where} carries a phone number"
    kinds = detect_injection(template, source="client").kinds
    if kinds:
        return f"{where} carries an instruction ({', '.join(kinds)})"
    return None
