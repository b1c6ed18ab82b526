"""HTTP brains on both wire formats: happy path, 429 then success, 5xx until the fault path,
truncated JSON, a refusal; and one exchange with a real server on loopback."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from concierge.brainloop import proposed_type
from concierge.contracts import validate_brain_output
from concierge.errors import BrainUnavailable, ContractViolation
from simulators.brain_wire import GeminiWire, OpenAIWire
from simulators.http_brain import HttpBrain
from simulators.standin_llm import serve

PACK = {"contract": "context_pack.v1", "request_id": "req-00001", "state": "collecting_requirements",
        "event": "client_message", "messages": [{"from": "client", "text": "I need paracetamol"}]}
ACTION = {"type": "ask_client", "question_text": "Where are you?", "why": "no place"}
OPENAI_URL = "https://llm.test/v1/chat/completions"
GEMINI_URL = "https://llm.test/v1beta/models/gemini-test:generateContent"


def openai_body(content, *, refusal=None, finish="stop", usage=(120, 30)):
    return {"choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content, "refusal": refusal}}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]}}


def gemini_body(text, *, finish="STOP", usage=(140, 20)):
    parts = [{"text": text}] if text is not None else []
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish}],
            "usageMetadata": {"promptTokenCount": usage[0], "candidatesTokenCount": usage[1]}}


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def brain(provider, sleeps, **kw):
    if provider == "openai":
        return HttpBrain(OpenAIWire(), model="gpt-test", system_prompt="SYSTEM", api_key="sk-test-key-123456",
                         base_url="https://llm.test/v1", sleep=sleeps, **kw)
    return HttpBrain(GeminiWire(), model="gemini-test", system_prompt="SYSTEM", api_key="g-test-key",
                     base_url="https://llm.test/v1beta", sleep=sleeps, **kw)


CASES = {
    "openai": (OPENAI_URL, lambda text, **kw: openai_body(text, **kw)),
    "gemini": (GEMINI_URL, lambda text, **kw: gemini_body(text, **kw)),
}


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@respx.mock
def test_happy_path_sends_the_documented_request_and_records_usage(provider):
    url, answer = CASES[provider]
    route = respx.post(url).mock(return_value=httpx.Response(200, json=answer(json.dumps(ACTION))))
    b = brain(provider, Sleeps())
    out = b.propose(PACK)
    assert validate_brain_output(out) == ACTION
    sent = json.loads(route.calls[0].request.content)
    headers = route.calls[0].request.headers
    if provider == "openai":
        assert headers["authorization"] == "Bearer sk-test-key-123456"
        assert sent["model"] == "gpt-test" and sent["response_format"] == {"type": "json_object"}
        assert sent["messages"][0] == {"role": "system", "content": "SYSTEM"}
        assert json.loads(sent["messages"][1]["content"]) == PACK
        assert b.usage[0] == {"request_id": "req-00001", "source": "live", "input_tokens": 120, "output_tokens": 30}
    else:
        assert headers["x-goog-api-key"] == "g-test-key" and "key=" not in str(route.calls[0].request.url)
        assert sent["systemInstruction"] == {"parts": [{"text": "SYSTEM"}]}
        assert sent["generationConfig"]["responseMimeType"] == "application/json"
        assert json.loads(sent["contents"][0]["parts"][0]["text"]) == PACK
        assert b.usage[0]["input_tokens"] == 140 and b.usage[0]["output_tokens"] == 20


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@respx.mock
def test_429_then_success_waits_as_told(provider):
    url, answer = CASES[provider]
    respx.post(url).mock(side_effect=[httpx.Response(429, headers={"retry-after": "2"}),
                                      httpx.Response(429), httpx.Response(200, json=answer(json.dumps(ACTION)))])
    sleeps = Sleeps()
    assert validate_brain_output(brain(provider, sleeps, backoff_s=0.25).propose(PACK))["type"] == "ask_client"
    assert sleeps == [2.0, 0.5]  # Retry-After honoured, then exponential backoff (0.25 * 2**1)


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@respx.mock
def test_5xx_until_the_retries_run_out_is_the_fault_path(provider):
    url, _ = CASES[provider]
    route = respx.post(url).mock(return_value=httpx.Response(503))
    sleeps = Sleeps()
    with pytest.raises(BrainUnavailable, match="HTTP 503 after 4 attempt"):
        brain(provider, sleeps, retries=3, backoff_s=1.0).propose(PACK)
    assert route.call_count == 4 and sleeps == [1.0, 2.0, 4.0]


@respx.mock
def test_auth_error_is_not_retried_and_timeouts_are():
    respx.post(OPENAI_URL).mock(return_value=httpx.Response(401))
    sleeps = Sleeps()
    with pytest.raises(BrainUnavailable, match="401"):
        brain("openai", sleeps).propose(PACK)
    assert sleeps == []
    respx.post(GEMINI_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(BrainUnavailable, match="timeout after 2 attempt"):
        brain("gemini", sleeps, retries=1).propose(PACK)


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@respx.mock
def test_truncated_json_reaches_the_contract_and_is_rejected(provider):
    url, answer = CASES[provider]
    cut = json.dumps(ACTION)[:25]
    respx.post(url).mock(return_value=httpx.Response(200, json=answer(cut, finish="length" if provider == "openai" else "MAX_TOKENS")))
    out = brain(provider, Sleeps()).propose(PACK)
    assert out == cut
    with pytest.raises(ContractViolation, match="not JSON"):
        validate_brain_output(out)


@respx.mock
def test_a_truncated_http_body_is_the_fault_path():
    respx.post(OPENAI_URL).mock(return_value=httpx.Response(200, content=b'{"choices": [{"mess'))
    with pytest.raises(BrainUnavailable, match="not JSON"):
        brain("openai", Sleeps()).propose(PACK)


@respx.mock
def test_refusals_are_rejected_by_the_contract_not_obeyed():
    respx.post(OPENAI_URL).mock(return_value=httpx.Response(200, json=openai_body(None, refusal="I can't help with that.")))
    respx.post(GEMINI_URL).mock(return_value=httpx.Response(200, json=gemini_body(None, finish="SAFETY")))
    for provider in ("openai", "gemini"):
        out = brain(provider, Sleeps()).propose(PACK)
        assert proposed_type(out) is None
        with pytest.raises(ContractViolation):
            validate_brain_output(out)


def test_against_a_real_openai_compatible_server_on_loopback():
    with serve() as (base, llm):
        b = HttpBrain(OpenAIWire(), model="standin", system_prompt="SYSTEM", api_key="sk-loopback-1234567",
                      base_url=base + "/v1", timeout_s=5)
        try:
            pack = {**PACK, "requirements": {"complete": False, "missing": ["place"], "item": "paracetamol"},
                    "language": "en", "clarifications_asked": 0, "outreach": {"replies": []},
                    "policies": {"caps": {"clarifications_max": 2}}}
            action = validate_brain_output(b.propose(pack))
        finally:
            b.close()
        assert action["type"] in ("ask_client", "escalate", "vendor_outreach_plan")
        assert llm.requests[0]["path"] == "/v1/chat/completions"
        assert llm.requests[0]["headers"]["authorization"] == "Bearer sk-loopback-1234567"
        assert b.usage[0]["input_tokens"] > 0
