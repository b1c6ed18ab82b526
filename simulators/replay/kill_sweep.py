"""A real ``kill -9`` of the concierge's process at each send, restarted on the same ledger file.

The in-process crash sweep (``crash_sweep``) raises an exception where the process would die and
rolls the ledger's transaction back in the same process. This one kills a process: a child plays
the scenario against a file-backed ledger (WAL, ``synchronous=FULL``); at each send it tells the
parent "about to send N" and, once Meta accepted it, "sent N", and waits; the parent lets it go on,
or sends SIGKILL at the chosen point. A new child then starts on the same ledger file and finishes
the scenario; nothing of the dead process survives but what SQLite committed.

Meta is another company's system and outlives the concierge: the child keeps Meta's side in a
journal file (fsync'd): the messages Meta accepted, the webhooks it posted and which got an answer,
and the virtual time. The new child restores the fake Cloud API from it, restarts the concierge
(``Concierge.resume``), and Meta posts again each webhook that got no answer. What Meta does not
do is re-post the status webhook of a message accepted just before the kill: that is the case the
at-least-once rule covers (``docs/decisions.md``, Restarts), and the one duplicate it allows.

Judged against a run without a kill: no inbound message lost (the ledger holds as many client and
vendor messages), no work lost (every vendor asked, every call placed, every request ended, every
message delivered by key), and a message delivered twice only when it is the one the process died
just after sending; those are counted (``at_least_once``), any other duplicate is a finding.
Only ``client`` (text or button), ``vendor``, ``advance`` and ``expect`` steps are supported (the
scenario's ``expect`` steps are skipped: a kill moves time, as in the in-process sweep).
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import signal
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..whatsapp import SentMessage
from ..world import SimWorld
from .crash_sweep import SETTLE_S, _ruled_out
from .loader import load_scenario
from .model import Scenario, Step
from .runner import ScenarioPlay, world_config

SUPPORTED = ("client", "vendor", "advance", "expect")
WAIT_S = 120  # real seconds a child may take between two sends before it counts as hung


class KillSweepUnsupported(ValueError):
    """A scenario with a step the kill sweep cannot replay across processes."""


@dataclass
class KillOutcome:
    sends: int
    deliveries: dict[str, int]  # idempotency key -> times Meta delivered it
    outbound: dict[str, str]  # idempotency key -> the ledger's status of that send
    inbound: dict[str, int]  # party -> messages the ledger recorded
    asked: dict[str, list[str]]
    ruled_out: dict[str, list[str]]
    calls: dict[str, int]
    open_requests: list[str]


@dataclass
class KillResult:
    scenario: str
    sends: int
    runs: int = 0
    findings: list[str] = field(default_factory=list)
    at_least_once: int = 0  # messages delivered twice because Meta's status webhook was lost


# --- the child: plays the scenario, journaling Meta's side ------------------------------------------
class _MetaJournal:
    def __init__(self, path: Path):
        self.path = path
        self.entries = [json.loads(line) for line in path.read_text("utf-8").splitlines()] if path.exists() else []
        self._file = open(path, "a", encoding="utf-8")

    def add(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())  # Meta's record survives the concierge's process


class _Child:
    def __init__(self, scenario: Scenario, ledger: Path, journal: Path, conn: Any, status_retried: bool = False):
        self.scenario = scenario
        self.status_retried = status_retried
        self.journal = _MetaJournal(journal)
        self.conn = conn  # None: run free (the process after the kill)
        self.world = SimWorld(replace(world_config(scenario), db_path=str(ledger)))
        self.fake = self.world.whatsapp
        self.sends = 0
        self.journaled_sent = 0
        self.step_index = 0
        inner = self.world.concierge.ports.transport
        self.world.concierge.ports.transport = _KillPoints(inner, self)
        deliver = self.world.deliver

        def journaled_deliver(body: bytes, headers: dict[str, str], wamid: str = "") -> Any:
            self._note({"posted": self.step_index, "body": base64.b64encode(body).decode(),
                        "headers": headers, "wamid": wamid})
            item = deliver(body, headers, wamid)
            self._note({"answered": wamid})
            return item

        self.world.deliver = journaled_deliver  # type: ignore[method-assign]

    def _note(self, entry: dict[str, Any]) -> None:
        self.journal.add({**entry, "now": self.world.clock.now(), "counter": self.fake._counter})

    def note_sent(self) -> None:
        for m in self.fake.sent[self.journaled_sent:]:
            self._note({"sent": {**m.__dict__, "buttons": [list(b) for b in m.buttons]}})
        self.journaled_sent = len(self.fake.sent)

    def handshake(self, phase: str, key: str) -> None:
        if self.conn is not None:
            self.conn.send(("send", self.sends, phase, key))
            self.conn.recv()  # "go", or SIGKILL while waiting

    def restore(self) -> tuple[set[int], dict[int, float], set[int]]:
        """The process after the kill: Meta's side from the journal, then ``resume`` and Meta's
        retries. Returns the steps done, begun (at what time) and posted."""
        entries = self.journal.entries
        done, begun, posted, answered = set(), {}, {}, set()
        for e in entries:
            if "sent" in e:
                m = e["sent"]
                self.fake.sent.append(SentMessage(**{**m, "buttons": tuple(tuple(b) for b in m["buttons"])}))
            elif "done" in e:
                done.add(e["done"])
            elif "begin" in e:
                begun[e["begin"]] = e["now"]
            elif "posted" in e:
                posted[e["wamid"]] = e
            elif "answered" in e:
                answered.add(e["answered"])
        self.journaled_sent = len(self.fake.sent)
        self.fake._counter = max(e["counter"] for e in entries)
        self.world.clock.advance(max(e["now"] for e in entries) - self.world.clock.now())
        if self.status_retried and self.fake.sent:  # Meta posts again the status the dead process missed
            self.fake._pending_status.append(self.fake.sent[-1])
        self.world.restart()
        for wamid, e in posted.items():
            if wamid not in answered:  # Meta posts again what got no 200
                self.world.deliver(base64.b64decode(e["body"]), e["headers"], wamid)
        return done, begun, {e["posted"] for e in posted.values()}

    def play(self) -> KillOutcome:
        done, begun, posted = self.restore() if self.journal.entries else (set(), {}, set())
        run = ScenarioPlay(self.scenario, self.world)
        settle = Step(index=len(self.scenario.steps) + 1, line=0, kind="advance", args={"seconds": SETTLE_S})
        for step in [*self.scenario.steps, settle]:
            if step.index in done or step.kind == "expect":
                continue
            self.step_index = step.index
            if step.index in begun:  # the step the process died in
                if step.kind == "advance":
                    rest = begun[step.index] + float(step.args["seconds"]) - self.world.clock.now()
                    run.play(replace(step, args={"seconds": max(rest, 0.0)}))
                elif step.index not in posted:
                    run.play(step)
            else:
                self._note({"begin": step.index})
                run.play(step)
            self._note({"done": step.index})
        return self.outcome()

    def outcome(self) -> KillOutcome:
        world, ledger = self.world, self.world.ledger
        ended = {"closed", "error", "handed_off"}
        inbound = Counter(r["party"] for r in ledger.inbound())
        return KillOutcome(
            sends=self.sends,
            deliveries=dict(Counter(m.callback_data or f"(no key) {m.text}" for m in world.whatsapp.sent)),
            inbound=dict(inbound),
            outbound={r["idem_key"]: r["status"] for r in ledger.outbound()},
            asked={r.id: sorted({o.vendor_id for o in ledger.outreach(request_id=r.id)}) for r in ledger.requests()},
            ruled_out={k: sorted(v) for k, v in _ruled_out(world).items()},
            calls={r.id: ledger.calls_count(r.id) for r in ledger.requests()},
            open_requests=[f"{r.id} ({r.state})" for r in ledger.requests() if r.state not in ended],
        )


class _KillPoints:
    """The concierge's transport in the child: each send is a kill point before Meta has it and
    after Meta accepted it (and Meta's journal recorded it)."""

    def __init__(self, inner: Any, child: _Child):
        self.inner, self.child = inner, child

    def _send(self, key: str, send: Any) -> Any:
        self.child.sends += 1
        self.child.handshake("before", key)
        result = send()
        self.child.note_sent()
        self.child.handshake("after", key)
        return result

    def send_text(self, to: str, text: str, *, idempotency_key: str) -> Any:
        return self._send(idempotency_key, lambda: self.inner.send_text(to, text, idempotency_key=idempotency_key))

    def send_buttons(self, to: str, text: str, buttons: Any, *, idempotency_key: str) -> Any:
        return self._send(idempotency_key, lambda: self.inner.send_buttons(
            to, text, buttons, idempotency_key=idempotency_key))

    def download_media(self, media_id: str) -> bytes:
        return self.inner.download_media(media_id)


def _child_main(scenario_file: str, ledger: str, journal: str, conn: Any, free: bool, status_retried: bool) -> None:
    try:
        child = _Child(load_scenario(scenario_file), Path(ledger), Path(journal), None if free else conn,
                       status_retried)
        conn.send(("outcome", child.play().__dict__))
    except BaseException as exc:  # reported to the parent as a finding, with its cause
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


# --- the parent: starts, kills and restarts children --------------------------------------------
def _context() -> Any:
    # fork: the child starts with the harness imported (milliseconds, not a second, per process)
    return multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")


def _start(scenario: Scenario, work: Path, free: bool, status_retried: bool = False) -> tuple[Any, Any]:
    ctx = _context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child_main, args=(str(scenario.file), str(work / "ledger.sqlite"),
                                                 str(work / "meta.jsonl"), child, free, status_retried),
                       daemon=True)
    proc.start()
    child.close()
    return proc, parent


