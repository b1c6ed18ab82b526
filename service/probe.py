"""The harness probe (``--probe``): the HTTP contract of docs/probe.openapi.yaml, version 1 (its
revision 1.1 added the capabilities ``ocr`` and ``seed``, revision 1.2 ``settle``).

A black-box harness (``concierge-sim run --target``) judges a concierge from the WhatsApp wire; a
concierge that also serves this probe can be judged in full. It lets the harness

- reset the concierge between scenarios, with the scenario's flags, caps, vendors and client
  profiles, and its clock at a given instant (``POST /probe/v1/reset``);
- hold and move the concierge's clock: time stands still until the harness sets it, and the timers
  due by then fire in order (``POST /probe/v1/clock``);
- see whether the concierge has finished what it was given (``GET /probe/v1/activity``);
- all three at once, in one round trip per step of a scenario (``POST /probe/v1/settle``): move the
  clock, wait until settled, and answer with only the ledger tables that changed since the
  harness's last look (it sends the digests it holds);
- read the ledger, table by table (``GET /probe/v1/ledger``): requests, state changes, outreach,
  shortlists, audit events, the rows expectations and invariants are judged on;
- script the brain's next outputs and faults (``POST /probe/v1/brain``);
- script the OCR engine's next readings and faults (``POST /probe/v1/ocr``), as a scenario's
  ``ocr_result:`` and ``fault: {target: ocr}`` do in-process;
- seed a request already under way (``POST /probe/v1/seed``), a scenario's ``initial_state:``,
  with the in-process runner's own seeding (``simulators.replay.seeding``).

It exists only when the service is started with ``--probe``, and every route answers 401 without
the ``X-Probe-Secret`` header equal to ``CONCIERGE_PROBE_SECRET``: a production service never
starts it, and nobody without the secret can move its clock or read its ledger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from concierge.flags import Flags
from concierge.policy import Caps
from concierge.ports import Vendor
from simulators.brains import RuleBrain, ScriptedBrain
from simulators.faults import OCR_FAULT_KINDS, FaultyOcr, ocr_faults_on
from simulators.replay.canned_ocr import CannedOcr, canned_ocr_on, canned_page
from simulators.replay.seeding import seed_concierge
from simulators.vendors import vendor_from_mapping

from .config import ServiceConfig
from .inbox import Inbox, inbox_path
from .wiring import concierge_builder
from .worker import IDLE_WAKE_S, Worker

PROBE_VERSION = 1
SECRET_ENV = "CONCIERGE_PROBE_SECRET"
SECRET_HEADER = "x-probe-secret"
CAPABILITIES = ("reset", "clock", "activity", "ledger", "brain", "ocr", "seed", "settle")
BRAIN_FAULTS = ("timeout", "exception", "non_json", "wrong_shape")
log = logging.getLogger("service.probe")


class ManualClock:
    """The service's time under the probe: it stands still until the harness sets it, so that a
    scenario's ``advance:`` moves the concierge's time exactly, never the wall clock."""

    def __init__(self, now: float):
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = now

    def wall_seconds_until(self, due: float) -> float:
        # Nothing comes due by waiting: only a set() does (and it wakes the writer).
        return 0.0 if due <= self.now() else IDLE_WAKE_S


class ClientProfiles:
    """``concierge.ports.ClientProfiles`` from the reset's client list."""

    def __init__(self, profiles: dict[str, tuple[str | None, str | None]]):
        self.profiles = profiles

    def area_of(self, phone_e164: str) -> str | None:
        return self.profiles.get(phone_e164, (None, None))[0]

    def language_of(self, phone_e164: str) -> str | None:
        return self.profiles.get(phone_e164, (None, None))[1]


class ProbeInvalid(ValueError):
    """A probe request with a bad field; the message names it."""


def probe_secret(env: Any = os.environ) -> str:
    secret = (env.get(SECRET_ENV) or "").strip()
    if len(secret) < 16:
        from .config import ConfigError

        raise ConfigError(f"--probe needs {SECRET_ENV} set to a secret of at least 16 characters")
    return secret


