"""SimWorld: the concierge wired to the fakes of every real service, on one virtual clock.

What a scenario step does to the world is what the real world would do: a client's message arrives
as a signed Cloud API webhook; a send goes out as a Graph API request through httpx to the fake;
the fake's status callbacks come back as webhooks; timers fire when the virtual clock passes them.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from concierge.desk import Settings
from concierge.engine import Concierge, WebhookResult
from concierge.flags import Flags
from concierge.ledger import Ledger
from concierge.phones import mask_phones_in
from concierge.policy import Caps
from concierge.ports import Timer, Vendor

from .adapters.call_provider import HttpCallProvider
from .adapters.wiring import build_concierge
from .brains import RuleBrain, ScriptedBrain
from .calling import CALLBACK_URL, FakeCallProvider
from .clock import VirtualClock
from .vendors import StaticDirectory
from .whatsapp import FakeWhatsAppCloud

PHONE_NUMBER_ID = "106540352242922"
ACCESS_TOKEN = "EAAG-sim-access-token"
APP_SECRET = "sim-app-secret"
CALL_SECRET = "sim-call-secret"
CALL_API_KEY = "sim-call-api-key"


class ProcessDied(BaseException):
    """The concierge's process died mid-work. Not an ``Exception``: nothing in the concierge may
    catch it, as nothing survives a real crash; the world then calls ``SimWorld.restart``."""


class CrashingTransport:
    """A transport inside which the concierge's process can die. ``plan(kind)`` decides for each
    send ("text" or "buttons"): None sends normally, "before" dies before Meta gets the message,
    "after" dies once Meta accepted it (the world has seen it; the concierge has not)."""

    def __init__(self, inner: Any, plan: Callable[[str], str | None]):
        self.inner, self.plan = inner, plan
        self.crashes = 0

    def _send(self, kind: str, send: Callable[[], Any]) -> Any:
        when = self.plan(kind)
        if when is None:
            return send()
        self.crashes += 1
        if when == "after":
            send()
        raise ProcessDied()

    def send_text(self, to: str, text: str, *, idempotency_key: str) -> Any:
        return self._send("text", lambda: self.inner.send_text(to, text, idempotency_key=idempotency_key))

    def send_buttons(self, to: str, text: str, buttons: Any, *, idempotency_key: str) -> Any:
        return self._send("buttons", lambda: self.inner.send_buttons(to, text, buttons,
                                                                     idempotency_key=idempotency_key))

    def download_media(self, media_id: str) -> bytes:
        return self.inner.download_media(media_id)


class ClockScheduler:
    """Implements ``concierge.ports.Scheduler`` on the virtual clock."""

    def __init__(self, clock: VirtualClock, world: SimWorld):
        self.clock = clock
        self.world = world
        self.generation = 0  # a restart kills the callbacks the dead process had asked for

    def schedule(self, timer: Timer) -> None:
        generation = self.generation

        def fire(now: float, t: Timer = timer) -> None:
            if generation == self.generation:
                self.world.fire(t, now)

        self.clock.call_at(timer.due, fire)


class LogCapture(logging.Handler):
    """Keeps every record the concierge logs during a run, for the clean-logs checks."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.records]


@dataclass
class Delivered:
    """A webhook the world delivered, kept so that it can be delivered again (``redeliver``)."""

    body: bytes
    headers: dict[str, str]
    wamid: str
    result: WebhookResult | None = None
    at: float = 0.0


class StaticClientProfiles:
    """Implements ``concierge.ports.ClientProfiles`` from the scenario's client list."""

    def __init__(self, profiles: dict[str, tuple[str | None, str | None]]):
        self.profiles = profiles  # phone -> (area, language)

    def area_of(self, phone_e164: str) -> str | None:
        return self.profiles.get(phone_e164, (None, None))[0]

    def language_of(self, phone_e164: str) -> str | None:
        return self.profiles.get(phone_e164, (None, None))[1]


