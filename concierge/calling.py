"""Calling, for escalation only: consent first, every gate checked, each refusal named and audited.

Consent is the client's (the concierge acts for the client); its scope says whom we may call.
Zero unsolicited calls is absolute, so ``start_call`` is the one door to the call provider and it
opens only when every gate of DOMAIN.md holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .lifecycle import ENDED_STATES, RequestState

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Concierge

log = logging.getLogger("concierge.calling")

SCOPE_COVERS = {
    "call_vendor": {"vendor"},
    "call_client": {"client"},
    "either": {"vendor", "client"},
}


def consent(c: Concierge, request_id: str, now: float) -> dict[str, Any]:
    row = c.ledger.db.execute("SELECT * FROM consents WHERE request_id=?", (request_id,)).fetchone()
    if row is None:
        return {"status": "not_requested", "scope": None, "granted_at": None, "expires_at": None}
    out = dict(row)
    if out["status"] == "granted" and out["expires_at"] is not None and now >= out["expires_at"]:
        c.ledger.db.execute("UPDATE consents SET status='expired' WHERE request_id=?", (request_id,))
        c.ledger.audit("consent.expired", now, request_id)
        out["status"] = "expired"
    return out


def request_consent(c: Concierge, args: dict[str, Any], now: float) -> dict[str, Any]:
    request_id = args["request_id"]
    current = consent(c, request_id, now)
    if current["status"] in ("requested", "granted"):
        return {"success": True, "status": current["status"]}
    c.ledger.db.execute(
        "INSERT INTO consents (request_id, status, scope, requested_at) VALUES (?,?,?,?)"
        " ON CONFLICT(request_id) DO UPDATE SET status='requested', scope=excluded.scope,"
        " requested_at=excluded.requested_at, granted_at=NULL, expires_at=NULL",
        (request_id, "requested", args["scope"], now),
    )
    c.ledger.audit("consent.requested", now, request_id, scope=args["scope"])
    return {"success": True, "status": "requested"}


def answer_consent(c: Concierge, request_id: str, granted: bool, now: float) -> str:
    current = consent(c, request_id, now)
    if current["status"] != "requested":
        return current["status"]
    if granted:
        c.ledger.db.execute(
            "UPDATE consents SET status='granted', granted_at=?, expires_at=? WHERE request_id=?",
            (now, now + c.caps.consent_ttl_s, request_id),
        )
    else:
        c.ledger.db.execute("UPDATE consents SET status='denied' WHERE request_id=?", (request_id,))
    status = "granted" if granted else "denied"
    c.ledger.audit(f"consent.{status}", now, request_id)
    return status


def refusal_gate(c: Concierge, request_id: str, target: str, now: float) -> str | None:
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
    last = c.ledger.db.execute(
        "SELECT MAX(started_at) FROM calls WHERE request_id=?", (request_id,)
    ).fetchone()[0]
    if last is not None and now - last < c.caps.call_cooldown_s:
        return "cooldown"
    if c.ports.calls is None:
        return "no_provider"
    return None


def start_call(c: Concierge, args: dict[str, Any], now: float) -> dict[str, Any]:
    request_id = args["request_id"]
    target = args["target"]
    gate = refusal_gate(c, request_id, target, now)
    if gate is not None:
        c.ledger.audit("call.refused", now, request_id, gate=gate, target=target)
        return {"success": False, "reason": gate, "gate": gate, "call_id": None}
    request = c.ledger.get_request(request_id)
    assert request is not None
    if target == "client":
        to = request.client_phone
    else:
        vendor = c.ports.directory.by_id(args.get("vendor_id") or "")
        if vendor is None:
            c.ledger.audit("call.refused", now, request_id, gate="unknown_vendor", target=target)
            return {"success": False, "reason": "unknown_vendor", "gate": "unknown_vendor", "call_id": None}
        to = vendor.phone
    assert c.ports.calls is not None
    outcome = c.ports.calls.start_call(to, request_id=request_id, idempotency_key=args["idempotency_key"])
    call_id = outcome.call_id or f"call:{args['idempotency_key']}"
    c.ledger.db.execute(
        "INSERT OR IGNORE INTO calls (id, request_id, target, to_phone, status, started_at, consent_ok,"
        " updated_at) VALUES (?,?,?,?,?,?,1,?)",
        (call_id, request_id, target, to, "initiated" if outcome.accepted else "failed", now, now),
    )
    c.ledger.audit("call.started" if outcome.accepted else "call.provider_error", now, request_id,
                   call_id=call_id, target=target)
    if not outcome.accepted:
        return {"success": False, "reason": outcome.error or "provider_error", "call_id": call_id}
    return {"success": True, "call_id": call_id}