def _receive(conn: Any, proc: Any) -> Any:
    if not conn.poll(WAIT_S):
        proc.kill()
        raise RuntimeError(f"the child process was silent for {WAIT_S} s")
    return conn.recv()


def kill_run(scenario: Scenario, work: Path, kill_at: int | None = None, when: str = "before",
             status_retried: bool = False) -> tuple[KillOutcome, str | None]:
    """Play ``scenario`` in a child on a new ledger file in ``work``; SIGKILL it at send
    ``kill_at`` (``before`` Meta has it, or ``after`` Meta accepted it), then finish in a new child
    on the same file. ``status_retried``: Meta posts again the status webhook of the last message it
    accepted (else it is lost). Returns the outcome and the key of the send the process died in."""
    work.mkdir(parents=True, exist_ok=True)
    for name in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "meta.jsonl"):
        (work / name).unlink(missing_ok=True)
    proc, conn = _start(scenario, work, free=False)
    killed_key = None
    try:
        while True:
            message = _receive(conn, proc)
            if message[0] == "send" and message[1] == kill_at and message[2] == when:
                os.kill(proc.pid, signal.SIGKILL)  # kill -9: no handler, no flush, no rollback
                proc.join()
                killed_key = message[3]
                break
            if message[0] == "send":
                conn.send("go")
                continue
            proc.join()
            return _outcome(message), None
    finally:
        conn.close()
    proc, conn = _start(scenario, work, free=True, status_retried=status_retried)
    try:
        message = _receive(conn, proc)
    finally:
        conn.close()
        proc.join()
    return _outcome(message), killed_key


