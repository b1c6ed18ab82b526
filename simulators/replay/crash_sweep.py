"""Kill the concierge's process inside every send of a scenario, one send at a time, and check what
must survive any crash.

A scenario that fails its own checks as written is a finding and is not swept (the crash runs skip
those checks, so sweeping it would prove nothing). For a scenario that makes N sends, the sweep runs it
once as written (the reference) and then 2N
times: with the process dying inside send k, before Meta got the message or once Meta accepted it.
The runner restarts the process at once (``Concierge.resume`` on the same ledger) and Meta posts
the unanswered webhook again, as in production. A crash moves time (an interrupted send is retried
after the resume grace), so the scenario's own ``expect`` steps, written for one timeline, are
skipped; instead, after the last step and ``settle`` more virtual seconds, each run must show:

- the Phase 0 invariants hold (dedupe, stop, caps, consent, nothing after STOP, ...);
- every request has ended (none is left waiting for ever);
- no work was lost: every vendor the reference run asked for a request is asked, every call it
  placed is placed (a crash may delay the concierge's work, never drop it);
- no request sent the same message to the same person more often than in the reference run.

Anything else may differ, and legitimately does: a vendor scripted to answer at once may answer
before the outreach a crash delayed has reached it.

``at="writes"`` puts the crash points at every write statement of the ledger instead (before it,
or just after it): the test of the concierge's units of work (one transaction per webhook or timer,
committed at each send).

Every crash run replays the whole scenario, and a longer scenario has more writes: a full sweep grows
with the square of the scenario's length. ``max_points`` bounds it: beyond that many crash points,
a sample spread over the whole run (one point drawn in each of equal stretches, the first and last
always in), drawn from a seed made of the scenario's id, so the same command sweeps the same points.
"""

from __future__ import annotations

import hashlib
import json
import random
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from concierge.lifecycle import ENDED_STATES

from ..invariants import check_all
from ..world import CrashingTransport, ProcessDied, SimWorld
from .model import Scenario
from .play_authoring import seed_world
from .runner import ScenarioPlay, build_world, run_scenario

SETTLE_S = 2 * 3600  # past every request timer, the idle close and the follow-up window


CRASH_POINTS = ("sends", "writes")
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


@dataclass(frozen=True)
class CrashFinding:
    scenario: str
    file: str
    send: int  # 1-based: the send (or ledger write) the process died in
    when: str  # before | after (Meta accepted the message; the write landed)
    problem: str
    at: str = "sends"

    def headline(self) -> str:
        return f"{self.file}: crash {self.when} {self.at[:-1]} {self.send}: {self.problem}"


class _CrashingDb:
    """The ledger's connection, dying before (or just after) its ``n``-th write statement: a crash
    between two writes of one webhook's handling, which the ledger's autocommit does not undo."""

    def __init__(self, db, plan):
        self._db, self._plan = db, plan

    def execute(self, sql, *params):
        write = sql.lstrip()[:6].upper() in _WRITES
        when = self._plan("write") if write else None
        if when == "before":
            raise ProcessDied()
        try:
            result = self._db.execute(sql, *params)
        except Exception:
            if when == "after":  # a refused write (a duplicate) is a crash point too
                raise ProcessDied() from None
            raise
        if when == "after":
            raise ProcessDied()
        return result

    def __getattr__(self, name):
        return getattr(self._db, name)


@dataclass
class SweepResult:
    scenario: Scenario
    sends: int  # crash points of the scenario: its sends, or its ledger writes
    runs: int
    findings: list[CrashFinding]
    points: tuple[int, ...]  # the crash points swept (1-based), all of them unless sampled

    @property
    def sampled(self) -> bool:
        return len(self.points) < self.sends


@dataclass
class _Outcome:
    sends: int
    restarts: int
    deliveries: Counter
    open_requests: list[str]
    violations: list[tuple[str, str]]
    asked: dict[str, set[str]]  # request -> vendors asked (outreach rows, sent or not)
    ruled_out: dict[str, set[str]]  # request -> vendors one of its searches excluded (gap, cap, busy, ...)
    calls: dict[str, int]  # request -> calls placed


def _play(scenario: Scenario, crash_at: int | None, when: str, settle_s: float, at: str = "sends") -> _Outcome:
    world: SimWorld = build_world(scenario)
    count = 0

    def plan(_kind: str) -> str | None:
        nonlocal count
        count += 1
        return when if count == crash_at else None

    try:
        run = ScenarioPlay(scenario, world)
        seed_world(run, scenario)  # the starting point is given, not under test: no crash points in it
        if at == "writes":
            crash_points = world.ledger.statements_through(lambda db: _CrashingDb(db, plan))
        else:
            crash_points = nullcontext()
            world.concierge.ports.transport = CrashingTransport(world.concierge.ports.transport, plan)
        with crash_points:  # judging reads the ledger after the block: no more crash points
            for step in scenario.steps:
                if step.kind != "expect":
                    run.play(step)
            run.advance(settle_s)
        ended = {s.value for s in ENDED_STATES}
        return _Outcome(
            sends=count, restarts=world.restarts,
            deliveries=Counter((m.to, _request_of(world, m), m.text or "") for m in world.whatsapp.sent),
            open_requests=[f"{r.id} ({r.state})" for r in world.ledger.requests() if r.state not in ended],
            violations=check_all(world, run.context),
            asked={r.id: {o.vendor_id for o in world.ledger.outreach(request_id=r.id)}
                   for r in world.ledger.requests()},
            calls={r.id: world.ledger.calls_count(r.id) for r in world.ledger.requests()},
            ruled_out=_ruled_out(world),
        )
    finally:
        world.close()


