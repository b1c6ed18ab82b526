"""The two wire formats an LLM brain is reached through: Gemini's ``generateContent`` and the
OpenAI-compatible ``/chat/completions``. Each builds the request body for a system prompt and a
context pack, and reads the answer's text and token usage out of a response body.

Only the shape of the bytes lives here; sending them (timeouts, retries) is ``http_brain``'s job,
and recording them is ``cassette``'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROVIDERS = ("gemini", "openai")


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Usage:
        d = d or {}
        return cls(int(d.get("input_tokens") or 0), int(d.get("output_tokens") or 0))


@dataclass(frozen=True)
class Answer:
    """What the model said (the raw text the concierge validates) and what it cost."""

    text: str
    usage: Usage
    finish: str = "stop"  # stop | length | refusal | safety ...


class MalformedResponse(ValueError):
    """The provider's HTTP body is not the shape its API documents (not the model's fault)."""


def user_turn(context_pack: dict[str, Any]) -> str:
    # Sorted and compact: the same pack is the same bytes, so a cassette key is stable.
    return json.dumps(context_pack, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _int(x: Any) -> int:
    return int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0


class GeminiWire:
    name = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
    default_key_env = "GEMINI_API_KEY"

    def path(self, model: str) -> str:
        return f"/models/{model}:generateContent"

    def headers(self, api_key: str) -> dict[str, str]:
        # In a header, not the ``?key=`` query: URLs end up in logs, headers we never write down.
        return {"x-goog-api-key": api_key, "content-type": "application/json"}

    def body(self, model: str, system_prompt: str, context_pack: dict[str, Any]) -> dict[str, Any]:
        return {
            "systemInstruction": {"parts": [{"text": system_prompt}]},
            "contents": [{"role": "user", "parts": [{"text": user_turn(context_pack)}]}],
            "generationConfig": {"responseMimeType": "application/json", "temperature": 0},
        }

    def parse(self, data: Any) -> Answer:
        if not isinstance(data, dict):
            raise MalformedResponse("generateContent: the body is not a JSON object")
        meta = data.get("usageMetadata") or {}
        usage = Usage(_int(meta.get("promptTokenCount")), _int(meta.get("candidatesTokenCount")))
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        candidates = data.get("candidates")
        if blocked and not candidates:
            return Answer(f"(refused: prompt blocked, {blocked})", usage, "refusal")
        if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
            raise MalformedResponse("generateContent: no candidates in the answer")
        first = candidates[0]
        finish = str(first.get("finishReason") or "STOP").lower()
        parts = (first.get("content") or {}).get("parts") or []
        text = "".join(p.get("text", "") for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))
        if not text and finish in ("safety", "recitation", "prohibited_content", "blocklist", "spii"):
            return Answer(f"(refused: {finish})", usage, "refusal")
        return Answer(text, usage, {"max_tokens": "length"}.get(finish, finish))


class OpenAIWire:
    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    default_key_env = "OPENAI_API_KEY"

    def path(self, model: str) -> str:
        return "/chat/completions"

    def headers(self, api_key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}", "content-type": "application/json"}

    def body(self, model: str, system_prompt: str, context_pack: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": model,
            "messages": [{"role": "system", "content": system_prompt},
                         {"role": "user", "content": user_turn(context_pack)}],
            "response_format": {"type": "json_object"},
            "temperature": 0,
        }

    def parse(self, data: Any) -> Answer:
        if not isinstance(data, dict):
            raise MalformedResponse("chat/completions: the body is not a JSON object")
        u = data.get("usage") or {}
        usage = Usage(_int(u.get("prompt_tokens")), _int(u.get("completion_tokens")))
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise MalformedResponse("chat/completions: no choices in the answer")
        message = choices[0].get("message") or {}
        if not isinstance(message, dict):
            raise MalformedResponse("chat/completions: choices[0].message is not an object")
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal:
            # The model declined: its words are not an action, so the concierge rejects them.
            return Answer(refusal, usage, "refusal")
        content = message.get("content")
        if not isinstance(content, str):
            raise MalformedResponse("chat/completions: choices[0].message.content is not text")
        return Answer(content, usage, str(choices[0].get("finish_reason") or "stop"))


def wire_for(provider: str) -> GeminiWire | OpenAIWire:
    if provider == "gemini":
        return GeminiWire()
    if provider == "openai":
        return OpenAIWire()
    raise ValueError(f"unknown brain provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
