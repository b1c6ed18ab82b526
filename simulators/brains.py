"""Brains of the simulated world: rules, scripted outputs (``brain_next:``) and injected faults."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from concierge.coded import CodedWorkflow
from concierge.errors import BrainUnavailable


class RuleBrain:
    """The simulated Moltbot at its best: the coded workflow's rules, answered as JSON text."""

    def __init__(self) -> None:
        self._rules = CodedWorkflow()

    def propose(self, context_pack: dict[str, Any]) -> str:
        return json.dumps(self._rules.propose(context_pack), sort_keys=True)


class ScriptedBrain:
    """Answers with queued outputs first (exactly as given), then with the inner brain.

    Faults (``fault: {target: brain}``) make the next calls fail: ``timeout``/``exception`` raise,
    ``non_json`` returns text, ``wrong_shape`` returns JSON of the wrong shape.
    """

    def __init__(self, inner: Any):
        self.inner = inner
        self.queue: deque[Any] = deque()
        self.faults: deque[str] = deque()
        self.calls = 0
        self.packs: list[dict[str, Any]] = []

    def push(self, output: Any) -> None:
        self.queue.append(output)

    def fail_next(self, kind: str, times: int = 1) -> None:
        self.faults.extend([kind] * times)

    def propose(self, context_pack: dict[str, Any]) -> Any:
        self.calls += 1
        self.packs.append(context_pack)
        if self.faults:
            kind = self.faults.popleft()
            if kind in ("timeout", "error", "status"):
                raise BrainUnavailable(f"brain {kind}")
            if kind == "exception":
                raise RuntimeError("brain crashed")
            if kind == "non_json":
                return "Sure! Here is what I think you should do: ask the vendors."
            if kind == "wrong_shape":
                return json.dumps({"action": "shortlist", "vendors": []})
        if self.queue:
            return self.queue.popleft()
        return self.inner.propose(context_pack)
