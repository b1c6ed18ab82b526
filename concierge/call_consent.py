"""Call consent: the client's, per request, with a scope saying whom we may call, for a limited time.

not_requested -> requested -> granted (until the TTL, then expired) or denied; asking again widens a
pending or granted scope ("call_vendor" + "call_client" = "either"). The prompt and the client's
answer are the conversation's (``call_triggers``); this module only keeps the record. See docs/calling.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk

SCOPES = ("call_vendor", "call_client", "either")
SCOPE_COVERS = {
    "call_vendor": {"vendor"},
    "call_client": {"client"},
    "either": {"vendor", "client"},
}
TARGET_SCOPE = {"vendor": "call_vendor", "client": "call_client"}


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


def consent_status(c: RequestDesk, request_id: str, now: float) -> str:
    return str(consent(c, request_id, now)["status"])