@dataclass
class WorldConfig:
    vendors: list[Vendor]
    clients: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    flags: Flags = field(default_factory=Flags)
    caps: Caps = field(default_factory=Caps)
    seed: int = 0
    db_path: str = ":memory:"
    power_safe_ledger: bool = True  # False: a ledger file that need not survive a power cut
    scratch_ledger: bool = False  # True: a ledger file thrown away with the run (``Ledger(scratch=True)``)


class SimWorld:
    def __init__(self, config: WorldConfig, *, ocr: Any = None, calls: Any = None):
        self.config = config
        self.clock = VirtualClock()
        self.ledger = Ledger(config.db_path, power_safe=config.power_safe_ledger,
                             scratch=config.scratch_ledger)
        self.whatsapp = FakeWhatsAppCloud(
            phone_number_id=PHONE_NUMBER_ID, access_token=ACCESS_TOKEN, app_secret=APP_SECRET,
            seed=config.seed, now=self.clock.now,
        )
        self.http = self.whatsapp.direct_client()
        self.directory = StaticDirectory(config.vendors)
        self.brain = ScriptedBrain(RuleBrain(), journal=self.ledger.journal_connection())
        self.scheduler = ClockScheduler(self.clock, self)
        self._ocr = ocr
        if calls is None:
            calls = FakeCallProvider(secret=CALL_SECRET, api_key=CALL_API_KEY, now=self.clock.now,
                                     seed=config.seed)
        self.calls = calls
        # The fake is reached over HTTP like a real provider; a bare port object is used as given.
        self._calls_http = calls.client() if hasattr(calls, "client") else None
        call_port = (HttpCallProvider(self._calls_http, api_key=CALL_API_KEY, callback_url=CALLBACK_URL)
                     if self._calls_http else calls)
        if hasattr(calls, "on_callback"):
            calls.on_callback = self._pump
        self.concierge = build_concierge(
            self.ledger, self.http, phone_number_id=PHONE_NUMBER_ID, access_token=ACCESS_TOKEN,
            directory=self.directory, brain=self.brain, scheduler=self.scheduler,
            ocr=_LazyOcr(self) if ocr is None else ocr, calls=call_port,
            clients=StaticClientProfiles(config.clients),
            settings=Settings(flags=config.flags, caps=config.caps, app_secret=APP_SECRET,
                              call_secret=CALL_SECRET),
        )
        self.transport = self.concierge.ports.transport
        self.delivered: list[Delivered] = []
        # Webhooks the process died handling (no 200 reached Meta or the call provider), or never
        # got to: they are posted again after a restart (``retry_unanswered``), as the senders retry.
        self.unanswered: list[Callable[[], Any]] = []
        self.restarts = 0
        self._armed_crashes: deque[str] = deque()
        self.logs = LogCapture()
        self._logger = logging.getLogger("concierge")
        self._logger.addHandler(self.logs)
        self._logger.setLevel(logging.DEBUG)
        self._logger.propagate = False

    def close(self) -> None:
        self._logger.removeHandler(self.logs)
        self.http.close()
        if hasattr(self.brain.inner, "close"):  # an HTTP brain's connection pool
            self.brain.inner.close()
        if self._calls_http is not None:
            self._calls_http.close()
        self.ledger.close()

    # --- the outside world acts ---------------------------------------------------------------
    def fire(self, timer: Timer, now: float) -> None:
        self.concierge.on_timer(timer, now)
        self._pump()

    def deliver(self, body: bytes, headers: dict[str, str], wamid: str = "") -> Delivered:
        signature = headers.get("X-Hub-Signature-256")
        try:
            result = self.concierge.on_webhook(body, signature, self.clock.now())
        except ProcessDied:
            self.unanswered.append(lambda: self.deliver(body, headers, wamid))
            raise
        item = Delivered(body, headers, wamid, result, self.clock.now())
        self.delivered.append(item)
        self._pump()
        return item

    def restart(self) -> dict[str, int]:
        """The concierge's process dies and starts again. Its memory and the timers it had handed
        to the scheduler are gone; the ledger (the database), the fakes and the clock live on. The
        new process resumes from the ledger (``Concierge.resume``)."""
        self.ledger.abandon()  # the dead process's open transaction is rolled back
        self.brain.recover()  # and with it what that transaction took from the brain's script
        self.scheduler.generation += 1
        self.restarts += 1
        old = self.concierge
        self.concierge = Concierge(self.ledger, replace(old.ports, scheduler=self.scheduler), old.settings)
        outcome = self.concierge.resume(self.clock.now())
        self.clock.run_due()
        self._pump()
        return outcome

    def crash_in_next_sends(self, when: str, times: int = 1) -> None:
        """The concierge's process dies inside each of its next ``times`` sends (texts or buttons):
        ``before`` Meta gets the message, or ``after`` Meta accepted it."""
        if when not in ("before", "after") or times < 1:
            raise ValueError(f"crash when must be 'before' or 'after' and times >= 1, got {when!r}, {times}")
        self._armed_crashes.extend([when] * times)
        if not isinstance(self.concierge.ports.transport, CrashingTransport):  # a restart keeps it
            self.concierge.ports.transport = CrashingTransport(self.concierge.ports.transport,
                                                               lambda _kind: self._next_crash())

    def _next_crash(self) -> str | None:
        return self._armed_crashes.popleft() if self._armed_crashes else None

    def recover(self, max_attempts: int = 50) -> int:
        """After ``ProcessDied``: restart, and let Meta and the call provider post again what got no
        answer; the new process may die too (an armed crash is left), so try again. Returns how many
        processes were started; a concierge that keeps dying is a harness error, not a loop."""
        for attempt in range(1, max_attempts + 1):
            try:
                self.restart()
                self.retry_unanswered()
                return attempt
            except ProcessDied:
                continue
        raise RuntimeError(f"the concierge died {max_attempts} times in a row")

    def retry_unanswered(self) -> None:
        """Meta and the call provider post again what got no answer because the process died."""
        while self.unanswered:
            self.unanswered.pop(0)()
        self._pump()

    def call_status(self, body: bytes, signature: str | None) -> str:
        """The call provider POSTs a signed status callback to the concierge."""
        outcome = self.concierge.on_call_status(body, signature, self.clock.now())
        self._pump()
        return outcome

    def message_from(self, phone: str, **kwargs: Any) -> Delivered:
        hook = self.whatsapp.message_webhook(phone, **kwargs)
        return self.deliver(hook.body, hook.headers, hook.wamid)

    def redeliver(self, item: Delivered) -> Delivered:
        return self.deliver(item.body, item.headers, item.wamid)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._pump()

    def _pump(self) -> None:
        """Deliver Meta's and the call provider's callbacks, until the world is quiet."""
        for _ in range(1000):
            hooks = self.whatsapp.drain_status_webhooks()
            call_hooks = self.calls.drain_callbacks() if hasattr(self.calls, "drain_callbacks") else []
            if not hooks and not call_hooks:
                break
            posts = [self._status_post(hook) for hook in hooks] + [self._call_post(c) for c in call_hooks]
            for n, post in enumerate(posts):
                try:
                    post()
                except ProcessDied:  # this one got no answer, the rest were never posted
                    self.unanswered.extend(posts[n:])
                    raise
            self.clock.run_due()

    def _status_post(self, hook: Any) -> Callable[[], Any]:
        signature = hook.headers.get("X-Hub-Signature-256")
        return lambda: self.concierge.on_webhook(hook.body, signature, self.clock.now())

    def _call_post(self, hook: Any) -> Callable[[], Any]:
        return lambda: self.concierge.on_call_status(hook.body, hook.signature, self.clock.now())

    # --- observations -------------------------------------------------------------------------
    def masked_log_lines(self) -> list[str]:
        return self.logs.lines()

    def unmasked_phone_lines(self) -> list[str]:
        return [line for line in self.logs.lines() if mask_phones_in(line) != line]


class _LazyOcr:
    """Starts the real OCR stage (Tesseract, RapidOCR as its second reading of receipts) only when a
    scenario actually sends an image."""

    def __init__(self, world: SimWorld):
        self.world = world
        self.engine: Any = None

    def read(self, image: bytes):
        if self.engine is None:
            from .ocr_stage import OcrStage

            self.engine = OcrStage()
        return self.engine.read(image)
