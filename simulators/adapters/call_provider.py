"""HttpCallProvider: ``concierge.ports.CallProvider`` over a voice-call provider's HTTP API with httpx.

Starting a call never raises for HTTP trouble: every attempt becomes a ``CallOutcome``. The
idempotency key travels as a header and in the body, so a retried start places one call.
"""

from __future__ import annotations

import httpx

from concierge.ports import CallOutcome


class HttpCallProvider:
    """Implements ``concierge.ports.CallProvider`` over HTTP (the production adapter's shape)."""

    def __init__(self, http: httpx.Client, *, api_key: str, callback_url: str):
        self.http = http
        self.api_key = api_key
        self.callback_url = callback_url

    def start_call(self, to: str, *, request_id: str, idempotency_key: str) -> CallOutcome:
        try:
            response = self.http.post(
                "/v1/calls",
                json={"to": to, "request_id": request_id, "idempotency_key": idempotency_key,
                      "status_callback": self.callback_url},
                headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": idempotency_key},
            )
        except httpx.HTTPError as exc:
            return CallOutcome(False, error=f"transport: {type(exc).__name__}")
        if response.status_code >= 300:
            return CallOutcome(False, error=f"http {response.status_code}")
        try:
            sid = response.json().get("sid")
        except ValueError:
            return CallOutcome(False, error="bad response")
        return CallOutcome(True, call_id=str(sid) if sid else None)
