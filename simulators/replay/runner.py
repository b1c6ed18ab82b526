"""Run a loaded scenario against a fresh SimWorld and produce its verdict.

The engine is separate from its front-ends (CLI, pytest plugin, gate): they all call
``run_scenario`` and render the ``ScenarioResult``. A failed expectation or a broken invariant fails
the scenario at that step; an exception from inside the harness or the concierge is an *error*
(exit code 3), reported with its traceback, and never stops the other scenarios.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concierge.flags import Flags
from concierge.policy import Caps

from ..invariants import Context, check_all
from ..ledger_files import ledger_path
from ..vendors import vendor_from_mapping
from ..world import Delivered, ProcessDied, SimWorld, WorldConfig
from .capture import message_details
from .expectations import Observer, check_expectations
from .model import Scenario, Step
from .play_authoring import AuthoringSteps, outcome_of, seed_world


@dataclass
class Failure:
    step: int
    line: int
    key: str
    message: str
    invariant: str | None = None
    also: list[Failure] = field(default_factory=list)  # the other keys of the same step that failed

    def headline(self, file: str) -> str:
        return f"{file}:{self.line} step {self.step} {self.key}: {self.message}"


@dataclass
class ScenarioResult:
    scenario: Scenario
    verdict: str  # pass | fail | error
    duration_s: float
    failure: Failure | None = None
    error: str | None = None
    traceback: str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)
    # Black-box runs (docs/black-box.md): the checks this target did not let the harness judge
    # ({step, line, key, reason}), and why a scenario could not run at all (verdict not_runnable).
    not_observable: list[dict[str, Any]] = field(default_factory=list)
    not_runnable: str | None = None

    @property
    def passed(self) -> bool:
        """Nothing to fix: passed, failed as expected (xfail), passed unexpectedly (xpass, reported
        so the marker can go), or skipped with a reason; black-box, passed in what could be observed
        (partial) or not runnable against this target: never counted as passed in the metrics."""
        return self.verdict in ("pass", "xfail", "xpass", "skip", "partial", "not_runnable")


def build_world(scenario: Scenario, seed: int | None = None, ledger: str | None = None) -> SimWorld:
    """The scenario's world; ``ledger`` is a folder for a file-backed ledger (``--ledger``)."""
    world = SimWorld(world_config(scenario, seed, ledger_path(ledger, scenario.id)))
    if scenario.brain is not None:
        from .. import brain_setup

        brain_setup.install(world, scenario.brain, str(scenario.file))
    return world


def world_config(scenario: Scenario, seed: int | None = None, db_path: str = ":memory:") -> WorldConfig:
    caps = Caps().with_overrides(dict(scenario.caps))
    flags = Flags.from_mapping(dict(scenario.flags))
    return WorldConfig(
        vendors=[vendor_from_mapping(dataclasses.asdict(v)) for v in scenario.vendors], flags=flags, caps=caps,
        clients={c.phone: (c.area, c.language) for c in scenario.clients},
        seed=scenario.seed if seed is None else seed, db_path=db_path,
    )


# A step whose restarts keep dying is a concierge that cannot come back: an error, not a loop.
MAX_RESTARTS_PER_STEP = 50