def _ruled_out(world: SimWorld) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in world.ledger.tool_calls("marketplace.search_vendors"):
        result = json.loads(row["result"]) if isinstance(row["result"], str) else row["result"]
        out.setdefault(row["request_id"], set()).update((result or {}).get("excluded") or {})
    return out


def _request_of(world: SimWorld, message) -> str | None:
    """The request a delivered message was sent for (its idempotency key names the outbound row)."""
    row = world.ledger.get_outbound(message.callback_data) if message.callback_data else None
    return row["request_id"] if row else None


def sample_points(scenario_id: str, total: int, max_points: int | None) -> tuple[int, ...]:
    """Crash points 1..``total``, or ``max_points`` of them when there are more: the first and the
    last, and one in each of ``max_points - 2`` equal stretches between them. A random pick inside
    each stretch reaches points a fixed stride would always step over; the seed is the scenario's id,
    so a finding is found again by the same command."""
    if max_points is None or total <= max_points:
        return tuple(range(1, total + 1))
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (the first and the last point), not {max_points}")
    seed = int.from_bytes(hashlib.sha256(f"crash-sweep:{scenario_id}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    inner, stretches = total - 2, max_points - 2  # points 2..total-1, in `stretches` equal parts
    picked = [1]
    for i in range(stretches):
        low, high = 2 + i * inner // stretches, 2 + (i + 1) * inner // stretches  # [low, high)
        picked.append(rng.randrange(low, high))
    picked.append(total)
    return tuple(picked)


def sweep(scenario: Scenario, *, settle_s: float = SETTLE_S, at: str = "sends", max_points: int | None = None,
          on_run: Callable[[int, int], None] | None = None) -> SweepResult:
    """Every crash point of ``scenario``: each send (``at="sends"``) or each ledger write
    (``at="writes"``), or ``max_points`` of them (``sample_points``); ``on_run(done, total)``
    reports progress in crash runs."""
    if at not in CRASH_POINTS:
        raise ValueError(f"crash points are {CRASH_POINTS}, not {at!r}")
    if max_points is not None and max_points < 2:
        raise ValueError(f"max_points must be at least 2 (the first and the last point), not {max_points}")
    file = str(scenario.file)
    as_written = run_scenario(scenario)
    if not as_written.passed:
        # Crash runs skip the scenario's own checks; a scenario that fails them proves nothing swept.
        why = (as_written.failure.headline(file) if as_written.failure else as_written.error) or "?"
        return SweepResult(scenario, 0, 0, [CrashFinding(
            scenario.id, file, 0, "none", f"the scenario fails as written, before any crash ({why}); "
            f"not swept: fix it first (concierge-sim run {file} -k {scenario.id})", at)], ())
    reference = _play(scenario, None, "before", settle_s, at)
    findings: list[CrashFinding] = []
    for problem in _problems(reference, reference):
        findings.append(CrashFinding(scenario.id, file, 0, "none", f"without any crash: {problem}", at))
    points = sample_points(scenario.id, reference.sends, max_points)
    total = 2 * len(points)
    done = 0
    for send in points:
        for when in ("before", "after"):
            try:
                outcome = _play(scenario, send, when, settle_s, at)
                problems = _problems(outcome, reference)
                if outcome.restarts == 0:
                    problems.append("the process never died (the run made fewer sends than the reference)")
            except Exception as exc:  # a harness or concierge bug at this crash point
                problems = [f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"]
            findings += [CrashFinding(scenario.id, file, send, when, p, at) for p in problems]
            done += 1
            if on_run:
                on_run(done, total)
    return SweepResult(scenario, reference.sends, total, findings, points)


def _problems(got: _Outcome, reference: _Outcome) -> list[str]:
    out = [f"invariant {name}: {message}" for name, message in got.violations]
    # Lost work: a crash may delay what the concierge does, never drop it. Every vendor the
    # reference asked is asked (a delayed question may still be withdrawn by a STOP: its row stays)
    # unless a search of this run ruled the vendor out (a delayed send moves the 5-minute gap and
    # the daily cap), and every call it placed is placed.
    for request_id, vendors in reference.asked.items():
        missing = sorted(vendors - got.asked.get(request_id, set()) - got.ruled_out.get(request_id, set()))
        if missing:
            out.append(f"{request_id} never asked {', '.join(missing)} (the reference did)")
        if got.calls.get(request_id, 0) < reference.calls.get(request_id, 0):
            out.append(f"{request_id} placed {got.calls.get(request_id, 0)} call(s), the reference "
                       f"{reference.calls[request_id]}")
    if got.open_requests:
        out.append("requests never ended: " + ", ".join(got.open_requests))
    for (to, request_id, text), n in sorted(got.deliveries.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])):
        before = reference.deliveries.get((to, request_id, text), 0)
        if n > 1 and n > before:
            out.append(f"{request_id} sent this {n} times to ...{to[-3:]} (reference: {before}): {text[:60]!r}")
    return out

