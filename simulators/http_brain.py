"""An LLM brain over HTTP, behind the concierge's Brain port: one wire format, httpx, retries.

Every failure to get an answer (timeout, connection refused, 429 or 5xx after the retries, an
auth error, a body that is not the provider's documented shape) raises ``BrainUnavailable``: the
concierge's brain-fault path (coded workflow for that event) takes over. What the model *said* is
never judged here: text that is not a valid action (a refusal, JSON cut off at the token limit)
is returned as it is, and the concierge's contract rejects it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from concierge.errors import BrainUnavailable

from .brain_wire import Answer, GeminiWire, MalformedResponse, OpenAIWire, Usage

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0  # a provider asking for longer is treated as down, not waited for


class HttpBrain:
    def __init__(self, wire: GeminiWire | OpenAIWire, *, model: str, system_prompt: str, api_key: str,
                 base_url: str | None = None, timeout_s: float = 30.0, retries: int = 3,
                 backoff_s: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None):
        self.wire = wire
        self.model = model
        self.system_prompt = system_prompt
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep  # injectable: tests count the waits instead of sleeping them
        self._headers = wire.headers(api_key)
        self.client = httpx.Client(base_url=(base_url or wire.default_base_url).rstrip("/"),
                                   timeout=timeout_s, transport=transport)
        self.usage: list[dict[str, Any]] = []  # one row per answered call

    def close(self) -> None:
        self.client.close()

    def body(self, context_pack: dict[str, Any]) -> dict[str, Any]:
        return self.wire.body(self.model, self.system_prompt, context_pack)

    def propose(self, context_pack: dict[str, Any]) -> str:
        answer = self.answer(context_pack)
        self.usage.append({"request_id": context_pack.get("request_id"), "source": "live", **answer.usage.as_dict()})
        return answer.text

    def answer(self, context_pack: dict[str, Any]) -> Answer:
        return self.send(self.body(context_pack))

    def send(self, body: dict[str, Any]) -> Answer:
        path = self.wire.path(self.model)
        last = ""
        for attempt in range(self.retries + 1):
            try:
                response = self.client.post(path, json=body, headers=self._headers)
            except httpx.TimeoutException:
                last = "timeout"
                wait = self._backoff(attempt, None)
            except httpx.TransportError as exc:
                last = f"transport error ({type(exc).__name__})"
                wait = self._backoff(attempt, None)
            else:
                if response.status_code in RETRY_STATUSES:
                    last = f"HTTP {response.status_code}"
                    wait = self._backoff(attempt, response.headers.get("retry-after"))
                elif response.status_code >= 400:
                    raise BrainUnavailable(f"{self.wire.name}: HTTP {response.status_code} (not retried)")
                else:
                    return self._parse(response)
            if attempt == self.retries or wait is None:
                break
            self.sleep(wait)
        raise BrainUnavailable(f"{self.wire.name}: {last} after {attempt + 1} attempt(s)")

    def _backoff(self, attempt: int, retry_after: str | None) -> float | None:
        if retry_after is not None:
            try:
                seconds = float(retry_after)
            except ValueError:
                seconds = None
            if seconds is not None:
                return seconds if 0 <= seconds <= MAX_RETRY_AFTER_S else None
        return self.backoff_s * (2 ** attempt)

    def _parse(self, response: httpx.Response) -> Answer:
        try:
            data = response.json()
        except ValueError as exc:
            raise BrainUnavailable(f"{self.wire.name}: the response body is not JSON") from exc
        try:
            return self.wire.parse(data)
        except MalformedResponse as exc:
            raise BrainUnavailable(str(exc)) from exc


__all__ = ["HttpBrain", "Answer", "Usage", "RETRY_STATUSES"]
