"""Faults armed over HTTP (``POST /sim/faults``), in the scenario files' shape.

``whatsapp_send`` and ``media_download`` faults go to ``FakeWhatsAppCloud.inject_fault`` unchanged
(its checks are the ones that apply); the served emulator adds how long a timed-out request hangs
(``hang_s``). ``webhook`` faults (``delay``, ``duplicate``) change delivery; ``message_status``
(``failed``) makes the next sends fail to reach the phone. ``process`` faults (``crash_before_send``,
``crash_after_send``) kill the business's process inside its next sends; only an emulator given a
way to kill it (a harness that started the target: ``simulators.blackbox``) accepts them.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from ..whatsapp import FAULT_TARGETS, FakeWhatsAppCloud
from .delivery import APPLIES_TO, WEBHOOK_FAULT_KINDS, Deliveries, WebhookFault
from .people import People

TARGETS = (*FAULT_TARGETS, "webhook", "message_status", "process")
CRASH_KINDS = ("crash_before_send", "crash_after_send")
_KEYS = {
    "whatsapp_send": {"target", "status", "kind", "times", "retry_after", "delivered", "hang_s"},
    "media_download": {"target", "status", "kind", "times", "hang_s"},
    "webhook": {"target", "kind", "times", "seconds", "applies_to"},
    "message_status": {"target", "kind", "times"},
    "process": {"target", "kind", "times"},
}


class FaultInvalid(ValueError):
    pass


class Faults:
    def __init__(self, fake: FakeWhatsAppCloud, deliveries: Deliveries, people: People, hang_s: float,
                 *, can_crash: bool = False):
        self.fake, self.deliveries, self.people = fake, deliveries, people
        self.hang_s = hang_s
        self.can_crash = can_crash
        self.crashes: deque[str] = deque()  # process faults, one per send of a text or buttons
        self.armed: list[dict[str, Any]] = []  # as given, for GET /sim/faults

    def arm(self, spec: Any) -> None:
        if not isinstance(spec, dict):
            raise FaultInvalid("a fault is a JSON object like {\"target\": \"whatsapp_send\", \"status\": 429}")
        target = spec.get("target")
        if target not in TARGETS:
            raise FaultInvalid(f"target: expected one of {', '.join(TARGETS)}, got {target!r}")
        unknown = sorted(set(spec) - _KEYS[target])
        if unknown:
            raise FaultInvalid(f"{target} fault: unknown key {unknown[0]!r} (expected some of {sorted(_KEYS[target])})")
        times = _number(spec, "times", 1, integer=True)
        if times < 1:
            raise FaultInvalid("times: must be >= 1")
        if "hang_s" in spec:
            self.hang_s = _number(spec, "hang_s", self.hang_s)
        if target in FAULT_TARGETS:
            try:
                self.fake.inject_fault(
                    target, status=spec.get("status"), kind=spec.get("kind"), times=times,
                    retry_after=spec.get("retry_after"), delivered_on_timeout=bool(spec.get("delivered", True)),
                )
            except (ValueError, TypeError) as exc:
                raise FaultInvalid(f"{target} fault: {exc}") from None
        elif target == "process":
            if not self.can_crash:
                raise FaultInvalid("process fault: this emulator cannot kill the business's process "
                                   "(only a harness that started it can)")
            if spec.get("kind") not in CRASH_KINDS:
                raise FaultInvalid(f"process fault: kind must be one of {', '.join(CRASH_KINDS)}, got {spec.get('kind')!r}")
            self.crashes.extend([spec["kind"]] * times)
        elif target == "webhook":
            kind = spec.get("kind")
            if kind not in WEBHOOK_FAULT_KINDS:
                raise FaultInvalid(f"webhook fault: kind must be one of {', '.join(WEBHOOK_FAULT_KINDS)}, got {kind!r}")
            applies_to = spec.get("applies_to", "messages")
            if applies_to not in APPLIES_TO:
                raise FaultInvalid(f"webhook fault: applies_to must be one of {', '.join(APPLIES_TO)}")
            seconds = _number(spec, "seconds", 1.0 if kind == "delay" else 0.0)
            self.deliveries.inject(WebhookFault(kind, times, seconds, applies_to))
        else:
            if spec.get("kind", "failed") != "failed":
                raise FaultInvalid("message_status fault: the only kind is 'failed'")
            self.people.failing += times
        self.armed.append(dict(spec))

    def clear(self) -> None:
        self.fake.clear_faults()
        self.deliveries.faults.clear()
        self.people.failing = 0
        self.crashes.clear()
        self.armed.clear()

    def crash_for(self, method: str, path: str, body: bytes) -> str | None:
        """The process fault this Graph API request sets off, if any: the sends of a text or of
        reply buttons (the in-process world's ``CrashingTransport`` crashes in the same ones)."""
        if not self.crashes or method != "POST" or not path.endswith("/messages"):
            return None
        try:
            kind = json.loads(body).get("type")
        except (ValueError, AttributeError):
            return None
        return self.crashes.popleft() if kind in ("text", "interactive") else None


def _number(spec: dict[str, Any], key: str, default: float, *, integer: bool = False) -> Any:
    value = spec.get(key, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        raise FaultInvalid(f"{key}: expected a {'whole ' if integer else ''}number >= 0, got {value!r}")
    return value
