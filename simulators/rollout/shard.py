"""One shard of a population run: its world (the real concierge with its ledger and the fakes),
the clients and vendors in it, how they react to what the concierge sends, and the run on the
virtual clock until the last request has had time to end.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from concierge.calling import NO_BUTTON, YES_BUTTON
from concierge.lifecycle import ENDED_STATES, RequestState
from simulators.ledger_files import ledger_path
from simulators.run_folder import SCRATCH_LEDGER, RunFolder, sweep_stale
from simulators.world import CALL_SECRET, CrashingTransport, ProcessDied, SimWorld, WorldConfig

from . import liveness
from .behaviour import (
    MoltbotSim,
    ObservingTransport,
    SimCallProvider,
    crash_plan,
    lognormal_s,
    vendor_reply,
)
from .brain_source import inner_brain
from .collect import collect
from .metrics import Tally
from .ocr_model import CalibratedOcr, encode_spec
from .population import (
    PLACES,
    PlannedRequest,
    Population,
    build_population,
    typical_price,
)
from .run_config import RunConfig, shard_seed

DRAIN_S = 30 * 60  # after the last arrival: hard limit (10 min) + follow-up window + client answers
CHUNK_S = 15 * 60  # virtual time between progress updates
# Virtual time between buffer trims: the buffers fill with the market's traffic (KBs a request); in
# a 100,000-request market, RSS rose by ~230 MB over the first 15 minutes, mostly these buffers.
TRIM_S = 60
CANCEL_WORD = {"en": "cancel", "fr": "annuler", "rw": "hagarika"}
CLIENT_ANSWERS = ("question", "widen_search", "ocr_failed", "ocr_off", "ocr_budget")


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
        # so its ledger need not survive a power cut, and the scratch one not even its process
        # (docs/rollout-simulator.md, "Memory"). A shard killed by SIGKILL cannot remove its scratch
        # folder (1.3 GB for 100,000 requests): each new shard first removes those of dead shards.
        if not config.ledger:
            sweep_stale(SCRATCH_LEDGER)
        self._scratch = None if config.ledger else RunFolder(SCRATCH_LEDGER)
        folder = config.ledger or str(self._scratch.path)  # type: ignore[union-attr]
        world = SimWorld(
            WorldConfig(vendors=[v.vendor for v in mine],
                        clients={c.phone: (c.area, c.language) for c in self.clients.values()},
                        flags=self.settings.flags, caps=self.settings.caps, seed=seed,
                        db_path=ledger_path(folder, f"shard-{shard}"), power_safe_ledger=False,
                        scratch_ledger=self._scratch is not None),
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
        if row is None or RequestState(row.state) in ENDED_STATES:
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
        # The arrivals wait outside the clock's heap until their step (100,000 closures up front
        # were ~25 MB); their sequence numbers are taken now, so they fire in the same order.
        first = clock.reserve(len(self.planned))
        upcoming = iter(enumerate(self.planned))
        waiting = next(upcoming, None)
        end = self.config.hours * 3600 + DRAIN_S
        while clock.elapsed() < end:
            chunk_end = min(clock.elapsed() + CHUNK_S, end)
            while clock.elapsed() < chunk_end:
                # Advancing in steps fires the same events in the same order as one advance (the
                # clock orders them by due time, then by scheduling), and the world is quiet
                # between any two events, so a trim between steps changes nothing the run does.
                step_end = min(clock.elapsed() + TRIM_S, chunk_end)
                while waiting is not None and waiting[1].at_s <= step_end:
                    i, planned = waiting
                    clock.call_at(clock.start + planned.at_s, lambda _now, p=planned: self._arrive(p), seq=first + i)
                    waiting = next(upcoming, None)
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

    def requests_opened(self) -> int:
        """Requests the concierge has opened in this shard so far (the progress line's count and
        rate): every one an arrival opened is bound to its planned need; a need that arrived while
        its client was still being served opened none."""
        return len(self.by_request)

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
            self._scratch.remove()
        return self.tally

    def check_invariants(self) -> list[tuple[str, str]]:
        """The scenario runner's invariants and liveness over this shard (``liveness.py``)."""
        self.invariant_problems = liveness.check_invariants(self.world, self.clients.values(),
                                                            self.stuck_requests(), self.tally, self.shard)
        return self.invariant_problems

    def stuck_requests(self) -> list[str]:
        return liveness.stuck_requests(self.world)

    def _trim(self) -> None:
        """Observation buffers the simulator does not read; the ledger keeps the record. With
        ``invariants`` the fake's delivery log and the log records stay: the checks read them."""
        self.world.delivered.clear()
        self.world.whatsapp.requests.clear()
        self.world.whatsapp.forget_received()  # the concierge never marks messages as read
        if not self.config.invariants:
            self.world.whatsapp.sent.clear()
            self.world.logs.records.clear()


def run_shard(config: RunConfig, shard: int,
              progress: Callable[[float], None] | None = None) -> tuple[dict, dict[str, list[dict]]]:
    """A shard's tally (as JSON) and its samples for the run and review pages."""
    run = ShardRun(config, shard)
    return run.run(progress).to_json(), run.samples
