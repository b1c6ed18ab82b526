"""The one writer: a thread that owns the ledger and drives the concierge.

Everything that changes the ledger happens here, one unit of work at a time: webhooks from the
durable inbox, in the order they arrived, and timers when the service clock reaches them. The HTTP
side only verifies and stores. Stopping (SIGTERM) lets the unit in hand finish; what is still in
the inbox or armed in the ledger is picked up by the next start (``Concierge.resume``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from concierge.engine import Concierge
from concierge.ports import Timer

from .clock import ServiceClock
from .inbox import Inbox

log = logging.getLogger("service.worker")
IDLE_WAKE_S = 1.0  # the longest sleep: also how soon a stop request is seen when nothing happens


class WallScheduler:
    """Implements ``concierge.ports.Scheduler``: a heap of timers fired by the worker's loop.
    Touched only from the worker thread (the concierge schedules while the worker runs it)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()

    def schedule(self, timer: Timer) -> None:
        heapq.heappush(self._heap, (timer.due, next(self._order), timer))

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Timer | None:
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)[2]
        return None

    def __len__(self) -> int:
        return len(self._heap)


class Worker(threading.Thread):
    def __init__(self, build: Callable[[WallScheduler], Concierge], inbox_path: str,
                 clock: ServiceClock, *, resume: bool = True):
        super().__init__(name="concierge-writer", daemon=True)
        self._build = build
        self._inbox_path = inbox_path
        self._resume = resume  # False: a ledger the probe just emptied has nothing to resume
        self.clock = clock
        self.scheduler = WallScheduler()
        self.ready = threading.Event()
        self.failed: str | None = None
        self._wake = threading.Event()
        self._stopping = False
        self.handled = 0
        self.busy = True  # False only while it waits with nothing to do (the harness probe's "settled")
        self.idle = threading.Event()  # set while busy is False: the probe waits on it rather than polling
        self.brain: object = None  # the concierge's brain, once built (the probe scripts it)
        self._jobs: queue.SimpleQueue[tuple[Callable[[Concierge], Any], Future]] = queue.SimpleQueue()

    # --- called from other threads -------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def call(self, work: Callable[[Concierge], Any], timeout: float = 30.0) -> Any:
        """``work(concierge)`` run on this thread between two units of work (the harness probe's
        OCR script and seeding: the ledger's connection and the ports belong to the writer); its
        result, or its exception raised here."""
        done: Future = Future()
        self._jobs.put((work, done))
        self._wake.set()
        return done.result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping = True
        self._wake.set()
        self.join(timeout)

    # --- the thread ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            concierge = self._build(self.scheduler)  # SQLite connections belong to their thread
            self.brain = concierge.ports.brain
            inbox = Inbox(self._inbox_path)
        except Exception as exc:  # a file that cannot be opened: readiness tells, the log says why
            self.failed = f"{type(exc).__name__}: {exc}"
            log.error("concierge could not start: %s", self.failed)
            return
        try:
            if self._resume:
                outcome = concierge.resume(self.clock.now())
                log.info("resumed from the ledger: %s, %d webhooks waiting in the inbox", outcome, len(inbox))
            self.ready.set()
            while True:
                self._wake.clear()
                self.idle.clear()
                self.busy = True
                self._run_jobs(concierge)
                self._handle_inbox(concierge, inbox)
                self._fire_due(concierge)
                if self._stopping:
                    break
                due = self.scheduler.next_due()
                wait = IDLE_WAKE_S if due is None else min(IDLE_WAKE_S, self.clock.wall_seconds_until(due))
                if wait > 0:
                    self.busy = self._wake.is_set()
                    if not self.busy:
                        self.idle.set()
                    self._wake.wait(wait)
        finally:
            inbox.close()
            concierge.ledger.close()
            log.info("writer stopped after %d units of work", self.handled)

    def _run_jobs(self, concierge: Concierge) -> None:
        while True:
            try:
                work, done = self._jobs.get_nowait()
            except queue.Empty:
                return
            try:
                done.set_result(work(concierge))
            except Exception as exc:  # handed to the caller, which answers for it
                done.set_exception(exc)

    def _handle_inbox(self, concierge: Concierge, inbox: Inbox) -> None:
        while not self._stopping:
            rows = inbox.oldest()
            if not rows:
                return
            for seq, body, signature in rows:
                self._unit(f"webhook {seq}", lambda b=body, s=signature: concierge.on_webhook(b, s, self.clock.now()))
                inbox.done(seq)
                self._fire_due(concierge)  # a timer due now must not wait behind a long inbox
                if self._stopping:
                    return

    def _fire_due(self, concierge: Concierge) -> None:
        while not self._stopping:
            now = self.clock.now()
            timer = self.scheduler.pop_due(now)
            if timer is None:
                return
            self._unit(f"timer {timer.name}", lambda t=timer, n=now: concierge.on_timer(t, n))

    def _unit(self, what: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # a bug in one handling must not stop the service for everyone
            log.error("%s failed: %s: %s", what, type(exc).__name__, str(exc)[:300])
        self.handled += 1
