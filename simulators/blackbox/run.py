"""A run of scenarios against one target over HTTP: ``concierge-sim run PATH --target URL``.

One hosted emulator for the run; the target is reset between scenarios through the probe, or, when
the harness started it without a probe, started afresh for each scenario (``{workdir}`` in the
command names a new folder each time). Each scenario is played by ``ScenarioPlay`` on a
``WireWorld``; after every step the world settles, is observed, and the invariants that can be
judged here are judged. The verdicts: pass, fail, error as in-process; ``partial`` when everything
observable passed but some checks were not observable; ``not_runnable`` with the reason.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..clock import DEFAULT_START
from ..invariants import Context
from ..replay.expectations import Observer, check_expectations
from ..replay.model import Scenario, Step
from ..replay.play_authoring import outcome_of
from ..replay.runner import Failure, ScenarioPlay, ScenarioResult, _first_of, world_config
from ..replay.seeding import seeded_client
from ..run_folder import BLACKBOX, RunFolder, sweep_stale
from .hosted_emulator import HostedEmulator
from .judging import check_invariants, expectation_sources, not_runnable, wire_outreach
from .probe_client import ProbeClient
from .target import TargetProcess, TargetSpec
from .wire_world import HarnessClock, WireWorld

ACCESS_TOKEN = "EAAG-blackbox-token"
PHONE_NUMBER_ID = "106540352242922"
# A `timeout` send or media fault hangs the target's request in the emulator; the target gives up
# after its own client timeout, wall time an in-process run never spends (our service's default is
# 10 s). The harness asks for one second under the name our service reads (docs/service.md), well
# above a loopback answer even on a loaded machine; one set in the harness's environment wins.
SEND_TIMEOUT_ENV = "WHATSAPP_SEND_TIMEOUT_S"
TARGET_SEND_TIMEOUT_S = "1"
# The run's files, the target's ``{workdir}`` among them, go to a RAM filesystem when the machine has
# one: a concierge that makes each commit durable (ours: SQLite with synchronous=FULL) pays an fsync
# per unit of work on a disk, about an eighth of a black-box run's wall time here, for a durability
# no scenario judges (a process fault is a SIGKILL; the kernel's page cache keeps every write through
# it). TMPDIR, when set, wins: whoever runs the harness chose the place.
RAM_DIRS = ("/dev/shm",)
FLAG_NAMES = ("FEATURE_AI_CONCIERGE", "FEATURE_AI_CONCIERGE_OCR", "FEATURE_AI_CONCIERGE_CALLING",
              "AI_CONCIERGE_ALLOWLIST_PHONES", "AI_CONCIERGE_PERCENT_ROLLOUT")


class Session:
    """The emulator, the target (and its process), the probe: set up once, always torn down."""

    def __init__(self, spec: TargetSpec, *, announce: Callable[[str], None] = lambda line: print(line, file=sys.stderr)):
        self.spec = spec
        self.announce = announce
        self.clock = HarnessClock(DEFAULT_START, virtual=False)
        root = scratch_root()
        sweep_stale(BLACKBOX, root)  # the folders of runs that were SIGKILLed: nothing else would ever remove them
        self.folder = RunFolder(BLACKBOX, root)
        self.workdir = self.folder.path
        self.emulator = HostedEmulator(app_secret=spec.app_secret, verify_token=spec.verify_token,
                                       access_token=ACCESS_TOKEN, phone_number_id=PHONE_NUMBER_ID,
                                       now=lambda: self.clock.now(), crash=self._crash_target)
        self.process: TargetProcess | None = None
        self.restarted = threading.Event()  # cleared while a target killed by a process fault restarts
        self.restarted.set()
        self.restart_failed: Exception | None = None
        self.crashes = 0
        self.probe: ProbeClient | None = None
        self.capabilities: frozenset[str] = frozenset()
        self._scenario_env: dict[str, str] = {}
        self._log_offset = 0

    # --- setting up ---------------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """What the target needs to talk to the emulator (the names docs/service.md reads)."""
        env = {"WHATSAPP_API_URL": self.emulator.url, "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
               "WHATSAPP_APP_SECRET": self.spec.app_secret, "WHATSAPP_VERIFY_TOKEN": self.spec.verify_token,
               "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
               SEND_TIMEOUT_ENV: os.environ.get(SEND_TIMEOUT_ENV) or TARGET_SEND_TIMEOUT_S}
        if self.spec.probe_secret:
            env["CONCIERGE_PROBE_SECRET"] = self.spec.probe_secret
        return env

    def open(self) -> Session:
        self.emulator.start()
        if self.spec.command:
            self.process = TargetProcess(self.spec, {**self.environment(), **self.spec.env},
                                         str(self.workdir / "target.log"))
            self._start_target(fresh=True)
        else:
            self.announce("concierge-sim: start the target with " + " ".join(
                f"{k}={v}" for k, v in self.environment().items()))
            self._wait_for_handshake()
        self.emulator.subscribe(self.spec.webhook_url)
        if self.spec.probe_secret:
            self.probe = ProbeClient(_origin(self.spec.webhook_url), self.spec.probe_secret)
            self.capabilities = self.probe.discover()
            if not self.capabilities:
                self.probe.close()
                self.probe = None
        self.clock.virtual = self.has("clock")
        return self

    def _wait_for_handshake(self) -> None:
        deadline = time.monotonic() + self.spec.ready_timeout_s
        while True:
            try:
                self.emulator.call("POST", "/sim/subscription", json={"webhook_url": self.spec.webhook_url,
                                                                      "handshake": True})
                return
            except RuntimeError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the target at {self.spec.webhook_url} never passed the webhook "
                                       f"handshake: {exc}") from None
                time.sleep(0.2)

    def _start_target(self, *, fresh: bool, now: float | None = None) -> None:
        """Start (or restart) the command; ``fresh`` gives it a new ``{workdir}``."""
        assert self.process is not None
        if fresh:
            self._target_dir = Path(tempfile.mkdtemp(dir=self.workdir, prefix="target-"))
        extra = {**self._scenario_env, "CONCIERGE_WORKDIR": str(self._target_dir)}
        if now is not None:
            extra["CONCIERGE_PROBE_NOW"] = repr(now)
        command = self.spec.command.replace("{workdir}", str(self._target_dir))  # type: ignore[union-attr]
        self.process.spec = TargetSpec(**{**asdict(self.spec), "command": command})
        if self.process.proc is not None:
            self.process.restart(extra)
        else:
            self.process.start(extra)

    def has(self, capability: str) -> bool:
        return self.probe is not None and capability in self.capabilities

    def close(self) -> None:
        try:
            if self.probe is not None:
                self.probe.close()
            if self.process is not None:
                self.process.stop()
        finally:
            self.emulator.stop()
            self.folder.remove()

    # --- per scenario ------------------------------------------------------------------------------
    def begin(self, scenario: Scenario, seed: int) -> WireWorld:
        """A fresh world for the scenario: the emulator emptied, the target reset (or restarted)."""
        config = world_config(scenario, seed)
        self.clock.set(DEFAULT_START)
        self._wait_no_webhooks()
        self.emulator.call("DELETE", "/sim/faults")
        self.emulator.reset(seed)
        if self.has("reset"):
            self.probe.reset({  # type: ignore[union-attr]
                "now": DEFAULT_START, "seed": seed, "flags": {k: str(v) for k, v in scenario.flags.items()},
                "caps": dict(scenario.caps), "vendors": [_vendor_json(v) for v in scenario.vendors],
                "clients": [{"phone": c.phone, "area": c.area, "language": c.language} for c in scenario.clients],
            })
        elif self.process is not None:  # no reset: a fresh process, the scenario's set-up in its environment
            vendors = self.workdir / f"vendors-{scenario.id}.yaml"
            vendors.write_text(yaml.safe_dump([_vendor_json(v) for v in scenario.vendors]), "utf-8")
            self._scenario_env = {k: str(scenario.flags[k]) for k in FLAG_NAMES if k in scenario.flags}
            self._scenario_env["CONCIERGE_VENDORS"] = str(vendors)
            self._start_target(fresh=True)
        if self.process is not None:
            self._log_offset = _size(self.process.log_path)
        return WireWorld(self, config, self.clock)

    def restart_target(self, now: float) -> None:
        self._start_target(fresh=False, now=now if self.clock.virtual else None)
        if self.has("clock"):
            self.probe.set_clock(now)  # type: ignore[union-attr]

    def _crash_target(self) -> None:
        """A ``process`` fault, called by the emulator inside the target's send: SIGKILL, then the
        command starts again on the same files at the harness's time, as a supervisor would restart
        it (on another thread: the emulator must keep serving). ``WireWorld.settle`` waits for it."""
        if self.process is None:
            raise RuntimeError("a process fault needs a target the harness started (--target-cmd)")
        self.restarted.clear()
        self.process.kill()
        threading.Thread(target=self._restart_after_crash, name="target-restart", daemon=True).start()

    def _restart_after_crash(self) -> None:
        try:
            self.restart_target(self.clock.now())
        except Exception as exc:  # the settle waiting for it reports it as the harness error it is
            self.restart_failed = exc
        finally:
            self.crashes += 1
            self.restarted.set()

    def target_log_lines(self) -> list[str] | None:
        if self.process is None:
            return None
        with open(self.process.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode("utf-8", "replace").splitlines()

    def _wait_no_webhooks(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.emulator.pending() and time.monotonic() < deadline:
            time.sleep(0.02)


class BlackBoxPlay(ScenarioPlay):
    """The in-process play on a ``WireWorld``; an ``expect`` step judges only what it can observe
    and notes the rest."""

    def __init__(self, scenario: Scenario, world: WireWorld, not_observable: list[dict[str, Any]]):
        super().__init__(scenario, world)  # type: ignore[arg-type]
        self.observer = Observer(world, self.clients, self.vendors)  # type: ignore[arg-type]
        self.not_observable = not_observable

    def _expect(self, step: Step) -> list[Failure]:
        expect = dict(step.args["expect"])
        client = expect.get("client") or self.last_client
        if client is None:
            return [Failure(step.index, step.line, "expect.client", "no client has spoken yet")]
        ledger = self.world.session.has("ledger")  # observed after the step before (nothing moved since)
        judged: dict[str, Any] = {}
        mismatches = []
        for key, value in expect.items():
            if key == "client":
                continue
            why = expectation_sources(key, value, ledger=ledger, clients=len(self.clients))
            if why is not None:
                self.not_observable.append({"step": step.index, "line": step.line, "key": f"expect.{key}",
                                            "reason": why})
            elif key == "outreach" and not ledger:
                mismatches += [(f"expect.{k}", m) for k, m in wire_outreach(self.world, value)]
            else:
                judged[key] = value
        mismatches += check_expectations(self.observer, client, judged)
        return [Failure(step.index, step.key_lines.get(k) or step.key_lines.get(".".join(k.split(".")[:2]))
                        or step.line, k, m) for k, m in mismatches]


    def _ocr_result(self, step: Step) -> None:
        self.world.session.probe.ocr(reading=step.args["ocr_result"])

    def _fault(self, step: Step) -> list[Failure]:
        spec = step.args["fault"]
        if spec["target"] != "ocr":
            return super()._fault(step)
        try:  # a kind the engine cannot have is the scenario's mistake, as in-process
            self.world.session.probe.ocr(fault=spec.get("kind") or "error", times=int(spec.get("times", 1)))
        except RuntimeError as exc:
            return [Failure(step.index, step.line, "fault.kind", str(exc))]
        return []

    def seed(self) -> list[Failure]:
        """`initial_state:` through the probe (capability ``seed``), as in-process: what could not be
        seeded fails the scenario at its line."""
        scenario = self.scenario
        if not scenario.initial_state:
            return []
        client = seeded_client(scenario)
        answer = self.world.session.probe.seed(initial_state=scenario.initial_state, vendors=self.vendors,
                                               client={"phone": self.clients[client.id], "language": client.language})
        self.last_client = client.id
        self.world.settle()
        line = scenario.initial_state_line
        refused = [Failure(0, line, "initial_state", m) for m in answer["problems"]]
        self.world.observe()  # a seed the invariants refuse fails at the initial_state: line, as in-process
        violations, _unseen = check_invariants(self.world, self.context, ledger=self.world.session.has("ledger"),
                                               logs=self.world.session.target_log_lines() is not None)
        return refused + [Failure(0, line, f"initial_state invariant {n}", m, invariant=n) for n, m in violations]


def run_scenario_blackbox(session: Session, scenario: Scenario, seed: int | None = None) -> ScenarioResult:
    started = time.perf_counter()
    if scenario.skip:
        return ScenarioResult(scenario, "skip", 0.0)
    why = not_runnable(scenario, session.capabilities, restartable=session.process is not None)
    if why:
        return ScenarioResult(scenario, "not_runnable", 0.0, not_runnable=why)
    not_observable: list[dict[str, Any]] = []
    world: WireWorld | None = None
    try:
        world = session.begin(scenario, scenario.seed if seed is None else seed)
        world.unmasked_phone_lines = lambda: _unmasked(session.target_log_lines() or [])  # type: ignore[attr-defined]
        play = BlackBoxPlay(scenario, world, not_observable)
        seeded = play.seed()
        failure = seeded[0] if seeded else _play_steps(session, play, world, not_observable)
        verdict = "fail" if failure else ("partial" if not_observable else "pass")
        if verdict == "partial" and session.spec.require_probe:
            verdict = "fail"
            first = not_observable[0]
            failure = Failure(first["step"], first["line"], first["key"],
                              f"not observable (--require-probe): {first['reason']}"
                              + "".join(f"\n    also {n['key']}: {n['reason']}" for n in not_observable[1:]))
        verdict = outcome_of(scenario, verdict if verdict != "partial" or not scenario.xfail else "pass")
        return ScenarioResult(scenario, verdict, time.perf_counter() - started, failure,
                              transcript=wire_transcript(world, scenario), timeline=_timeline(world),
                              observed=_observed(world), not_observable=not_observable)
    except Exception as exc:  # the harness, the emulator or the target broke: an error, reported
        return ScenarioResult(scenario, "error", time.perf_counter() - started, None,
                              error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(),
                              not_observable=not_observable)
    finally:
        if world is not None:
            world.close()


def _play_steps(session: Session, play: BlackBoxPlay, world: WireWorld,
                not_observable: list[dict[str, Any]]) -> Failure | None:
    ctx = Context(client_phones=tuple(play.clients.values()))
    logs = session.target_log_lines() is not None
    noted: set[str] = set()
    world.observe()
    for step in play.scenario.steps:
        failures = play.play(step)
        if failures:
            return _first_of(failures)
        if step.kind == "expect" and step is not play.scenario.steps[-1]:
            continue  # it changed nothing: the invariants were judged on this world at the step before
        world.observe()
        violations, unseen = check_invariants(world, ctx, ledger=session.has("ledger"), logs=logs)
        for name, reason in unseen.items():
            if name not in noted:  # once per scenario: the invariant was not judged at any step
                noted.add(name)
                not_observable.append({"step": step.index, "line": step.line, "key": f"invariant {name}",
                                       "reason": reason})
        if violations:
            return _first_of([Failure(step.index, step.line, f"invariant {n}", m, invariant=n) for n, m in violations])
    return None


def _unmasked(lines: list[str]) -> list[str]:
    from concierge.phones import mask_phones_in

    return [line for line in lines if mask_phones_in(line) != line]


def wire_transcript(world: WireWorld, scenario: Scenario) -> list[dict[str, Any]]:
    """Who said what, as the emulator saw it (the target's own transcript is not the harness's)."""
    from .judging import wire_timeline

    names = {c.phone: f"client {c.id}" for c in scenario.clients}
    names.update({v.phone: f"vendor {v.id}" for v in scenario.vendors})
    world.whatsapp.refresh()
    return [{"at": "", "from": names.get(phone, phone) if kind == "in" else "concierge",
             "to": "concierge" if kind == "in" else names.get(phone, phone), "text": text, "request_id": None}
            for kind, phone, text in wire_timeline(world)]


def _timeline(world: WireWorld) -> list[dict[str, Any]]:
    if world.ledger is None:
        return []
    return [{"at": world.clock.offset(c["at"]), "request_id": c["request_id"], "from": c["source"],
             "to": c["dest"], "reason": c["reason"]} for c in world.ledger.state_changes()]


def _observed(world: WireWorld) -> dict[str, Any]:
    observed: dict[str, Any] = {"messages_sent": len(world.whatsapp.sent), "restarts": world.restarts}
    if world.ledger is not None:
        from ..replay.runner import observe

        observed = {**observe(world), **observed}  # type: ignore[arg-type]
    return observed


def run_blackbox(scenarios: Iterable[Scenario], spec: TargetSpec, *, seed: int | None = None,
                 on_result: Callable[[ScenarioResult], None] | None = None,
                 announce: Callable[[str], None] | None = None) -> list[ScenarioResult]:
    session = Session(spec, **({"announce": announce} if announce else {}))
    results = []
    try:
        session.open()
        for scenario in scenarios:
            result = run_scenario_blackbox(session, scenario, seed)
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        session.close()
    return results


def scratch_root(env: Any = os.environ) -> str | None:
    """Where the run's folder is made: TMPDIR if set, else the first writable RAM filesystem, else
    the system's temporary folder (None)."""
    if env.get("TMPDIR"):
        return None
    return next((d for d in RAM_DIRS if os.path.isdir(d) and os.access(d, os.W_OK | os.X_OK)), None)


def new_secret() -> str:
    return secrets.token_hex(16)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _vendor_json(v: Any) -> dict[str, Any]:
    data = asdict(v)
    data.pop("line", None)
    data.pop("file", None)
    data["categories"] = list(data["categories"])
    data["tags"] = list(data["tags"])
    return data
