"""Webhook delivery as Meta does it: POST the signed bytes, and redeliver them on failure.

A delivery succeeds on any 2xx answer. A non-2xx answer, a timeout or a refused connection is
retried after each wait of the retry schedule in turn, with the same bytes (so the same wamid and
the same signature) every time; when the schedule is spent the webhook is given up. Deliveries to
one phone go one at a time in the order they were made (a later webhook waits behind a retrying
one); different phones are delivered in parallel, at most ``concurrency`` at once.

Delivery faults change what happens next: ``delay`` holds a webhook back for some seconds before
its first attempt, ``duplicate`` delivers it once more after it succeeded (Meta does deliver some
webhooks twice).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..whatsapp import SignedWebhook

WEBHOOK_FAULT_KINDS = ("delay", "duplicate")
APPLIES_TO = ("messages", "statuses", "all")


@dataclass
class WebhookFault:
    kind: str
    remaining: int
    seconds: float = 0.0
    applies_to: str = "messages"

    def to_json(self) -> dict[str, Any]:
        return {"target": "webhook", "kind": self.kind, "times": self.remaining,
                "seconds": self.seconds, "applies_to": self.applies_to}


@dataclass
class Delivery:
    """One webhook on its way to the subscriber, with every attempt made so far."""

    number: int
    hook: SignedWebhook
    kind: str  # "message" or "status:<sent|delivered|read|failed>"
    phone: str
    queued_at: float
    delay_s: float = 0.0
    duplicates: int = 0
    state: str = "queued"  # queued | delivered | retrying | given_up
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "wamid": self.hook.wamid, "kind": self.kind, "state": self.state,
                "queued_at": self.queued_at, "delivered_at": self.delivered_at, "attempts": self.attempts}


class Deliveries:
    def __init__(
        self, *, webhook_url: str | None, retry_schedule: tuple[float, ...], timeout_s: float,
        concurrency: int, now: Callable[[], float] = time.time,
    ):
        self.webhook_url = webhook_url
        self.retry_schedule = retry_schedule
        self.timeout_s = timeout_s
        self.now = now
        self.all: list[Delivery] = []
        self.faults: deque[WebhookFault] = deque()
        self._subscribed = asyncio.Event()
        if webhook_url:
            self._subscribed.set()
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, deque[Delivery]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(timeout=self.timeout_s, limits=limits)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def subscribe(self, url: str) -> None:
        self.webhook_url = url
        self._subscribed.set()

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    @property
    def pending(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    async def until_idle(self, timeout: float) -> int:
        """Once no webhook is on its way (or after ``timeout`` seconds): the webhooks still pending.
        Waits on the phones' lane tasks, which end when their lane is empty, rather than polling."""
        deadline = time.monotonic() + timeout
        while self.pending and self._tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left, return_when=asyncio.FIRST_COMPLETED)
        return self.pending

    # --- submitting -------------------------------------------------------------------------------
    def submit(self, hook: SignedWebhook, *, kind: str, phone: str) -> Delivery:
        delivery = Delivery(len(self.all) + 1, hook, kind, phone, self.now())
        self._apply_fault(delivery)
        self.all.append(delivery)
        lane = self._lanes.get(phone)
        if lane is None:  # no lane task for this phone: start one, it ends when the lane is empty
            lane = self._lanes[phone] = deque()
            task = asyncio.get_running_loop().create_task(self._drain(phone, lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append(delivery)
        return delivery

    def inject(self, fault: WebhookFault) -> None:
        self.faults.append(fault)

    def _apply_fault(self, delivery: Delivery) -> None:
        if not self.faults:
            return
        fault = self.faults[0]
        is_status = delivery.kind.startswith("status:")
        if fault.applies_to != "all" and is_status != (fault.applies_to == "statuses"):
            return
        if fault.kind == "delay":
            delivery.delay_s += fault.seconds
        else:
            delivery.duplicates += 1
        fault.remaining -= 1
        if fault.remaining <= 0:
            self.faults.popleft()

    # --- delivering -------------------------------------------------------------------------------
    async def _drain(self, phone: str, lane: deque[Delivery]) -> None:
        try:
            while lane:
                await self._deliver(lane[0])
                lane.popleft()
        finally:
            if self._lanes.get(phone) is lane and not lane:
                del self._lanes[phone]

    async def _deliver(self, delivery: Delivery) -> None:
        await self._subscribed.wait()
        if delivery.delay_s:
            await asyncio.sleep(delivery.delay_s)
        waits = iter(self.retry_schedule)
        while not await self._attempt(delivery):
            wait = next(waits, None)
            if wait is None:
                delivery.state = "given_up"
                delivery.done.set()
                return
            delivery.state = "retrying"
            await asyncio.sleep(wait)
        delivery.state, delivery.delivered_at = "delivered", self.now()
        for _ in range(delivery.duplicates):
            await self._attempt(delivery, duplicate=True)
        delivery.done.set()

    async def _attempt(self, delivery: Delivery, *, duplicate: bool = False) -> bool:
        assert self._client is not None and self.webhook_url is not None
        record: dict[str, Any] = {"at": self.now()}
        if duplicate:
            record["duplicate"] = True
        async with self._slots:
            try:
                answer = await self._client.post(self.webhook_url, content=delivery.hook.body,
                                                 headers=delivery.hook.headers)
                record["status"] = answer.status_code
            except httpx.TimeoutException:
                record["error"] = "timeout"
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"[:200]
        delivery.attempts.append(record)
        return 200 <= record.get("status", 0) < 300


async def handshake(url: str, verify_token: str, *, wait_s: float = 0.0, timeout_s: float = 5.0) -> str | None:
    """Meta's subscription check against ``url``; None when it passed, else what went wrong.

    A refused connection is retried for ``wait_s`` seconds (the target may be starting at the same
    time); a wrong answer is final at once.
    """
    challenge = str(secrets.randbelow(10**9) + 10**9)  # Meta's challenges are plain integers
    params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    deadline = time.monotonic() + wait_s
    async with httpx.AsyncClient(timeout=timeout_s) as client:
        while True:
            try:
                answer = await client.get(url, params=params)
                break
            except httpx.TransportError as exc:
                if time.monotonic() >= deadline:
                    reason = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
                    waited = f" (retried for {wait_s:g} s)" if wait_s else ""
                    return f"no webhook target at {url}: {reason}{waited}"
                await asyncio.sleep(0.1)
    if answer.status_code != 200:
        return (f"the webhook target {url} refused the subscription handshake: HTTP {answer.status_code} "
                "(is --verify-token the target's verify token?)")
    if answer.text.strip() != challenge:
        return (f"the webhook target {url} answered the handshake with 200 but did not echo hub.challenge "
                f"(expected {challenge}, got {answer.text[:40]!r})")
    return None