class ScenarioPlay(AuthoringSteps):
    """A scenario played in a world one step at a time: the engine of ``run_scenario``, and of the
    crash sweep, which wires crash points into the world first and skips the ``expect`` steps.

    ``play(step)`` does one step and returns the step's failures (an ``expect`` that does not hold,
    a step the world refuses); a process that dies inside the step is restarted on the same ledger
    and what got no answer is posted again. ``context`` is what the invariants need
    (``invariants.check_all(world, play.context)``).
    """

    def __init__(self, scenario: Scenario, world: SimWorld):
        self.scenario = scenario
        self.world = world
        self.clients = {c.id: c.phone for c in scenario.clients}
        self.vendors = {v.id: v.phone for v in scenario.vendors}
        self.last_client: str | None = scenario.clients[0].id if scenario.clients else None
        self.by_step_id: dict[str, Delivered] = {}
        self.last_delivered: Delivered | None = None
        self.observer = Observer(world, self.clients, self.vendors)
        self.context = Context(client_phones=tuple(self.clients.values()))
        # Each step kind of the format (``vocabulary.ACTIONS``) and the method that plays it. Bound
        # here, so a subclass's override (the black-box play's ``_expect``) is the one called.
        self.handlers: dict[str, Callable[[Step], list[Failure] | None]] = {
            "client": self._client, "vendor": self._vendor, "redeliver": self._redeliver,
            "advance": self._advance, "brain_next": self._brain_next, "call_status": self._call_status,
            "fault": self._fault, "expect": self._expect,
            "ocr_result": self._ocr_result, "call_event": self._call_event, "include": self._include,
        }

    def play(self, step: Step) -> list[Failure]:
        handler = self.handlers[step.kind]
        delivered_before = len(self.world.delivered)
        until = self.world.clock.now() + float(step.args["seconds"]) if step.kind == "advance" else None
        try:
            return handler(step) or []
        except ProcessDied:  # an armed `fault: {target: process}` went off inside this step
            pass
        # The restarts happen once the except block has dropped the crash's traceback: the dead
        # process's frames, and a statement they left in progress on the shared connection (a real
        # crash closes the connection), must not outlive it into the new process's transactions.
        self._restart()
        if step.kind in ("client", "vendor") and len(self.world.delivered) > delivered_before:
            self._remember(step, self.world.delivered[delivered_before])  # delivered by Meta's retry
        while until is not None and self.world.clock.now() < until:
            died = False
            try:
                self.world.advance(until - self.world.clock.now())
            except ProcessDied:
                died = True
            if died:
                self._restart()
        return []

    def advance(self, seconds: float) -> None:
        """Virtual time passes after the scenario's steps (the crash sweep's settle), exactly as
        an ``advance:`` step would make it pass."""
        self.play(Step(index=len(self.scenario.steps) + 1, line=0, kind="advance", args={"seconds": seconds}))

    def _restart(self) -> None:
        self.world.recover(MAX_RESTARTS_PER_STEP)

    def _remember(self, step: Step, item: Delivered) -> None:
        self.last_delivered = item
        if step.id:
            self.by_step_id[step.id] = item

    def _button_id(self, phone: str, title: str) -> str:
        """A tap returns the id of the button we sent with that title (the latest such button sent
        to this phone), as WhatsApp does; a title we never sent falls back to a derived id."""
        for msg in reversed(self.world.whatsapp.sent):
            if msg.to == phone:
                for button_id, button_title in msg.buttons:
                    if button_title.casefold() == title.casefold():
                        return button_id
        return title.lower().replace(" ", "_")

    def _client(self, step: Step) -> None:
        args = step.args
        client_id = args["client"]
        phone = self.clients[client_id]
        self.last_client = client_id
        if "text" in args:
            item = self.world.message_from(phone, kind="text", text=str(args["text"]))
        elif "button" in args or "list" in args:
            title = str(args.get("button", args.get("list")))
            item = self.world.message_from(
                phone, kind="interactive", button_id=self._button_id(phone, title), button_title=title,
                reply_type="button_reply" if "button" in args else "list_reply",
            )
        else:
            kind = "image" if "image" in args else "document"
            data, mime = self._media(args[kind], args, kind)
            media_id = self.world.whatsapp.put_media(data, mime)
            item = self.world.message_from(
                phone, kind=kind, media_id=media_id, mime_type=mime, caption=args.get("caption"),
                filename=Path(args.get("path", "file")).name if kind == "document" else None,
            )
        self._remember(step, item)

    def _media(self, value: Any, args: dict[str, Any], kind: str) -> tuple[bytes, str]:
        if isinstance(value, dict):
            from ..render import render

            rendered = render(value, seed=int(value.get("seed", self.scenario.seed)))
            return rendered.image_bytes, rendered.mime
        path = Path(args.get("path") or value)
        suffix = path.suffix.lower()
        mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".pdf": "application/pdf"}.get(suffix, "application/octet-stream")
        return path.read_bytes(), mime

    def _vendor(self, step: Step) -> None:
        phone = self.vendors[step.args["vendor"]]
        context = self._quoted_outreach(phone, step.args["reply_to"]) if "reply_to" in step.args else None
        item = self.world.message_from(phone, kind="text", text=str(step.args["text"]), context_wamid=context)
        self._remember(step, item)

    def _redeliver(self, step: Step) -> list[Failure]:
        target = step.args["redeliver"]
        item = self.last_delivered if target == "last" else self.by_step_id.get(target)
        if item is None:
            return [Failure(step.index, step.line, "redeliver", f"no delivered message {target!r} to redeliver")]
        self.world.redeliver(item)
        return []

    def _advance(self, step: Step) -> None:
        self.world.advance(float(step.args["seconds"]))

    def _brain_next(self, step: Step) -> None:
        self.world.brain.push(step.args["brain_next"])

    def _call_status(self, step: Step) -> list[Failure]:
        calls = self.world.calls
        if calls is None or not hasattr(calls, "callback"):
            return [Failure(step.index, step.line, "call_status", "no call provider in this world")]
        try:
            calls.callback(step.args["call_status"])
        except (LookupError, ValueError) as exc:  # e.g. no call was placed: the scenario's claim fails
            return [Failure(step.index, step.line, "call_status", str(exc))]
        return []

    def _fault(self, step: Step) -> list[Failure]:
        spec = dict(step.args["fault"])
        target = spec.pop("target")
        times = int(spec.get("times", 1))
        if target in ("whatsapp_send", "media_download"):
            try:  # a kind this target cannot have is the scenario's mistake, not a harness error
                self.world.whatsapp.inject_fault(
                    target, status=spec.get("status"), kind=spec.get("kind"), times=times,
                    retry_after=spec.get("retry_after"),
                )
            except ValueError as exc:
                return [Failure(step.index, step.line, "fault.kind", str(exc))]
        elif target == "brain":
            self.world.brain.fail_next(spec.get("kind") or "timeout", times)
        elif target == "call" and hasattr(self.world.calls, "inject_fault"):
            try:
                self.world.calls.inject_fault(spec.get("kind"), status=spec.get("status"), times=times)
            except ValueError as exc:
                return [Failure(step.index, step.line, "fault.kind", str(exc))]
        elif target == "process":
            kind = spec.get("kind")
            if kind == "restart":
                for _ in range(times):
                    self._restart()
            else:
                self.world.crash_in_next_sends("before" if kind == "crash_before_send" else "after", times)
        elif target == "ocr":
            from ..faults import ocr_faults

            try:
                ocr_faults(self.world).inject(spec.get("kind"), times)
            except ValueError as exc:
                return [Failure(step.index, step.line, "fault.kind", str(exc))]
        else:
            return [Failure(step.index, step.line, f"fault.{target}", f"fault target {target!r} is not wired yet")]
        return []

    def _expect(self, step: Step) -> list[Failure]:
        expect = dict(step.args["expect"])
        client = expect.get("client") or self.last_client
        if client is None:
            return [Failure(step.index, step.line, "expect.client", "no client has spoken yet")]
        mismatches = check_expectations(self.observer, client, expect)
        out = []
        for key, message in mismatches:
            line = step.key_lines.get(key) or step.key_lines.get(".".join(key.split(".")[:2])) or step.line
            out.append(Failure(step.index, line, key, message))
        return out