def _outcome(message: tuple[str, Any]) -> KillOutcome:
    if message[0] == "error":
        raise RuntimeError(message[1])
    return KillOutcome(**message[1])


def check_supported(scenario: Scenario) -> None:
    if getattr(scenario, "brain", None) is not None:
        raise KillSweepUnsupported(f"{scenario.file}: a scenario with a provider brain (`brain:`) is not "
                                   "replayed by the kill sweep (its children use the rule brain)")
    for step in scenario.steps:
        if step.kind not in SUPPORTED or (step.kind == "client" and "text" not in step.args
                                          and "button" not in step.args):
            raise KillSweepUnsupported(
                f"{scenario.file}:{step.line}: a {step.kind!r} step cannot be replayed across processes "
                f"by the kill sweep (supported: {', '.join(SUPPORTED)}, client text or button)")


def kill_sweep(scenario: Scenario, work: Path, points: list[int] | None = None,
               reference: KillOutcome | None = None) -> KillResult:
    """Kill the process before and after each send (or each of ``points``), one run each, and
    judge each run against ``reference`` (a run without a kill, made here if not given)."""
    check_supported(scenario)
    if reference is None:
        reference, _ = kill_run(scenario, work / "reference")
    result = KillResult(scenario.id, reference.sends)
    for send in points or range(1, reference.sends + 1):
        for when in ("before", "after"):
            try:
                got, key = kill_run(scenario, work / f"kill-{send}-{when}", send, when)
                problems, duplicates = judge(got, reference, key if when == "after" else None)
                if key is None:
                    problems.append(f"never killed: fewer than {send} sends")
            except RuntimeError as exc:
                problems, duplicates = [str(exc)], 0
            result.runs += 1
            result.at_least_once += duplicates
            result.findings += [f"{scenario.file}: kill -9 {when} send {send}: {p}" for p in problems]
    return result