def probe_routes(config: ServiceConfig, vendors: list[Vendor], clock: ManualClock, secret: str) -> list[Route]:
    """The probe's routes, each behind the secret."""

    def guarded(handler):
        async def route(request: Request) -> Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return JSONResponse({"error": "probe secret missing or wrong"}, status_code=401)
            try:
                return await handler(request)
            except ProbeInvalid as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return route

    async def describe(_request: Request) -> Response:
        return JSONResponse({"probe": "concierge-harness-probe", "version": PROBE_VERSION,
                             "capabilities": list(CAPABILITIES)})

    # The last reset's seed (the OCR engine's garbage is drawn from it), kept across a restart.
    saved = Path(_saved_path(config.db_path))
    scenario = {"seed": json.loads(saved.read_text("utf-8")).get("seed", 0) if saved.exists() else 0}

    async def reset(request: Request) -> Response:
        body = await _body(request)
        now = _number(body, "now")
        _whole(body, "seed", 0)
        build = _scenario_builder(config, vendors, body)
        app = request.app
        await anyio.to_thread.run_sync(app.state.worker.stop)
        app.state.inbox.close()
        await anyio.to_thread.run_sync(_empty, config.db_path)
        clock.set(now)
        Path(_saved_path(config.db_path)).write_text(json.dumps(body), "utf-8")
        app.state.inbox = Inbox(inbox_path(config.db_path))
        worker = app.state.worker = Worker(build, inbox_path(config.db_path), clock, resume=False)
        worker.start()
        await anyio.to_thread.run_sync(worker.ready.wait, 30.0)
        if not worker.ready.is_set():
            return JSONResponse({"error": worker.failed or "the concierge did not start"}, status_code=500)
        scenario["seed"] = _whole(body, "seed", 0)
        log.info("probe: reset (clock at %s)", now)
        return JSONResponse(_activity(request))

    async def set_clock(request: Request) -> Response:
        _move_clock(request, _number(await _body(request), "now"))
        return JSONResponse(_activity(request))

    def _move_clock(request: Request, now: float) -> None:
        if now < clock.now():
            raise ProbeInvalid(f"now: {now} is before the concierge's time {clock.now()}; time only moves forward")
        clock.set(now)
        request.app.state.worker.wake()

    async def activity(request: Request) -> Response:
        raw = request.query_params.get("wait", "0")
        try:
            wait = float(raw)
        except ValueError:
            raise ProbeInvalid(f"wait: expected seconds, got {raw[:20]!r}") from None
        return JSONResponse(await _settled_within(request, wait))

    changes = LedgerChanges(config.db_path)

    async def settle(request: Request) -> Response:
        body = await _body(request)
        wait = body.get("wait", 60.0)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)):
            raise ProbeInvalid("wait: expected seconds, 0 to 60")
        known = body.get("ledger")
        if known is not None and (not isinstance(known, dict) or not all(isinstance(v, str) for v in known.values())):
            raise ProbeInvalid("ledger: expected an object, table name to the digest last answered")
        if "now" in body:
            _move_clock(request, _number(body, "now"))
        state = await _settled_within(request, float(wait))
        if known is not None:
            state["ledger"] = await anyio.to_thread.run_sync(changes.changed, known)
        return JSONResponse(state)

    async def _settled_within(request: Request, wait: float) -> dict[str, Any]:
        """The activity once settled, or after ``wait`` seconds (at most 60): one request, not a poll loop."""
        deadline = time.monotonic() + min(max(wait, 0.0), 60.0)
        state = _activity(request)
        while not state["settled"] and (left := deadline - time.monotonic()) > 0:
            worker = request.app.state.worker
            if worker.busy:  # at work: woken when it goes idle, not by polling (which takes its GIL)
                await anyio.to_thread.run_sync(worker.idle.wait, min(left, 0.5))
            else:  # about to wake (a webhook stored, the clock moved) or stopped: look again shortly
                await anyio.sleep(0.002)
            state = _activity(request)
        return state

    async def ledger(_request: Request) -> Response:
        return JSONResponse({"tables": await anyio.to_thread.run_sync(_dump, config.db_path)})

    async def brain(request: Request) -> Response:
        body = await _body(request)
        scripted = request.app.state.worker.brain
        if not isinstance(scripted, ScriptedBrain):
            raise ProbeInvalid("the brain cannot be scripted before a reset")
        if "next" in body:
            scripted.push(body["next"])
        elif "fault" in body:
            kind, times = body["fault"], body.get("times", 1)
            if kind not in BRAIN_FAULTS:
                raise ProbeInvalid(f"fault: expected one of {', '.join(BRAIN_FAULTS)}, got {kind!r}")
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise ProbeInvalid("times: expected a whole number >= 1")
            scripted.fail_next(kind, times)
        else:
            raise ProbeInvalid("expected {\"next\": <brain output>} or {\"fault\": kind, \"times\": n}")
        return JSONResponse({"outputs_pending": len(scripted.pending("output")),
                             "faults_pending": len(scripted.pending("fault"))})

    async def ocr(request: Request) -> Response:
        body = await _body(request)
        if "reading" in body:
            spec = body["reading"]
            if not isinstance(spec, dict) or not isinstance(spec.get("text", spec.get("lines")), (str, list)):
                raise ProbeInvalid("reading: expected an object with text (a string) or lines (a list)")
            try:
                page = canned_page(spec)
            except (TypeError, ValueError, AttributeError) as exc:
                raise ProbeInvalid(f"reading: {type(exc).__name__}: {exc}") from None
            script = lambda c: canned_ocr_on(c.ports).queue.append(page)  # noqa: E731
        elif "fault" in body:
            kind, times = body["fault"], _whole(body, "times", 1)
            if kind not in OCR_FAULT_KINDS:
                raise ProbeInvalid(f"fault: expected one of {', '.join(OCR_FAULT_KINDS)}, got {kind!r}")
            if times < 1:
                raise ProbeInvalid("times: expected a whole number >= 1")
            script = lambda c: ocr_faults_on(c.ports, scenario["seed"]).inject(kind, times)  # noqa: E731
        else:
            raise ProbeInvalid("expected {\"reading\": <canned reading>} or {\"fault\": kind, \"times\": n}")
        pending = await anyio.to_thread.run_sync(request.app.state.worker.call,
                                                 lambda c: (script(c), _ocr_pending(c.ports.ocr))[1])
        return JSONResponse(pending)

    async def seed(request: Request) -> Response:
        body = await _body(request)
        state, client, vendor_phones = body.get("initial_state"), body.get("client"), body.get("vendors") or {}
        if not isinstance(state, dict):
            raise ProbeInvalid("initial_state: expected an object (a scenario's initial_state:)")
        if not isinstance(client, dict) or not isinstance(client.get("phone"), str):
            raise ProbeInvalid("client: expected {\"phone\": ..., \"language\": ...}")
        if not isinstance(vendor_phones, dict):
            raise ProbeInvalid("vendors: expected an object, vendor id to phone")
        seeding = lambda c: seed_concierge(c, state, client["phone"], client.get("language"),  # noqa: E731
                                           vendor_phones, clock.now())
        try:
            problems = await anyio.to_thread.run_sync(request.app.state.worker.call, seeding)
        except (KeyError, TypeError, ValueError, LookupError) as exc:
            raise ProbeInvalid(f"initial_state: cannot be seeded: {type(exc).__name__}: {exc}") from None
        log.info("probe: seeded a request (%d problems)", len(problems))
        return JSONResponse({"problems": problems, **_activity(request)})

    def _activity(request: Request) -> dict[str, Any]:
        worker = request.app.state.worker
        inbox, due, now = len(request.app.state.inbox), worker.scheduler.next_due(), clock.now()
        settled = inbox == 0 and not worker.busy and (due is None or due > now) and worker.is_alive()
        return {"now": now, "next_due": due, "inbox": inbox, "busy": worker.busy, "settled": settled}

    base = "/probe/v1"
    return [
        Route(base, guarded(describe), methods=["GET"]),
        Route(f"{base}/reset", guarded(reset), methods=["POST"]),
        Route(f"{base}/clock", guarded(set_clock), methods=["POST"]),
        Route(f"{base}/activity", guarded(activity), methods=["GET"]),
        Route(f"{base}/ledger", guarded(ledger), methods=["GET"]),
        Route(f"{base}/brain", guarded(brain), methods=["POST"]),
        Route(f"{base}/ocr", guarded(ocr), methods=["POST"]),
        Route(f"{base}/seed", guarded(seed), methods=["POST"]),
        Route(f"{base}/settle", guarded(settle), methods=["POST"]),
    ]


