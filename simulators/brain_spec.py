"""Which HTTP brain answers, and from which cassette: the spec a scenario's ``brain:`` key, the
``--brain`` options of ``run``, ``gate`` and ``simulate`` all make (``brain_setup.build`` turns it
into a brain). The scenario replay and the rollout simulator both use it, so it belongs to neither.
"""

from __future__ import annotations

from dataclasses import dataclass

BRAIN_PROVIDERS = ("gemini", "openai")
CASSETTE_MODES = ("replay", "record", "auto")
DEFAULT_MODELS = {"gemini": "gemini-2.0-flash", "openai": "gpt-4o-mini"}


@dataclass(frozen=True)
class BrainSpec:
    provider: str
    model: str
    cassette: str  # resolved path
    mode: str = "replay"
    base_url: str | None = None
    api_key_env: str | None = None
    prompt: str | None = None  # resolved path; None is the default prompt that ships
    timeout_s: float = 30.0
    retries: int = 3
    line: int = 0
    sample: int = 0  # which recorded sample a repeated run replays (``run --repeat``)