def transcript_of(world: SimWorld, scenario: Scenario) -> list[dict[str, Any]]:
    names = {c.phone: f"client {c.id}" for c in scenario.clients}
    names.update({v.phone: f"vendor {v.id}" for v in scenario.vendors})
    details = message_details(world)  # buttons, attached images: the HTML report draws them
    out = []
    for row in world.ledger.transcript():
        who = names.get(row["phone"], row["party"])
        out.append({
            "at": world.clock.offset(row["at"]),
            "from": who if row["direction"] == "in" else "concierge",
            "to": "concierge" if row["direction"] == "in" else who,
            "text": row["text"],
            "request_id": row["request_id"],
            **details.get(row["wamid"] or "", {}),
        })
    return out


def timeline_of(world: SimWorld) -> list[dict[str, Any]]:
    return [
        {"at": world.clock.offset(c["at"]), "request_id": c["request_id"], "from": c["source"],
         "to": c["dest"], "reason": c["reason"]}
        for c in world.ledger.state_changes()
    ]


def run_scenario(scenario: Scenario, *, seed: int | None = None, ledger: str | None = None) -> ScenarioResult:
    started = time.perf_counter()
    if scenario.skip:
        return ScenarioResult(scenario, "skip", 0.0)
    world: SimWorld | None = None
    failure: Failure | None = None
    try:
        world = build_world(scenario, seed, ledger)
        run = ScenarioPlay(scenario, world)
        seeded = seed_world(run, scenario)
        failure = seeded[0] if seeded else None
        for step in scenario.steps if failure is None else ():
            failures = run.play(step) or _brain_failures(world, step)
            if failures:
                failure = _first_of(failures)
                break
            violations = check_all(world, run.context)
            if violations:
                failure = _first_of([Failure(step.index, step.line, f"invariant {n}", m, invariant=n)
                                     for n, m in violations])
                break
        if failure is None:
            failure = _unexpected_errors(world, scenario)
        verdict = outcome_of(scenario, "fail" if failure else "pass")
        return ScenarioResult(
            scenario, verdict, time.perf_counter() - started, failure,
            transcript=transcript_of(world, scenario), timeline=timeline_of(world),
            log_lines=world.masked_log_lines(), observed=observe(world),
        )
    except Exception as exc:  # a harness or concierge bug: an error, not a failed expectation
        return ScenarioResult(
            scenario, "error", time.perf_counter() - started, None,
            error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(),
            transcript=transcript_of(world, scenario) if world else [],
            timeline=timeline_of(world) if world else [],
            log_lines=world.masked_log_lines() if world else [],
        )
    finally:
        if world is not None:
            world.close()