def _ocr_pending(engine: Any) -> dict[str, int]:
    """The canned readings and faults still queued in front of the engine (wrappers in any order)."""
    readings = faults = 0
    while isinstance(engine, (CannedOcr, FaultyOcr)):
        if isinstance(engine, CannedOcr):
            readings += len(engine.queue)
        else:
            faults += len(engine.faults)
        engine = engine.inner
    return {"readings_pending": readings, "faults_pending": faults}


def _saved_path(db_path: str) -> str:
    return f"{db_path}.probe.json"


def start_of(config: ServiceConfig, vendors: list[Vendor], env: Any = os.environ):
    """A probe-enabled service (re)started on its files: the clock at ``CONCIERGE_PROBE_NOW`` (the
    harness's time when it restarts the target), else the wall's; and the concierge as the last
    reset set it up (flags, caps, vendors, clients), saved next to the ledger. (clock, builder or None)"""
    raw = (env.get("CONCIERGE_PROBE_NOW") or "").strip()
    clock = ManualClock(float(raw) if raw else time.time())
    saved = Path(_saved_path(config.db_path))
    build = _scenario_builder(config, vendors, json.loads(saved.read_text("utf-8"))) if saved.exists() else None
    return clock, build


def _scenario_builder(config: ServiceConfig, vendors: list[Vendor], body: dict[str, Any]):
    flags = body.get("flags") or {}
    caps = body.get("caps") or {}
    if not isinstance(flags, dict) or not isinstance(caps, dict):
        raise ProbeInvalid("flags and caps: expected objects")
    unknown = sorted(set(caps) - set(Caps.names()))
    if unknown:
        raise ProbeInvalid(f"caps: unknown cap {unknown[0]!r}")
    raw_vendors = body.get("vendors")
    try:
        chosen = vendors if raw_vendors is None else [vendor_from_mapping(v) for v in raw_vendors]
        profiles = {str(c["phone"]): (c.get("area"), c.get("language")) for c in body.get("clients") or []}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProbeInvalid(f"vendors/clients: {type(exc).__name__}: {exc}") from None
    scenario_config = replace(config, flags=Flags.from_mapping({k: str(v) for k, v in flags.items()}))
    return concierge_builder(
        scenario_config, chosen, caps=Caps().with_overrides(caps), clients=ClientProfiles(profiles),
        brain=lambda ledger: ScriptedBrain(RuleBrain(), journal=ledger.journal_connection()),
    )


