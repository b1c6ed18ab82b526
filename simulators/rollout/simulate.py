"""``concierge-sim simulate``: a seeded population against the real concierge, on the virtual clock.

A run is one market by default: one SimWorld — the real ``Concierge`` with its SQLite ledger, the
fake Cloud API, signed webhooks — holding every client and every vendor, so that vendors' daily caps,
cooldowns and busy spells feel the whole population's load. ``--shards K`` splits the market into K
independent sub-markets instead (client ``i`` and vendor ``j`` belong to shard ``i % K`` and
``j % K``): the client-to-vendor ratio, and so the load on each vendor, is kept, but each request
chooses among 1/K of the vendors. Shards share nothing, so ``--workers`` runs them in parallel
processes and the merged tally is the same for every number of workers.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from concierge.calling import NO_BUTTON, YES_BUTTON
from concierge.lifecycle import ENDED_STATES, RequestState
from simulators.ledger_files import ledger_path
from simulators.outputs import OutputSet
from simulators.progress import ProgressLine, RunMeter
from simulators.world import CALL_SECRET, CrashingTransport, ProcessDied, SimWorld, WorldConfig

from .behaviour import (
    MoltbotSim,
    ObservingTransport,
    SimCallProvider,
    crash_plan,
    lognormal_s,
    vendor_reply,
)
from .brain_source import inner_brain, spec_from_args
from .cli_args import add_simulate_arguments, parsed
from .collect import collect
from .emptiness import ai_path_note
from .env import Profile, profile
from .metrics import Tally, dumps, finalize, load_prices, merge
from .ocr_model import CalibratedOcr, encode_spec
from .population import (
    PLACES,
    PlannedRequest,
    Population,
    WorldParams,
    build_population,
    typical_price,
)

DRAIN_S = 30 * 60  # after the last arrival: hard limit (10 min) + follow-up window + client answers
CHUNK_S = 15 * 60  # virtual time between progress updates
# Virtual time between buffer trims: the buffers fill with the market's traffic (KBs a request); in
# a 100,000-request market, RSS rose by ~230 MB over the first 15 minutes, mostly these buffers.
TRIM_S = 60
CANCEL_WORD = {"en": "cancel", "fr": "annuler", "rw": "hagarika"}
CLIENT_ANSWERS = ("question", "widen_search", "ocr_failed", "ocr_off", "ocr_budget")


@dataclass(frozen=True)
class RunConfig:
    clients: int
    vendors: int
    hours: float
    seed: int
    profile: str | None = None
    env_file: str | None = None
    params: WorldParams = field(default_factory=WorldParams)
    shards: int = 1
    ocr: str = "model"  # model | tesseract
    invariants: bool = False  # check Phase 0's invariants over the whole run (keeps the sent log)
    brain: Any = None  # a BrainSpec: an HTTP brain behind a cassette instead of the rule brain
    ledger: str | None = None  # a folder for file-backed ledgers, one per shard (default: in memory)
    review: int = 20  # shortlists kept for the manual review page (the runbook's first 20)

    def settings(self) -> Profile:
        return profile(self.profile, self.env_file)


def shard_seed(seed: int, shard: int) -> int:
    return int.from_bytes(hashlib.sha256(f"rollout:{seed}:{shard}".encode()).digest()[:6], "big")


class ShardRun:
    """One shard: its world, the people in it, and what they did."""

    def __init__(self, config: RunConfig, shard: int, population: Population | None = None):
        self.config = config
        self.shard = shard
        self.settings = config.settings()
        params = config.params
        self.params = params
        pinned = tuple(sorted(self.settings.flags.allowlist))
        if population is None:
            population = build_population(config.seed, config.clients, config.vendors, config.hours,
                                          params, pinned)
        self.clients = {c.index: c for c in population.clients if c.index % config.shards == shard}
        self.planned = [r for r in population.requests if r.client in self.clients]
        # A vendor belongs to one shard only: a copy in every shard would meet 1/K of its real load.
        mine = [v for j, v in enumerate(population.vendors) if j % config.shards == shard]
        self.vendors = {v.vendor.phone: v for v in mine}
        seed = shard_seed(config.seed, shard)
        self.rng = random.Random(seed)
        # The ledger is a file, so that memory stays flat however long the run: in --ledger's
        # folder, else in a scratch folder removed when the shard finishes. The world is simulated,
        # so its ledger need not survive a power cut (docs/rollout-simulator.md, "Memory").
        self._scratch = None if config.ledger else tempfile.TemporaryDirectory(prefix="concierge-ledger-")
        folder = config.ledger or self._scratch.name  # type: ignore[union-attr]
        world = SimWorld(
            WorldConfig(vendors=[v.vendor for v in mine],
                        clients={c.phone: (c.area, c.language) for c in self.clients.values()},
                        flags=self.settings.flags, caps=self.settings.caps, seed=seed,
                        db_path=ledger_path(folder, f"shard-{shard}"), power_safe_ledger=False),
            ocr=CalibratedOcr(seed) if config.ocr == "model" else None,
        )
        self.world = world
        ports = world.concierge.ports
        self.crashing = CrashingTransport(ObservingTransport(world.transport, self._on_sent),
                                          crash_plan(random.Random(f"crash:{seed}"), params.crash_per_send))
        ports.transport = self.crashing
        self.brain = MoltbotSim(
            inner_brain(config.brain), random.Random(f"brain:{seed}"),
            invalid_rate=params.brain_invalid_rate if config.brain is None else 0.0,
            latency_median_s=params.brain_latency_median_s, latency_sigma=params.brain_latency_sigma,
            timeout_s=params.brain_timeout_s, now=world.clock.now,
            batch_size=params.brain_batch_size, max_vendors=params.brain_max_vendors,
        )
        ports.brain = self.brain
        self.calls = SimCallProvider(random.Random(f"calls:{seed}"), params.call_failure_rate,
                                     params.call_minutes_median, world.ledger, world.clock.now,
                                     self._client_of, secret=CALL_SECRET, report=self._call_status)
        ports.calls = world.calls = self.calls
        self.by_request: dict[str, PlannedRequest] = {}
        self._arriving: PlannedRequest | None = None
        self.invariant_problems: list[tuple[str, str]] | None = None  # once checked
        self.answers: dict[str, int] = {}
        self.injected: set[tuple[str, str]] = set()
        self.tally = Tally()
        self.samples: dict[str, list[dict[str, Any]]] = {}

    # --- the people act ------------------------------------------------------------------------
    def _client_of(self, request_id: str) -> str | None:
        row = self.world.ledger.get_request(request_id)
        return row.client_phone if row else None

    def _deliver(self, phone: str, **kwargs: Any) -> None:
        item = self.world.message_from(phone, **kwargs)
        if self.rng.random() < self.params.redelivery_rate:
            self.tally.add("redeliveries")
            self.world.clock.call_at(self.world.clock.now() + self.rng.randint(1, 30),
                                     lambda _now, it=item: self.world.redeliver(it))

    def _later(self, delay_s: int, action: Callable[[], None]) -> None:
        self.world.clock.call_at(self.world.clock.now() + delay_s, lambda _now: action())

    def _arrive(self, planned: PlannedRequest) -> None:
        client = self.clients[planned.client]
        ledger = self.world.ledger
        latest = ledger.latest_request(client.phone)
        if latest is not None and RequestState(latest.state) not in ENDED_STATES:
            self.tally.add("arrivals_while_busy")  # the client is still being served: no new need
            return
        # The concierge may answer inside the delivery (e.g. "please type it" when OCR is off),
        # before the new request's id is known here: _planned_for binds it then.
        self._arriving = planned
        try:
            if planned.kind == "text":
                self._deliver(client.phone, text=planned.text)
            else:
                media_id, mime = self._media(planned)
                self._deliver(client.phone, kind="image", media_id=media_id, mime_type=mime)
        finally:
            self._arriving = None
        row = ledger.latest_request(client.phone)
        if row is None:
            return
        if row.id not in self.by_request:
            self.by_request[row.id] = planned
        elif self.by_request[row.id] is not planned:
            return
        if planned.cancel_after_s is not None:
            self._later(planned.cancel_after_s, lambda rid=row.id: self._cancel(rid))

    def _media(self, planned: PlannedRequest) -> tuple[str, str]:
        assert planned.spec is not None
        if self.config.ocr == "model":
            return self.world.whatsapp.put_media(encode_spec(planned.spec), "image/jpeg"), "image/jpeg"
        from simulators.render import render

        page = render(planned.spec)
        return self.world.whatsapp.put_media(page.image_bytes, page.mime), page.mime

    def _cancel(self, request_id: str) -> None:
        row = self.world.ledger.get_request(request_id)
        if row is None or RequestState(row.state) in ENDED_STATES or row.state == "handed_off":
            return
        client = self.clients[self.by_request[request_id].client]
        self._deliver(client.phone, text=CANCEL_WORD[client.language])

    def _on_sent(self, to: str, text: str, key: str, wamid: str | None) -> None:
        vendor = self.vendors.get(to)
        if vendor is not None:
            if key.endswith(":qset:v1") and ":vendor:" in key:
                self._vendor_answers(vendor, key, wamid)
            return
        row = self.world.ledger.get_outbound(key)
        if row is not None and row["request_id"]:
            if row["purpose"] in CLIENT_ANSWERS:
                self._client_answers(row["request_id"], row["purpose"])
            elif row["purpose"] == "consent_prompt":
                self._client_consents(row["request_id"])

    def _client_consents(self, request_id: str) -> None:
        """The client taps Yes or No on the call-consent prompt (or never answers it)."""
        planned = self.by_request.get(request_id)
        if planned is None or self.rng.random() >= self.params.client_answer_prob:
            return
        button = YES_BUTTON if self.rng.random() < self.params.consent_yes_prob else NO_BUTTON
        phone = self.clients[planned.client].phone
        delay = self.rng.randint(*self.params.client_answer_delay_s)
        self._later(delay, lambda: self._deliver(phone, kind="interactive", button_id=button,
                                                 button_title=button.split("_")[1].title()))

    def _call_status(self, delay_s: int, body: bytes, signature: str) -> None:
        self._later(delay_s, lambda: self.world.call_status(body, signature))

    def _vendor_answers(self, vendor: Any, key: str, wamid: str | None) -> None:
        request_id = key[len("request:"):].split(":vendor:")[0]
        planned = self.by_request.get(request_id)
        category = planned.category if planned else vendor.vendor.categories[0]
        price = typical_price(category, planned.text if planned else "")
        answer = vendor_reply(self.rng, vendor.behaviour, vendor.vendor.language, vendor.vendor.area or "",
                              price)
        if answer is None:
            return
        kind, text = answer
        delay = lognormal_s(self.rng, vendor.behaviour.reply_median_s, vendor.behaviour.reply_sigma)
        if kind == "injection":
            self.tally.add("injection_attempts")
            self.injected.add((request_id, vendor.vendor.id))
        phone = vendor.vendor.phone
        self._later(delay, lambda: self._deliver(phone, text=text, context_wamid=wamid))

    def _planned_for(self, request_id: str) -> PlannedRequest | None:
        planned = self.by_request.get(request_id)
        arriving = self._arriving
        if planned is None and arriving is not None:
            row = self.world.ledger.get_request(request_id)
            if row is not None and row.client_phone == self.clients[arriving.client].phone:
                self.by_request[request_id] = planned = arriving
        return planned

    def _client_answers(self, request_id: str, purpose: str) -> None:
        planned = self._planned_for(request_id)
        if planned is None or self.answers.get(request_id, 0) >= 2:
            return
        if self.rng.random() >= self.params.client_answer_prob:
            return
        self.answers[request_id] = self.answers.get(request_id, 0) + 1
        client = self.clients[planned.client]
        text = planned.text
        if client.area not in text:
            text = f"{text} near {client.area}"
        if purpose == "widen_search":
            other = self.rng.choice([p for p in PLACES if p != client.area])
            text = text.replace(client.area, other)
        delay = self.rng.randint(*self.params.client_answer_delay_s)
        self._later(delay, lambda: self._answer(request_id, client.phone, text))

    def _answer(self, request_id: str, phone: str, text: str) -> None:
        latest = self.world.ledger.latest_request(phone)
        if latest is None or latest.id != request_id or RequestState(latest.state) in ENDED_STATES:
            return
        self._deliver(phone, text=text)

    # --- the run -------------------------------------------------------------------------------
    def run(self, progress: Callable[[float], None] | None = None) -> Tally:
        self.advance_all(progress)
        return self.finish()

    def advance_all(self, progress: Callable[[float], None] | None = None) -> None:
        clock = self.world.clock
        for planned in self.planned:
            clock.call_at(clock.start + planned.at_s, lambda _now, p=planned: self._arrive(p))
        end = self.config.hours * 3600 + DRAIN_S
        while clock.elapsed() < end:
            chunk_end = min(clock.elapsed() + CHUNK_S, end)
            while clock.elapsed() < chunk_end:
                # Advancing in steps fires the same events in the same order as one advance (the
                # clock orders them by due time, then by scheduling), and the world is quiet
                # between any two events, so a trim between steps changes nothing the run does.
                step_end = min(clock.elapsed() + TRIM_S, chunk_end)
                while clock.elapsed() < step_end:
                    died = False
                    try:
                        self.world.advance(step_end - clock.elapsed())
                    except ProcessDied:
                        died = True
                    if died:  # restarted outside the handler: the dead process's frames are gone by then
                        self._restart()
                self._trim()
            if progress:
                progress(clock.elapsed() / end)

    def arrived(self) -> int:
        """Requests of this shard that have arrived by now (the progress line's rate)."""
        elapsed = self.world.clock.elapsed()
        return sum(1 for p in self.planned if p.at_s <= elapsed)

    def _restart(self) -> None:
        """Crashed mid-work (``crash_per_send``): ``SimWorld.recover`` restarts from the ledger, and
        every process started counts as a crash survived."""
        self.tally.add("crashes", self.world.recover())

    def finish(self) -> Tally:
        collect(self.world.ledger, self.tally, self.brain, self.calls, self.by_request, self.injected)
        if self.config.invariants and self.invariant_problems is None:
            self.check_invariants()
        from .samples import collect_samples

        self.samples = collect_samples(self.world.ledger, self.shard, self.world.clock.start, self.injected,
                                       self.config.review)
        self.world.close()
        if self._scratch is not None:
            self._scratch.cleanup()
        return self.tally

    def check_invariants(self) -> list[tuple[str, str]]:
        """The scenario runner's invariants, over everything this shard's world did. Each violation
        is counted per invariant and printed (with the shard) on stderr: a population run is then
        a large property test of the concierge, not only a source of metrics."""
        from simulators.invariants import Context, check_all

        problems = check_all(self.world, Context(tuple(c.phone for c in self.clients.values())))
        problems += [("requests_end", p) for p in self.stuck_requests()]
        self.invariant_problems = problems
        self.tally.add("invariant_shards")
        self.tally.add("invariant_violations", len(problems))
        for name, message in problems:
            self.tally.add(f"invariant_{name}")
            print(f"simulate: invariant {name} broken in shard {self.shard}: {message}", file=sys.stderr)
        return problems

    def stuck_requests(self) -> list[str]:
        """Liveness, which the step-by-step invariants cannot judge: at the end of a run every
        request has ended or been handed off, unless it moved recently. Each wait the concierge
        starts has its own end (30-minute idle close, 10-minute hard limit, OCR and send retries), so
        a request untouched for twice the idle window is stuck."""
        limit = 2 * self.world.config.caps.idle_close_s
        now = self.world.clock.now()
        return [f"{r['id']} stuck in {r['state']} for {int(now - r['updated_at'])} s"
                for r in self.world.ledger.db.execute(
                    "SELECT id, state, updated_at FROM requests WHERE state NOT IN ('closed','error','handed_off')"
                    " ORDER BY seq")
                if now - r["updated_at"] > limit]

    def _trim(self) -> None:
        """Observation buffers the simulator does not read; the ledger keeps the record. With
        ``invariants`` the fake's delivery log and the log records stay: the checks read them."""
        self.world.delivered.clear()
        self.world.whatsapp.requests.clear()
        if not self.config.invariants:
            self.world.whatsapp.sent.clear()
            self.world.logs.records.clear()


def run_shard(config: RunConfig, shard: int,
              progress: Callable[[float], None] | None = None) -> tuple[dict, dict[str, list[dict]]]:
    """A shard's tally (as JSON) and its samples for the run and review pages."""
    run = ShardRun(config, shard)
    return run.run(progress).to_json(), run.samples


def simulate(config: RunConfig, workers: int = 1, bar: ProgressLine | None = None,
             samples: list[dict] | None = None) -> tuple[Tally, list[dict]]:
    """Run every shard (in this process, or with ``workers`` > 1 on a local Dask cluster of that
    many processes: ``engine.py``) and merge their tallies in shard order; each shard's samples are
    appended to ``samples`` when it is given."""
    shards = list(range(config.shards))
    bar = bar or ProgressLine(len(shards))
    meter = RunMeter()
    partials: list[dict] = []
    kept: list[dict] = []
    if workers <= 1:
        finished = 0  # requests of the shards already done
        for s in shards:
            run = ShardRun(config, s)

            def show(f: float, s: int = s, run: ShardRun = run, before: int = finished) -> None:
                speed = meter.label((s + f) / len(shards), before + run.arrived())
                bar.fill(s + f, f"shard {s + 1}/{len(shards)} {speed}")

            partials.append(run.run(show).to_json())
            kept.append(run.samples)
            finished += len(run.planned)
    else:
        from .engine import Engine, Job

        progress = {"shards": 0, "requests": 0}  # of the shards done so far, in the order they finish

        def done(_shard: int, result: tuple[dict, dict]) -> None:
            part = Tally.from_json(result[0])
            progress["shards"] += 1
            progress["requests"] += int(part.get("requests", 0)) + int(part.get("coded_requests", 0))
            n = progress["shards"]
            bar.fill(n, f"{n}/{len(shards)} shards {meter.label(n / len(shards), progress['requests'])}")

        with Engine(workers=workers) as engine:
            results = engine.run([Job(s, run_shard, config, s) for s in shards], done)
        for s in shards:  # merged in shard order, whatever order they finished in
            partials.append(results[s][0])
            kept.append(results[s][1])
    bar.close()
    if samples is not None:
        samples.extend(kept)
    return merge(Tally.from_json(p) for p in partials), partials


def write_run(out: Path, config: RunConfig, tally: Tally, partials: list[dict],
              prices_path: str | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    prices = load_prices(prices_path)
    metrics = finalize(tally, prices)
    (out / "metrics.json").write_text(dumps(metrics))
    (out / "tally.json").write_text(dumps({"merged": tally.to_json(), "shards": partials}))
    return metrics


def run_description(config: RunConfig, prices_path: str | None = None) -> dict[str, Any]:
    """What the run was: configuration, flags, caps and prices; kept in the run's manifest."""
    settings = config.settings()
    return {
        "config": {**asdict(config), "params": asdict(config.params)},
        "profile": settings.name, "flags": settings.flags.describe(),
        "caps": asdict(settings.caps), "max_pilot_users": settings.max_pilot_users,
        "prices": load_prices(prices_path),
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="concierge-sim simulate", description=__doc__.splitlines()[0])
    return add_simulate_arguments(p)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    params = WorldParams()
    if args.params:
        try:
            overrides = yaml.safe_load(Path(args.params).read_text("utf-8"))
            params = WorldParams.with_overrides({} if overrides is None else overrides)
        except (yaml.YAMLError, ValueError) as exc:
            raise ValueError(f"{args.params}: {exc}") from None
    shards = args.shards or 1
    return RunConfig(clients=args.clients, vendors=args.vendors, hours=args.hours, seed=args.seed,
                     profile=args.profile, env_file=args.env_file, params=params, shards=shards,
                     ocr=args.ocr, invariants=args.invariants, brain=spec_from_args(args),
                     ledger=args.ledger, review=args.review_shortlists)


def main(argv: list[str] | None = None) -> int:
    args = parsed(_parser(), argv)
    return args if isinstance(args, int) else run_from_args(args)


def size_problem(clients: int, vendors: int, hours: float, shards: int | None, workers: int = 1) -> str | None:
    """What is wrong with a run's sizes (``simulate``'s options, a sweep point's), or None."""
    if clients < 1 or vendors < 1 or hours <= 0 or workers < 1:
        return "--clients, --vendors, --workers must be >= 1 and --hours > 0"
    if shards is not None and not 1 <= shards <= min(clients, vendors):
        return (f"--shards must be between 1 and min(--clients, --vendors) = {min(clients, vendors)}, "
                f"got {shards}")
    return None


def harness_error(out: OutputSet, command: str, folder: str, exc: Exception, again: str) -> int:
    """A run that broke (a bug in the concierge or the simulator): its traceback kept as error.txt in
    a set that says it is not complete, one line for the user, exit 3."""
    import traceback

    out.write_text("error.txt", traceback.format_exc())
    out.commit(complete=False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    print(f"{command}: harness error, {type(exc).__name__}: {str(exc)[:300]} "
          f"(traceback in {Path(folder) / 'error.txt'}; {again})", file=sys.stderr)
    return 3


def run_from_args(args: argparse.Namespace) -> int:
    problem = size_problem(args.clients, args.vendors, args.hours, args.shards, args.workers)
    if problem:
        print(f"simulate: {problem}", file=sys.stderr)
        return 2
    if args.workers > (args.shards or 1):
        print(f"simulate: note: {args.workers} workers but {args.shards or 1} shard(s); a shard is one "
              "process's work (--shards K splits the market into K sub-markets)", file=sys.stderr)
    try:
        config = config_from_args(args)
        config.settings()
        load_prices(args.prices)  # a broken price table is found now, not after the run
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    # The brain's cassette may live in the run folder (its default place): an input the set keeps.
    found: list[dict] = []
    with OutputSet(args.out, seed=config.seed, carry=("brain-cassette.*.jsonl",)) as out:
        try:
            tally, partials = simulate(config, args.workers, samples=found)
        except Exception as exc:  # a bug in the concierge or the simulator: say so, keep the details
            return harness_error(out, "simulate", args.out, exc, "same seed, same failure")
        metrics = write_run(out.staging, config, tally, partials, args.prices)
        note = ai_path_note(metrics, config.settings().flags.describe(), config.clients)
        if not args.no_plots:
            from .plots import plot_in_child

            plot_in_child(out.staging, args.out, note)
        from simulators.html.rollout_page import write_run_pages

        write_run_pages(out.staging, config, metrics, found, shown_as=args.out)  # samples.json, run.html, review.html
        out.commit(**run_description(config, args.prices))
    if note:
        print(f"simulate: warning: {note}", file=sys.stderr)
    out = Path(args.out)
    p95 = metrics["time_to_shortlist_p95_s"]
    p95_text = f"{p95} s" if p95 is not None else ("never" if metrics["time_to_shortlist_never"] else "-")
    error_rate = "-" if metrics["error_rate"] is None else metrics["error_rate"]
    print(f"{metrics['requests_total']} requests ({metrics['requests']} on the AI path), "
          f"error rate {error_rate}, p95 {p95_text}, "
          f"cost/request {'-' if metrics['cost_per_request'] is None else metrics['cost_per_request']} USD "
          f"-> {out}/metrics.json")
    return 0
