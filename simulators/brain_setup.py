"""Putting an HTTP brain (behind its cassette) into a simulated world, and reading back what it did.

The harness's front-ends call three things: ``install`` when a world is built for a scenario with
``brain:``, ``step_problems`` after each step (a cassette miss fails the step that caused it), and
``usage`` / ``outputs`` for the reports and the gate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from .brain_wire import wire_for
from .cassette import Cassette, CassetteBrain
from .http_brain import HttpBrain

DEFAULT_PROMPT = Path(__file__).resolve().parent / "data" / "moltbot_system_prompt.md"


def build(spec: Any, *, env: Mapping[str, str] | None = None, sleep: Callable[[float], None] | None = None,
          transport: httpx.BaseTransport | None = None, record_hint: str = "") -> CassetteBrain:
    """The brain a ``BrainSpec`` describes. In replay mode no API key is needed (nothing is sent)."""
    env = os.environ if env is None else env
    wire = wire_for(spec.provider)
    key_env = spec.api_key_env or wire.default_key_env
    api_key = env.get(key_env, "")
    prompt = Path(spec.prompt or DEFAULT_PROMPT).read_text("utf-8")
    kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    live = HttpBrain(wire, model=spec.model, system_prompt=prompt, api_key=api_key, base_url=spec.base_url,
                     timeout_s=spec.timeout_s, retries=spec.retries, transport=transport, **kwargs)
    brain = CassetteBrain(live, Cassette(spec.cassette), provider=spec.provider, model=spec.model,
                          mode=spec.mode, sample=spec.sample, record_hint=record_hint)
    if spec.mode != "replay" and not api_key:
        brain.live_problem = f"${key_env} is not set: {spec.mode} mode calls {spec.provider} and needs its API key"
    return brain


def install(world: Any, spec: Any, scenario_file: str = "") -> CassetteBrain:
    hint = f"concierge-sim run {scenario_file} --cassette-mode record" if scenario_file else ""
    brain = build(spec, record_hint=hint)
    world.brain.inner = brain  # scripted outputs and injected faults (brain_next, fault) still come first
    return brain


def provider_brain(world: Any) -> CassetteBrain | None:
    inner = getattr(getattr(world, "brain", None), "inner", None)
    return inner if isinstance(inner, CassetteBrain) else None


def step_problems(world: Any) -> list[str]:
    """Cassette misses (and problems reading the cassette) since the last call, oldest first."""
    brain = provider_brain(world)
    if brain is None:
        return []
    problems = brain.cassette.problems + brain.misses
    brain.cassette.problems, brain.misses = [], []
    return problems


def usage(world: Any, prices: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """Tokens the brain used, per request and in total, and their cost from the price table."""
    brain = provider_brain(world)
    if brain is None:
        return None
    if prices is None:
        from .rollout.metrics import load_prices

        prices = load_prices()
    per_million = prices["brain"]
    by_request: dict[str, dict[str, float]] = {}
    for row in brain.usage:
        r = by_request.setdefault(str(row["request_id"]), {"calls": 0, "input_tokens": 0, "output_tokens": 0})
        r["calls"] += 1
        r["input_tokens"] += row["input_tokens"]
        r["output_tokens"] += row["output_tokens"]
    for r in by_request.values():
        r["cost_usd"] = round(token_cost(r["input_tokens"], r["output_tokens"], per_million), 8)
    total_in = sum(r["input_tokens"] for r in by_request.values())
    total_out = sum(r["output_tokens"] for r in by_request.values())
    return {"provider": brain.provider, "model": brain.model, "mode": brain.mode,
            "calls": len(brain.usage), "input_tokens": total_in, "output_tokens": total_out,
            "cost_usd": round(token_cost(total_in, total_out, per_million), 8), "by_request": by_request}


def token_cost(input_tokens: float, output_tokens: float, brain_prices: Mapping[str, Any]) -> float:
    return (input_tokens * brain_prices["input_usd_per_million_tokens"]
            + output_tokens * brain_prices["output_usd_per_million_tokens"]) / 1e6


def outputs(ledger: Any) -> list[dict[str, Any]]:
    """Every proposal the brain made, accepted or rejected and why: the gate's evidence."""
    out = []
    for event in ledger.audit_events("brain.output_accepted"):
        out.append({"action_type": event["data"].get("action"), "accepted": True, "reason": None})
    for event in ledger.audit_events("brain.output_rejected"):
        data = event["data"]
        out.append({"action_type": data.get("action_type"), "accepted": False, "reason": data.get("reason")})
    return out