def _empty(db_path: str) -> None:
    """Every row of the ledger and the inbox gone, in one transaction each, unsynced: a fresh file
    would cost one fsync per table created, and a reset happens before every scenario."""
    for path in (db_path, inbox_path(db_path)):
        if not Path(path).exists():
            continue
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=OFF")  # a reset cut short by a crash is simply made again
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            db.execute("BEGIN IMMEDIATE")
            for name in names:
                db.execute(f'DELETE FROM "{name}"')
            db.execute("COMMIT")
        finally:
            db.close()


def _dump(db_path: str) -> dict[str, list[dict[str, Any]]]:
    """Every ledger table as rows (a read-only connection: the writer is never blocked)."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return _tables(db)
    finally:
        db.close()


def _tables(db: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    db.row_factory = sqlite3.Row
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: [{k: _jsonable(row[k]) for k in row.keys()} for row in db.execute(f'SELECT * FROM "{name}"')]
            for name in names}


class LedgerChanges:
    """The ``settle``'s ledger answer: every table's digest now, and the rows of those whose digest
    is not the one the harness holds. One read-only connection kept open, so that SQLite's
    ``data_version`` tells when no other connection committed since the last answer: then, if the
    harness holds that answer's digests, nothing is read (a settle after which only the clock moved,
    or a second settle round, is most of a black-box run's settles)."""

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.reads = 0  # full reads of the tables (the tests see the shortcut taken)
        self._db: sqlite3.Connection | None = None
        self._last: tuple[int, dict[str, str]] | None = None
        self._lock = threading.Lock()  # answered on anyio's worker threads

    def changed(self, known: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False)
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if self._last is not None and self._last[0] == version and self._last[1] == known:
                return {"digests": known, "tables": {}}
            # Read after the version: a commit in between is in the rows and changes the version
            # seen next time, so the shortcut is never taken on rows older than the digests.
            tables = _tables(self._db)
            self.reads += 1
            digests = {name: hashlib.blake2b(json.dumps(rows).encode(), digest_size=16).hexdigest()
                       for name, rows in tables.items()}
            self._last = (version, digests)
            return {"digests": digests,
                    "tables": {n: rows for n, rows in tables.items() if known.get(n) != digests[n]}}


def _jsonable(value: Any) -> Any:
    return {"base64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


async def _body(request: Request) -> dict[str, Any]:
    try:
        value = json.loads(await request.body() or b"{}")
    except ValueError:
        raise ProbeInvalid("body: not JSON") from None
    if not isinstance(value, dict):
        raise ProbeInvalid("body: expected a JSON object")
    return value


def _whole(body: dict[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProbeInvalid(f"{key}: expected a whole number")
    return value


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProbeInvalid(f"{key}: expected a number (seconds since the epoch)")
    return float(value)
