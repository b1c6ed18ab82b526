"""Brains of the simulated world: rules, scripted outputs (``brain_next:``) and injected faults."""

from __future__ import annotations

import json
import sqlite3
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


# Per connection and outside the concierge's schema: the world's record, not the concierge's data.
_JOURNAL = "CREATE TEMP TABLE IF NOT EXISTS sim_brain_taken (seq INTEGER PRIMARY KEY, script TEXT NOT NULL)"


class ScriptedBrain:
    """Answers with scripted outputs first (exactly as given), then with the inner brain.

    Faults (``fault: {target: brain}``) make the next calls fail: ``timeout``/``exception`` raise,
    ``non_json`` returns text, ``wrong_shape`` returns JSON of the wrong shape.

    Replay-safe: a real model asked the same question again answers the same way, so a scripted
    output (or fault) taken by a handling the process died in goes back to the script, and Meta's
    retry of the webhook gets it again. Whether that handling survived is the ledger's to say: each
    take is journaled on the ledger's connection (``journal``), inside the transaction the concierge
    has open, so the rollback of the dead process's transaction un-takes it (``recover``). Taken
    before a checkpoint or a commit, it stays taken, as the handling's effects stay done. ``calls``
    and ``packs`` count what the service was asked, rolled back or not.
    """

    def __init__(self, inner: Any, journal: sqlite3.Connection | None = None):
        self.inner = inner
        self.scripts: dict[str, list[Any]] = {"output": [], "fault": []}
        self.taken: dict[str, int] = {"output": 0, "fault": 0}
        self.calls = 0
        self.packs: list[dict[str, Any]] = []
        self._journal = journal
        if journal is not None:
            journal.execute(_JOURNAL)

    def push(self, output: Any) -> None:
        self.scripts["output"].append(output)

    def fail_next(self, kind: str, times: int = 1) -> None:
        self.scripts["fault"].extend([kind] * times)

    def pending(self, script: str) -> list[Any]:
        """What is still to be answered from ``script`` ("output" or "fault")."""
        return self.scripts[script][self.taken[script]:]

    @property
    def queue(self) -> deque[Any]:
        """The outputs still to be answered, oldest first: a snapshot (``push`` adds to the script)."""
        return deque(self.pending("output"))

    @property
    def faults(self) -> deque[str]:
        return deque(self.pending("fault"))

    def propose(self, context_pack: dict[str, Any]) -> Any:
        self.calls += 1
        self.packs.append(context_pack)
        if self.pending("fault"):
            kind = self._take("fault")
            if kind in ("timeout", "error", "status"):
                raise BrainUnavailable(f"brain {kind}")
            if kind == "exception":
                raise RuntimeError("brain crashed")
            if kind == "non_json":
                return "Sure! Here is what I think you should do: ask the vendors."
            if kind == "wrong_shape":
                return json.dumps({"action": "shortlist", "vendors": []})
        if self.pending("output"):
            return self._take("output")
        return self.inner.propose(context_pack)

    def _take(self, script: str) -> Any:
        item = self.scripts[script][self.taken[script]]
        self.taken[script] += 1
        if self._journal is not None:
            self._journal.execute("INSERT INTO sim_brain_taken (script) VALUES (?)", (script,))
        return item

    def recover(self) -> None:
        """The process died and its open transaction was rolled back (``Ledger.abandon``): the
        script goes back to what the surviving journal says was taken."""
        if self._journal is None or not any(self.taken.values()):
            return
        counts = dict(self._journal.execute("SELECT script, COUNT(*) FROM sim_brain_taken GROUP BY script"))
        self.taken = {script: int(counts.get(script, 0)) for script in self.taken}