def _brain_failures(world: SimWorld, step: Step) -> list[Failure]:
    from ..brain_setup import step_problems

    return [Failure(step.index, step.line, "brain.cassette", p) for p in step_problems(world)]


def _first_of(failures: list[Failure]) -> Failure:
    """The step's first failure, carrying the others: the reports list every key that failed."""
    first = failures[0]
    first.also = failures[1:]
    first.message += "".join(f"\n    also {f.key}: {f.message}" for f in first.also)
    return first


def _unexpected_errors(world: SimWorld, scenario: Scenario) -> Failure | None:
    """An ERROR/CRITICAL log record the scenario did not declare fails it (clean logs)."""
    allowed = tuple(getattr(scenario, "expected_log_errors", ()) or ())
    for record in world.logs.records:
        if record.levelname in ("ERROR", "CRITICAL"):
            message = record.getMessage()
            if not any(a in message for a in allowed):
                return Failure(len(scenario.steps), scenario.steps[-1].line, "logs",
                               f"unexpected {record.levelname} log record: {message[:200]}")
    return None


def observe(world: SimWorld) -> dict[str, Any]:
    """Counts the gate and the metrics roll up across scenarios."""
    ledger = world.ledger
    transitions = sorted({(c["source"], c["dest"]) for c in ledger.state_changes() if c["source"]})
    refused = sorted({(e["data"]["source"], e["data"]["dest"])
                      for e in ledger.audit_events("state.transition_refused")})
    return {
        "transitions": [list(t) for t in transitions],
        "refused_transitions": [list(t) for t in refused],
        "tools": sorted({row["tool"] for row in ledger.tool_calls()}),
        "tool_args_rejected": sorted({e["data"]["tool"] for e in ledger.audit_events("tool.args_rejected")}),
        "brain_accepted": sorted({e["data"]["action"] for e in ledger.audit_events("brain.output_accepted")}),
        "brain_rejected": len(ledger.audit_events("brain.output_rejected")),
        "brain_rejected_types": sorted({t for t in (_rejected_type(e["data"]) for e in
                                                    ledger.audit_events("brain.output_rejected")) if t}),
        "requests": len(ledger.requests()),
        "handed_off": sum(1 for c in ledger.state_changes() if c["dest"] == "handed_off"),
        "inbound": ledger.inbound_count(),
        "duplicates_suppressed": len(ledger.audit_events("inbound.duplicate_suppressed")),
        "messages_sent": len(world.whatsapp.sent),
        "injection_flagged": len(ledger.audit_events("injection.flagged")),
        "calls": ledger.calls_count(),
        "restarts": world.restarts,
        **_provider_brain(world),
    }


def _provider_brain(world: SimWorld) -> dict[str, Any]:
    """With an HTTP brain: its token usage and cost, and each proposal's fate (the gate's evidence)."""
    from .. import brain_setup

    found = brain_setup.usage(world)
    return {} if found is None else {"brain_usage": found, "brain_outputs": brain_setup.outputs(world.ledger)}


def _rejected_type(data: dict[str, Any]) -> str | None:
    """The action type of a rejected output: recorded by the brain loop, else read from the reason
    (``brain_output.v1: <type>: ...``)."""
    from concierge.contracts import BRAIN_ACTION_TYPES

    if data.get("action_type") in BRAIN_ACTION_TYPES:
        return data["action_type"]
    parts = str(data.get("reason") or "").split(": ")
    return parts[1] if len(parts) > 2 and parts[0] == "brain_output.v1" and parts[1] in BRAIN_ACTION_TYPES else None
