"""The world ``ScenarioPlay`` drives in a black-box run: the same calls as ``SimWorld``'s, made over
HTTP to the hosted emulator (people's messages, redeliveries, WhatsApp faults) and to the target's
probe (its clock, its brain); and what the checks read: the messages Meta accepted (the emulator's
log) and, with the probe, the target's ledger.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import httpx

from concierge.ledger import Ledger

from ..vendors import StaticDirectory
from ..whatsapp import SentMessage
from ..world import Delivered, WorldConfig

SETTLE_TIMEOUT_S = 60.0


@dataclass
class HarnessClock:
    """The scenario's time as the harness holds it: virtual with a probe clock, else the wall's."""

    start: float
    virtual: bool
    _now: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._now = self.start

    def now(self) -> float:
        return self._now if self.virtual else time.time()

    def set(self, t: float) -> None:
        self._now = t

    def offset(self, t: float) -> str:
        seconds = max(0, int(round(t - self.start)))
        return f"+{seconds // 60:02d}:{seconds % 60:02d}"


class WireWhatsApp:
    """``world.whatsapp`` as the play and the checks use it."""

    def __init__(self, world: WireWorld):
        self.world = world
        self.sent: list[SentMessage] = []
        self._media: dict[str, tuple[bytes, str]] = {}

    def put_media(self, data: bytes, mime: str) -> str:
        token = f"upload-{len(self._media) + 1}"  # uploaded with the message it belongs to
        self._media[token] = (data, mime)
        return token

    def inject_fault(self, target: str, *, status: int | None = None, kind: str | None = None, times: int = 1,
                     retry_after: Any = None) -> None:
        spec = {"target": target, "times": times, **({"status": status} if status is not None else {}),
                **({"kind": kind} if kind is not None else {}),
                **({"retry_after": retry_after} if retry_after is not None else {})}
        try:
            self.world.session.emulator.call("POST", "/sim/faults", json=spec)
        except RuntimeError as exc:
            raise ValueError(str(exc)) from None

    def refresh(self) -> None:
        """The messages sent since the last refresh, added (the emulator's log only grows)."""
        self.sent += [m if m.text is not None else replace(m, text="")
                      for m in self.world.session.emulator.sent(since=len(self.sent))]


class WireBrain:
    """``world.brain``: scripted over the probe (capability ``brain``)."""

    def __init__(self, world: WireWorld):
        self.world = world
        self.packs: list[dict[str, Any]] = []  # the target's context packs are not observable

    def push(self, output: Any) -> None:
        self.world.session.probe.brain(next=output)

    def fail_next(self, kind: str, times: int = 1) -> None:
        self.world.session.probe.brain(fault=kind, times=times)


class WireWorld:
    def __init__(self, session: Any, config: WorldConfig, clock: HarnessClock):
        self.session = session
        self.config = config
        self.clock = clock
        self.directory = StaticDirectory(config.vendors)
        self.whatsapp = WireWhatsApp(self)
        self.brain = WireBrain(self)
        self.calls = None
        self.delivered: list[Delivered] = []
        self.inbound: list[dict[str, Any]] = []  # people's messages, each with how many sends preceded it
        self.restarts = 0
        self._crashes_seen = session.crashes
        self.ledger: Ledger | None = None
        self.concierge = SimpleNamespace(ledger=None)
        # The target's activity as the last settle left it (None: something happened since), and
        # the ledger digests the last ``settle`` read answered; ``_ledger_fresh``: the copy was
        # refilled by the last settle, so observing again needs no request.
        self._activity: dict[str, Any] | None = None
        self._digests: dict[str, str] = {}
        self._ledger_fresh = False

    # --- what the play does ---------------------------------------------------------------------
    def message_from(self, phone: str, *, kind: str = "text", text: str | None = None, button_id: str | None = None,
                     button_title: str | None = None, reply_type: str = "button_reply", media_id: str | None = None,
                     mime_type: str | None = None, caption: str | None = None, filename: str | None = None,
                     context_wamid: str | None = None) -> Delivered:
        emulator = self.session.emulator
        self._acting()
        self.inbound.append({"from": phone, "text": text or button_title or "", "sent_before": emulator.traffic()[1]})
        spec: dict[str, Any] = {"from": phone}
        if context_wamid:
            spec["reply_to"] = context_wamid
        if kind == "text":
            spec["text"] = text
        elif kind == "interactive":
            spec["list" if reply_type == "list_reply" else "button"] = {"id": button_id, "title": button_title}
        if kind in ("image", "document"):
            data, mime = self.whatsapp._media[str(media_id)]
            fields = {k: v for k, v in (("from", phone), ("caption", caption), ("filename", filename)) if v}
            name = filename or ("photo.png" if mime == "image/png" else "file")
            answer = emulator.call("POST", "/sim/messages?wait=30", data=fields, files={"file": (name, data, mime)})
        else:
            answer = emulator.call("POST", "/sim/messages?wait=30", json=spec)
        # Accepted: the target answered 2xx (inbound_recorded_once then reads the ledger for it).
        accepted = SimpleNamespace(accepted=answer["delivery"]["state"] == "delivered")
        item = Delivered(b"", {}, answer["wamid"], accepted, self.clock.now())
        self.delivered.append(item)
        self.settle()
        return item

    def redeliver(self, item: Delivered) -> Delivered:
        self._acting()
        self.session.emulator.call("POST", "/sim/redeliver", json={"wamid": item.wamid})
        self.settle()
        return item

    def advance(self, seconds: float) -> None:
        """Every timer due by the new time fires at its own instant, the world settling after each,
        as the in-process clock fires them; then the clock stands at the new time."""
        target = self.clock.now() + seconds
        while True:
            due = (self._activity or self.session.probe.activity())["next_due"]
            if due is None or due > target:
                break
            self._set_time(max(due, self.clock.now()))
        self._set_time(target)

    def _set_time(self, t: float) -> None:
        self._acting()
        self.clock.set(t)
        if self.session.has("settle"):
            self.settle(now=t)  # moved and waited for in one request
            return
        self.session.probe.set_clock(t)
        self.settle()

    def recover(self, max_attempts: int = 50) -> int:
        """A ``process`` fault: the target dies (SIGKILL) and its command starts again on the same
        files; what it had not answered, the emulator delivers again."""
        self._acting()
        self.session.restart_target(self.clock.now())
        self.restarts += 1
        self.settle()
        return 1

    def crash_in_next_sends(self, when: str, times: int = 1) -> None:
        """A ``process`` fault on the wire: the emulator kills the target inside its next ``times``
        sends of a text or buttons, ``before`` recording the message or ``after``; the session
        restarts it, and what it had not answered or not handled comes again (Meta's redelivery,
        the target's own inbox)."""
        self.session.emulator.call("POST", "/sim/faults",
                                   json={"target": "process", "kind": f"crash_{when}_send", "times": times})

    # --- waiting for the target -------------------------------------------------------------------
    def settle(self, now: float | None = None) -> None:
        """Until the emulator has nothing on its way and the target nothing in hand. With the probe:
        the emulator idle, then the target settled, then the emulator still idle with nothing sent
        since (each a wait, not a poll); ``now``: the target's clock is first moved there. Without:
        nothing sent for ``--target-quiet``."""
        emulator, probe = self.session.emulator, self.session.probe
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        quiet_since, last_count = time.monotonic(), -1
        while time.monotonic() < deadline:
            if probe is not None:
                try:
                    self._after_a_crash()
                    pending, count = emulator.traffic(idle_wait=SETTLE_TIMEOUT_S)
                    if pending:
                        continue
                    state = self._target_settled(now)
                    now = None  # set: a crash restarts the target at the harness's time anyway
                    if state["settled"] and self._after_a_crash() and emulator.traffic() == (0, count):
                        self._activity = state
                        return
                except httpx.TransportError:  # the target was killed under the request: it restarts
                    if self.session.restarted.is_set() and self.session.crashes == self._crashes_seen:
                        raise  # no process fault went off: the target died of its own
                continue
            pending, count = emulator.traffic()
            if count != last_count or pending:
                last_count, quiet_since = count, time.monotonic()
            elif time.monotonic() - quiet_since >= self.session.spec.quiet_s:
                return
            time.sleep(0.02)
        raise RuntimeError(f"the target did not settle within {SETTLE_TIMEOUT_S:g} s")

    def _target_settled(self, now: float | None) -> dict[str, Any]:
        """The target's activity once settled (or after the settle timeout). With ``settle``
        (revision 1.2) one request, which also brings the ledger tables changed since the last look;
        else the revision-1.0 calls."""
        session = self.session
        if not session.has("settle"):
            if now is not None:
                session.probe.set_clock(now)
            return session.probe.activity(wait=SETTLE_TIMEOUT_S)
        ledger = self._digests if session.has("ledger") else None
        state = session.probe.settle(wait=SETTLE_TIMEOUT_S, now=now, ledger=ledger)
        if ledger is not None:
            self._refill(state.pop("ledger"))
            self._ledger_fresh = True  # as of a settled target: the emulator check decides if it holds
        return state

    def _refill(self, changed: dict[str, Any]) -> None:
        if changed["tables"] or self.ledger is None:
            self.ledger = ledger_copy(changed["tables"], into=self.ledger, only_these=True)
            self.concierge.ledger = self.ledger
        self._digests = changed["digests"]

    def _acting(self) -> None:
        """Something is done to the target: what the last settle saw no longer holds."""
        self._activity = None
        self._ledger_fresh = False

    def _after_a_crash(self) -> bool:
        """True at once when no process fault went off; else waits for the restart, counts it and
        returns False (the world must settle again)."""
        if self.session.restarted.is_set() and self.session.crashes == self._crashes_seen:
            return True
        if not self.session.restarted.wait(SETTLE_TIMEOUT_S):
            raise RuntimeError(f"the target killed by a process fault did not restart within {SETTLE_TIMEOUT_S:g} s")
        if self.session.restart_failed is not None:
            raise RuntimeError(f"the target killed by a process fault did not restart: {self.session.restart_failed}")
        self.restarts += self.session.crashes - self._crashes_seen
        self._crashes_seen = self.session.crashes
        return False

    # --- what the checks read -----------------------------------------------------------------------
    def observe(self) -> None:
        self.whatsapp.refresh()
        if not self.session.has("ledger"):
            return
        if self.session.has("settle"):
            if not self._ledger_fresh:  # a step that did not settle: read the changes, waiting for nothing
                self._refill(self.session.probe.settle(wait=0, ledger=self._digests)["ledger"])
            self._ledger_fresh = False
            return
        # One in-memory ledger per scenario, refilled at each step: making its schema anew
        # (~5 ms) after every step cost more than copying the rows.
        self.ledger = ledger_copy(self.session.probe.ledger_tables(), into=self.ledger)
        self.concierge.ledger = self.ledger

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()


def ledger_copy(tables: dict[str, list[dict[str, Any]]], into: Ledger | None = None,
                only_these: bool = False) -> Ledger:
    """The target's ledger rows in an in-memory ledger of the same schema, so that the very checks
    and invariants of an in-process run read it; ``into``: an earlier copy, emptied and refilled
    (nothing of what it held stays); ``only_these``: only the tables given are emptied and refilled,
    the others kept as they are."""
    ledger = Ledger(":memory:") if into is None else into
    ledger.refill(tables, only_these=into is not None and only_these)
    return ledger