def judge(got: KillOutcome, reference: KillOutcome, accepted_key: str | None) -> tuple[list[str], int]:
    """The problems of a killed run, and how many duplicates the at-least-once rule allowed: one
    extra copy of the message Meta accepted just before the kill (its status webhook was lost)."""
    out: list[str] = []
    for party, n in reference.inbound.items():
        if got.inbound.get(party, 0) < n:
            out.append(f"lost inbound: {got.inbound.get(party, 0)} {party} message(s) recorded, the reference {n}")
    for request_id, vendors in reference.asked.items():
        missing = sorted(set(vendors) - set(got.asked.get(request_id, [])) - set(got.ruled_out.get(request_id, [])))
        if missing:
            out.append(f"{request_id} never asked {', '.join(missing)} (the reference did)")
        if got.calls.get(request_id, 0) < reference.calls.get(request_id, 0):
            out.append(f"{request_id} placed {got.calls.get(request_id, 0)} call(s), the reference "
                       f"{reference.calls[request_id]}")
    # Each question the reference put to a vendor reaches that vendor, unless this run ruled the
    # vendor out (a kill delays a send, which moves the 5-minute gap and the daily cap) or the
    # concierge decided the send's fate (a send a STOP or a cancel overtook ends 'failed'). A
    # question with no row, or a row still pending at the end, is one the kill dropped. (What a
    # client is told depends on the timeline, which a kill moves: it is not compared by key.)
    lost = []
    for key in sorted(reference.deliveries):
        request_id, _, rest = key.removeprefix("request:").partition(":vendor:")
        if not rest.endswith(":qset:v1") or key in got.deliveries:
            continue
        if rest.split(":")[0] in got.ruled_out.get(request_id, []):
            continue
        if got.outbound.get(key, "pending") == "pending":
            lost.append(key)
    if lost:
        out.append(f"never delivered: {', '.join(lost[:3])}")
    if got.open_requests:
        out.append("requests never ended: " + ", ".join(got.open_requests))
    allowed = 0
    for key, n in sorted(got.deliveries.items()):
        extra = n - max(reference.deliveries.get(key, 0), 1)
        if extra <= 0:
            continue
        if key == accepted_key and extra == 1:
            allowed += 1
        else:
            out.append(f"{key} delivered {n} times (reference: {reference.deliveries.get(key, 0)})")
    return out, allowed


def cli_kill_sweep(scenarios: list[Scenario], ledger: str | None, max_points: int | None) -> int:
    """``concierge-sim crash-sweep --kill``: each scenario the kill sweep can replay, killed before
    and after each send (or ``max_points`` of them); prints the report, returns the exit code."""
    import tempfile

    from .crash_sweep import sample_points

    playable = []
    for scenario in scenarios:
        try:
            check_supported(scenario)
            playable.append(scenario)
        except KillSweepUnsupported as exc:
            print(f"  skipped {scenario.id}: {exc}")
    if not playable:
        print("concierge-sim crash-sweep --kill: no selected scenario can be replayed across processes")
        return 2
    findings, runs, duplicates = [], 0, 0
    with tempfile.TemporaryDirectory(prefix="kill-sweep-") as scratch:
        base = Path(ledger) if ledger else Path(scratch)
        for scenario in playable:
            reference, _ = kill_run(scenario, base / scenario.id / "reference")
            points = list(sample_points(scenario.id, reference.sends, max_points))
            result = kill_sweep(scenario, base / scenario.id, points, reference)
            runs += result.runs
            duplicates += result.at_least_once
            findings += result.findings
            print(f"  {scenario.id}: {len(points)} of {result.sends} send points, {result.runs} kill -9 runs, "
                  f"{result.at_least_once} at-least-once duplicate(s) (status webhook lost), "
                  f"{len(result.findings)} finding(s)", flush=True)
    for finding in findings:
        print(f"FINDING {finding}")
    print(f"{len(playable)} scenario(s), {runs} kill -9 runs, {duplicates} at-least-once duplicate(s), "
          f"{len(findings)} finding(s)")
    return 1 if findings else 0
