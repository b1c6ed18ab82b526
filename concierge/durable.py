"""Surviving a restart: every timer is written to the ledger before it is handed to the scheduler,
and a restarted concierge re-arms what had not fired and retries sends a crash left pending.

The scheduler port only knows "call me back at T"; the process that asked may die before T. The
ledger is the one thing that survives, so it holds the timers too. Each timer carries its ledger
sequence number, and fires at most once however many copies of it were scheduled.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from .call_triggers import resume_pending_calls
from .lifecycle import ENDED_STATES, RequestState
from .ports import Scheduler, Timer

if TYPE_CHECKING:  # pragma: no cover
    from .desk import RequestDesk
    from .ledger import Ledger
    from .outreach_flow import OutreachFlow

SEQ = "timer_seq"  # payload key of a durable timer's ledger row


class DurableScheduler:
    """Implements ``Scheduler``: records the timer in the ledger, then schedules it."""

    def __init__(self, ledger: Ledger, inner: Scheduler):
        self.ledger = ledger
        self.inner = inner

    def schedule(self, timer: Timer) -> None:
        payload = {k: v for k, v in timer.payload.items() if k != SEQ}
        seq = self.ledger.arm_timer(timer.name, timer.request_id, timer.due, payload)
        self.inner.schedule(replace(timer, payload={**payload, SEQ: seq}))


def claim(ledger: Ledger, timer: Timer) -> bool:
    """Whether this copy of the timer may run (it is the first to fire)."""
    seq = timer.payload.get(SEQ)
    return seq is None or ledger.fire_timer(int(seq))


def resume(c: RequestDesk, outreach: OutreachFlow, now: float) -> dict[str, int]:
    """After a restart: re-arm every timer that had not fired (those already due fire at once), and
    give every send a crash left ``pending`` without a retry timer a retry under its own key, after
    ``caps.resume_grace_s``.

    The grace is for a crash after Meta accepted the message: Meta's status webhook for the key then
    usually comes first, marks the row sent, and the retry does nothing. A webhook later than that
    makes the retry at-least-once (the recipient may get the message twice). A message with reply
    buttons is retried with them (the outbound row keeps them).
    """
    inner = c.ports.scheduler.inner if isinstance(c.ports.scheduler, DurableScheduler) else c.ports.scheduler
    armed = c.ledger.armed_timers()
    retrying = set()
    for seq, name, request_id, due, payload in armed:
        inner.schedule(Timer(name, request_id, max(due, now), {**payload, SEQ: seq}))
        if name == "retry_send":
            retrying.add(payload.get("key"))
    stranded = [r for r in c.ledger.pending_outbound() if r["idem_key"] not in retrying]
    for row in stranded:
        buttons = json.loads(row["buttons"]) if row.get("buttons") else None
        c.ports.scheduler.schedule(Timer("retry_send", row["request_id"], now + c.caps.resume_grace_s,
                                         {"key": row["idem_key"], "buttons": buttons}))
    # Work a crash cut short that no timer or pending send will redo; Meta's retry of the message
    # that started it is a duplicate by then. vendor_outreach lasts while a batch is being sent; a
    # granted consent with calls still pending means they were never placed.
    batches = calls = 0
    for request in c.ledger.requests_not_in(state.value for state in ENDED_STATES):
        if request.state == RequestState.VENDOR_OUTREACH.value:
            batches += outreach.finish_interrupted_batch(request.id, now)
        elif request.data.get("call_pending"):
            calls += resume_pending_calls(c, request, now)
    c.ledger.audit("concierge.resumed", now, timers=len(armed), sends_retried=len(stranded),
                   batches_finished=batches, calls_resumed=calls)
    return {"timers": len(armed), "sends_retried": len(stranded), "batches_finished": batches,
            "calls_resumed": calls}
