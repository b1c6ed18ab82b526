"""The scenario's ``brain:`` key: which HTTP brain answers, and from which cassette.

``brain: {provider: gemini|openai, model: NAME, cassette: PATH, mode: replay|record|auto}`` with
optional ``base_url``, ``api_key_env``, ``prompt`` (a system prompt file), ``timeout_s`` and
``retries``. Paths are relative to the scenario file. Without the key the scenario keeps the rule
brain, so no existing scenario changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..brain_spec import BrainSpec
from .checker import Checker, describe, is_number, suggest
from .vocabulary import BRAIN_KEYS, BRAIN_PROVIDERS, CASSETTE_MODES


def default_cassette(base: Path, scenario_id: str, provider: str) -> str:
    return str(base / "cassettes" / f"{scenario_id}.{provider}.jsonl")


def check_brain(c: Checker, value: Any, line: int, scenario_id: Any) -> BrainSpec | None:
    if value is None:
        return None
    if not c.mapping(value, line, "brain", "provider:, model:, cassette:, mode:"):
        return None
    c.unknown_keys(value, BRAIN_KEYS, "brain.")
    before = len(c.problems)
    provider = value.get("provider")
    if provider not in BRAIN_PROVIDERS:
        c.add(value.key_line("provider"), "brain.provider",
              f"expected one of {', '.join(BRAIN_PROVIDERS)}, got {describe(provider)}{suggest(provider, BRAIN_PROVIDERS)}")
    model = value.get("model")
    c.text(model, value.key_line("model"), "brain.model")
    mode = value.get("mode", "replay")
    if mode not in CASSETTE_MODES:
        c.add(value.key_line("mode"), "brain.mode",
              f"expected one of {', '.join(CASSETTE_MODES)}, got {describe(mode)}{suggest(mode, CASSETTE_MODES)}")
    for key in ("cassette", "base_url", "api_key_env", "prompt"):
        if key in value:
            c.text(value[key], value.key_line(key), f"brain.{key}")
    timeout = value.get("timeout_s", 30.0)
    if not is_number(timeout) or not 0 < timeout <= 600:
        c.add(value.key_line("timeout_s"), "brain.timeout_s", f"expected seconds in (0, 600], got {describe(timeout)}")
    retries = value.get("retries", 3)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
        c.add(value.key_line("retries"), "brain.retries", f"expected a whole number 0..10, got {describe(retries)}")
    if len(c.problems) > before:
        return None
    cassette = (str(c.base / value["cassette"]) if "cassette" in value
                else default_cassette(c.base, str(scenario_id), provider))
    prompt = str(c.base / value["prompt"]) if "prompt" in value else None
    if prompt is not None and not Path(prompt).is_file():
        c.add(value.key_line("prompt"), "brain.prompt", f"system prompt file {prompt} not found")
    # A missing cassette is not checked here: `--cassette-mode record` is how it comes to exist.
    # The run says so (brain_cli.apply before running, a cassette miss during it).
    return BrainSpec(provider=provider, model=model, cassette=cassette, mode=mode,
                     base_url=value.get("base_url"), api_key_env=value.get("api_key_env"), prompt=prompt,
                     timeout_s=float(timeout), retries=retries, line=line)
