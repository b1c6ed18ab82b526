"""Brain cassettes: record a real brain's exchanges once, replay them deterministically.

A cassette is a JSON-lines file, one exchange a line (keys sorted): the request's ``key``, the
provider and model, the normalized context pack the brain was shown, a digest of the system
prompt, the answer and its token usage. Normalized means that what changes from run to run or
must never be written down is replaced by stable names in order of first appearance: phone
numbers become ``<phone:1>``, request ids ``<request:1>``, WhatsApp message ids ``<wamid:1>``,
absolute times ``<time>``; secrets are redacted. The answer is stored with the same names, and
turned back into this run's values on replay.

The key is a digest of the normalized wire request (model, system prompt, context pack,
generation settings): a changed prompt or context pack is a different key, so it shows up as a
miss, never as a silent pass with a stale answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from concierge.errors import BrainUnavailable
from concierge.safety import phone_spans, redact

from .brain_wire import Answer, Usage

MODES = ("replay", "record", "auto")
_REQUEST_ID = re.compile(r"\breq-\d+\b")
_WAMID = re.compile(r"\bwamid\.[A-Za-z0-9_=+/.-]+")
_PLACEHOLDER = re.compile(r"<(phone|request|wamid):(\d+)>")


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class StableNames:
    """One exchange's volatile values and their stable names, both ways."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, str], str] = {}
        self.values: dict[str, str] = {}

    def _name(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.names:
            n = sum(1 for k in self.names if k[0] == kind) + 1
            self.names[key] = f"<{kind}:{n}>"
            self.values[self.names[key]] = value
        return self.names[key]

    def text(self, s: str) -> str:
        out, last = [], 0
        for start, end, e164 in phone_spans(s):
            out.append(s[last:start])
            out.append(self._name("phone", e164))
            last = end
        s = "".join(out) + s[last:]
        s = _REQUEST_ID.sub(lambda m: self._name("request", m.group(0)), s)
        s = _WAMID.sub(lambda m: self._name("wamid", m.group(0)), s)
        return redact(s)  # secrets, and any number long enough to identify someone

    def normalize(self, obj: Any, key: str = "") -> Any:
        if isinstance(obj, dict):
            return {k: self.normalize(v, str(k)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.normalize(v, key) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, (int, float)) and not isinstance(obj, bool) and (key == "at" or key.endswith("_at")):
            return "<time>"
        return obj

    def restore(self, text: str) -> str:
        # A name this run has no value for stays as it is: the contract then rejects the output.
        return _PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)


class CassetteMiss(Exception):
    """No recorded answer for a request (the step fails with this message)."""


class Cassette:
    """The file's exchanges by key; ``append`` writes one line at once (nothing recorded is lost)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.problems: list[str] = []
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        for n, line in enumerate(self.path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                self.problems.append(f"{self.path}:{n}: not JSON ({exc.msg})")
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) \
                    or not isinstance(entry.get("answer"), str):
                self.problems.append(f"{self.path}:{n}: expected an object with `key` and `answer` texts")
                continue
            self.entries.setdefault(entry["key"], []).append(entry)

    def get(self, key: str, sample: int = 0) -> dict[str, Any] | None:
        found = self.entries.get(key)
        return found[sample % len(found)] if found else None

    def append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
        self.entries.setdefault(entry["key"], []).append(entry)


class CassetteBrain:
    """A brain that answers from a cassette (``replay``), asks the live brain and writes the
    exchange down (``record``), or replays what it has and records the rest (``auto``).

    ``live`` is an ``HttpBrain`` (or anything with ``body(pack)`` and ``answer(pack)``); in replay
    mode it is never called, so no socket is opened. A miss is kept in ``misses`` for the runner
    to fail the step with, and the concierge sees an unavailable brain meanwhile.
    """

    def __init__(self, live: Any, cassette: Cassette, *, provider: str, model: str, mode: str = "replay",
                 sample: int = 0, record_hint: str = ""):
        if mode not in MODES:
            raise ValueError(f"unknown cassette mode {mode!r}; expected one of {', '.join(MODES)}")
        self.live = live
        self.cassette = cassette
        self.provider, self.model, self.mode = provider, model, mode
        self.sample = sample
        self.record_hint = record_hint
        self.misses: list[str] = []
        self.live_problem: str | None = None  # why a live call cannot be made (no API key)
        self.usage: list[dict[str, Any]] = []
        self.served: dict[str, int] = {}

    def close(self) -> None:
        if hasattr(self.live, "close"):
            self.live.close()

    def request_of(self, context_pack: dict[str, Any]) -> tuple[str, dict[str, Any], StableNames]:
        names = StableNames()
        pack = names.normalize(context_pack)
        body = self.live.body(pack)
        prompt = getattr(self.live, "system_prompt", "")
        request = {"provider": self.provider, "model": self.model,
                   "system_prompt_sha256": hashlib.sha256(prompt.encode()).hexdigest(),
                   "settings": _settings(body), "context_pack": pack}
        key = hashlib.sha256(canonical(request).encode()).hexdigest()[:20]
        return key, request, names

    def propose(self, context_pack: dict[str, Any]) -> str:
        key, request, names = self.request_of(context_pack)
        if self.mode in ("replay", "auto"):
            n = self.served.get(key, 0)
            entry = self.cassette.get(key, self.sample + n)
            if entry is not None:
                self.served[key] = n + 1
                self._count(context_pack, Usage.from_dict(entry.get("usage")), "cassette")
                return names.restore(entry["answer"])
            if self.mode == "replay":
                missing = "" if self.cassette.path.exists() else " (the file does not exist)"
                message = (f"brain cassette miss: no recorded answer for request key {key} "
                           f"({self.provider}/{self.model}, event {context_pack.get('event')!r}, "
                           f"state {context_pack.get('state')!r}) in {self.cassette.path}{missing}; "
                           f"record it with {self.record_hint or '--cassette-mode record'}")
                self.misses.append(message)
                raise BrainUnavailable("cassette miss")
        if self.live_problem:
            self.misses.append(self.live_problem)
            raise BrainUnavailable("no API key")
        answer: Answer = self.live.answer(context_pack)  # BrainUnavailable passes through
        self.cassette.append({**request, "key": key, "answer": names.text(answer.text),
                              "finish": answer.finish, "usage": answer.usage.as_dict()})
        self._count(context_pack, answer.usage, "live")
        return answer.text

    def _count(self, context_pack: dict[str, Any], usage: Usage, source: str) -> None:
        self.usage.append({"request_id": context_pack.get("request_id"), "source": source, **usage.as_dict()})


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """The wire body's generation settings without the prompt and the pack (stored beside them)."""
    return {k: v for k, v in body.items() if k not in ("messages", "contents", "systemInstruction", "model")}
