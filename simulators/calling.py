"""FakeCallProvider: a voice-call API (Twilio-like) on the wire, and its signed status callbacks.

The concierge's ``CallProvider`` port is implemented by ``adapters.call_provider.HttpCallProvider``,
which speaks HTTP to the fake through ``httpx.MockTransport(router.handler)`` — a respx router,
nothing patched globally.
``placed`` is the provider's own record of every call it actually placed: the ground truth the
"no call without consent" invariant reads. Status callbacks (ringing, in_progress, completed,
failed, no_answer, busy) are HMAC-SHA256 signed over the raw body, like a real provider's.

Faults (``fault: {target: call, kind: error|timeout, status: 500, times: 1}``):
``error`` answers the start-call request with an HTTP error and places nothing; ``timeout`` (also
``no_callback``) places the call but never calls back on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import respx

from concierge.phones import InvalidPhone, normalize_phone

CALLS_HOST = "api.calls.sim"
CALLBACK_URL = "https://concierge.sim/calls/status"
SIGNATURE_HEADER = "X-Call-Signature"
CALLBACK_STATUSES = ("ringing", "in_progress", "completed", "failed", "no_answer", "busy")
FAULT_KINDS = ("error", "no_callback")
_FAULT_ALIASES = {"timeout": "no_callback"}  # the scenario loader's word for "never heard back"


@dataclass(frozen=True)
class SignedCallback:
    """An HTTP POST the provider makes to the concierge's status-callback URL."""

    url: str
    body: bytes
    headers: dict[str, str]

    @property
    def signature(self) -> str | None:
        return self.headers.get(SIGNATURE_HEADER)


@dataclass
class _Fault:
    kind: str
    status: int
    remaining: int


def callback_body(call_sid: str, reference: str, status: str, to: str, at: float) -> tuple[dict[str, Any], bytes]:
    """A status callback as the provider POSTs it: the payload and its exact bytes (what is signed)."""
    payload = {"call_sid": call_sid, "reference": reference, "status": status, "to": to,
               "timestamp": round(at, 3)}
    return payload, json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")


class FakeCallProvider:
    def __init__(self, *, secret: str, api_key: str, now: Callable[[], float], seed: int = 0):
        self.secret = secret
        self.api_key = api_key
        self.now = now
        self.seed = seed
        self.placed: list[dict[str, Any]] = []
        self.requests: list[httpx.Request] = []
        self.callbacks_sent: list[dict[str, Any]] = []
        self.on_callback: Callable[[], None] | None = None  # the world pumps when a step calls back
        self._outbox: deque[SignedCallback] = deque()
        self._faults: deque[_Fault] = deque()
        self._by_key: dict[str, dict[str, Any]] = {}
        self._silent: set[str] = set()
        self.router = respx.Router(base_url=f"https://{CALLS_HOST}", assert_all_called=False)
        self.router.post("/v1/calls", name="start_call").mock(side_effect=self._start)
        self.router.route(name="catch_all").respond(404, json={"error": "not_found"})

    # --- wire -------------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"https://{CALLS_HOST}", transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.router.handler(request)

    def _start(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return httpx.Response(401, json={"error": "unauthorized"})
        try:
            body = json.loads(request.content)
            to = normalize_phone(str(body["to"]))
            key = str(body["idempotency_key"])
            request_id = str(body["request_id"])
            callback_url = str(body.get("status_callback") or CALLBACK_URL)
        except (ValueError, KeyError, TypeError, InvalidPhone):
            return httpx.Response(400, json={"error": "invalid_request"})
        if key in self._by_key:  # a retried request never places a second call
            call = self._by_key[key]
            return httpx.Response(200, json={"sid": call["call_id"], "status": call["status"]})
        fault = self._take_fault()
        if fault is not None and fault.kind == "error":
            return httpx.Response(fault.status, json={"error": "provider_unavailable"})
        call = {
            "call_id": f"CA{len(self.placed) + 1:04d}{self.seed:04d}",
            "to": to,
            "request_id": request_id,
            "idempotency_key": key,
            "at": self.now(),
            "status": "queued",
            "callback_url": callback_url,
        }
        self.placed.append(call)
        self._by_key[key] = call
        if fault is not None and fault.kind == "no_callback":
            self._silent.add(call["call_id"])
        else:
            self._queue(call, "ringing")
        return httpx.Response(201, json={"sid": call["call_id"], "status": "queued"})

    # --- faults -----------------------------------------------------------------------------
    def inject_fault(self, kind: str | None = None, *, status: int | None = None, times: int = 1) -> None:
        kind = _FAULT_ALIASES.get(kind or "error", kind or "error")
        if kind not in FAULT_KINDS:
            raise ValueError(f"call fault kind must be one of {FAULT_KINDS}, got {kind!r}")
        self._faults.append(_Fault(kind, int(status or 500), max(1, int(times))))

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.popleft()
        return fault

    # --- callbacks --------------------------------------------------------------------------
    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()

    def _queue(self, call: dict[str, Any], status: str) -> SignedCallback:
        payload, body = callback_body(call["call_id"], call["idempotency_key"], status, call["to"], self.now())
        hook = SignedCallback(call["callback_url"], body,
                              {"Content-Type": "application/json", SIGNATURE_HEADER: self.sign(body)})
        call["status"] = status
        self.callbacks_sent.append(payload)
        self._outbox.append(hook)
        return hook

    def callback(self, status: str, call_id: str | None = None) -> SignedCallback:
        """The provider reports ``status`` for the latest placed call (or ``call_id``)."""
        if status not in CALLBACK_STATUSES:
            raise ValueError(f"call status must be one of {CALLBACK_STATUSES}, got {status!r}")
        if not self.placed:
            raise LookupError("no call was placed, so there is nothing to report")
        call = next((c for c in self.placed if c["call_id"] == call_id), None) if call_id else self.placed[-1]
        if call is None:
            raise LookupError(f"no placed call {call_id!r}")
        hook = self._queue(call, status)
        if self.on_callback is not None:
            self.on_callback()
        return hook

    def drain_callbacks(self) -> list[SignedCallback]:
        out = list(self._outbox)
        self._outbox.clear()
        return out
