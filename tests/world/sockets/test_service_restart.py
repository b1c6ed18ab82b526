"""A real process death: the service is SIGKILLed in the middle of an outreach (one vendor's send
in flight), then started again on the same ledger file. Nothing is sent twice, the batch is
finished, and the request's timers still fire from the wall clock (run faster).

What a load-proof restart test needs: the service's time runs from the wall clock, so every
wall-second a loaded machine spends starting the second process moves the concierge's time on
too. Run 120x faster from one origin (as this test was), a 6-second restart was 12 minutes of
downtime and the 10-minute limit ended the request before it was resumed. So the first life runs
on the plain wall clock (nothing comes due while its writer is held), and the second start is
given its place on the timeline: it begins 10 virtual seconds before the 4-minute update is due
(a downtime of 3 min 50 s, as a real crash might be) and runs SCALE times faster. The 10-minute
limit is then 370 virtual s, 74 wall-s, after the second start: the start-up, the held send's
retry (30 virtual s after the resume, 6 wall-s) and the test's reads share 68 wall-s of a loaded
machine's time before the limit could change what they see (at 10x, 34 s were not always enough
beside a dozen busy processes on 2 cores: a start there takes 15-20 s).
"""

from __future__ import annotations

import time

import httpx

from .service_proc import HTTP, ledger_rows, signed_messages

ALICE = "+250780000001"
FIRST_BATCH = {"+250788000101", "+250788000102", "+250788000103"}  # the Kimironko-near pharmacies
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"
SCALE = 5.0  # the second life's speed: its 30 s resume grace (the held send's retry) is 6 wall-s
RESUME_BEFORE_UPDATE_S = 10.0  # virtual seconds between the restart and the 4-minute update
PATIENT = {"WHATSAPP_SEND_TIMEOUT_S": "120"}  # a held send outlives any load; the test releases it
WAIT_S = 60.0  # a backstop only: every wait returns when its condition holds


def clock_args(now_at_start: float, scale: float) -> tuple[str, ...]:
    """``--time-scale``/``--time-origin`` for a service clock that reads ``now_at_start`` at this
    wall instant and runs ``scale`` times faster: origin + (wall - origin) * scale = now_at_start."""
    wall = time.time()
    origin = (wall * scale - now_at_start) / (scale - 1.0)
    return ("--time-scale", repr(scale), "--time-origin", repr(origin))


def test_sigkill_mid_outreach_then_restart_finishes_the_batch_sends_nothing_twice(
        service_factory, graph_receiver, tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    vendor_sends: list[str] = []

    def hold_second_vendor_send(body: dict) -> bool:
        to = "+" + body["to"]
        if to in FIRST_BATCH:
            vendor_sends.append(to)
            return len(vendor_sends) == 2
        return False

    graph_receiver.hold = hold_second_vendor_send
    first = service_factory(graph_receiver.url, db, env=PATIENT)  # the wall clock as it is
    hook = signed_messages(seed=3).message_webhook(ALICE, text=NEED)
    answer = httpx.post(f"{first.url}/webhook", content=hook.body, headers=hook.headers, **HTTP)
    assert answer.status_code == 200
    assert graph_receiver.held.wait(WAIT_S), "the outreach never reached its second vendor"
    first.kill()  # SIGKILL while the second vendor's send is in flight
    graph_receiver.hold = lambda _body: False
    graph_receiver.release.set()  # the held send is refused: Meta never took it
    asked_before = {s.to for s in graph_receiver.sent} & FIRST_BATCH
    assert len(asked_before) == 1
    # The 4-minute update was armed before the kill, and is still armed (a fired timer's row goes).
    [update] = [t for t in ledger_rows(db, "timers") if t["name"] == "still_waiting"]

    second = service_factory(graph_receiver.url, db, env=PATIENT,
                             extra_args=clock_args(update["due"] - RESUME_BEFORE_UPDATE_S, SCALE))
    graph_receiver.wait_until(lambda sent: FIRST_BATCH <= {s.to for s in sent}, "the rest of the batch", WAIT_S)
    still_waiting = "Still waiting for vendors"
    graph_receiver.wait_until(lambda sent: any(s.to == ALICE and still_waiting in s.text for s in sent),
                              "the 4-minute progress update (a timer armed before the kill)", WAIT_S)

    keys = [s.key for s in graph_receiver.sent]
    assert len(keys) == len(set(keys)), "a message was accepted twice under one key"
    for vendor in FIRST_BATCH:
        assert len(graph_receiver.to(vendor)) == 1, vendor
    searching = [s for s in graph_receiver.to(ALICE) if "asking nearby vendors" in s.text]
    assert len(searching) == 1
    assert sum(still_waiting in s.text for s in graph_receiver.to(ALICE)) == 1
    [request] = ledger_rows(db, "requests")
    assert request["state"] == "awaiting_vendor_replies"
    resumed = [r for r in ledger_rows(db, "audit") if r["event"] == "concierge.resumed"]
    assert len(resumed) == 2  # the first start and the restart
    assert second.stop(WAIT_S) == 0  # SIGTERM: a clean stop


def test_sigterm_mid_outreach_finishes_the_unit_of_work_then_exits_0(
        service_factory, graph_receiver, tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    seen: list[str] = []

    def hold_first_vendor_send(body: dict) -> bool:
        seen.append(body["to"])
        return "+" + body["to"] in FIRST_BATCH and not graph_receiver.held.is_set()

    graph_receiver.hold = hold_first_vendor_send
    service = service_factory(graph_receiver.url, db, env=PATIENT)
    hook = signed_messages(seed=4).message_webhook(ALICE, text=NEED)
    answer = httpx.post(f"{service.url}/webhook", content=hook.body, headers=hook.headers, **HTTP)
    assert answer.status_code == 200
    assert graph_receiver.held.wait(WAIT_S)
    service.proc.terminate()  # SIGTERM while the first vendor's send is in flight
    _wait_for_log(service, "shutting down: finishing the unit of work in hand")
    assert service.proc.poll() is None  # it has begun to stop, and is still finishing the held send
    graph_receiver.hold = lambda _body: False
    graph_receiver.release.set()  # the held send fails (503): the concierge retries it later
    assert service.proc.wait(WAIT_S) == 0
    # The unit of work in hand ran to its end: the rest of the batch was asked before the exit.
    assert len({s.to for s in graph_receiver.sent} & FIRST_BATCH) == 2
    [request] = ledger_rows(db, "requests")
    assert request["state"] == "awaiting_vendor_replies"
    retries = [r for r in ledger_rows(db, "timers") if r["name"] == "retry_send"]
    assert len(retries) == 1  # the refused send waits in the ledger for the next start


def _wait_for_log(service, line: str) -> None:
    """Until the service's log says ``line`` (the log is a file another process writes: polled,
    with a generous bound)."""
    deadline = time.monotonic() + WAIT_S
    while line not in service.log_text():
        assert time.monotonic() < deadline, f"the service never logged {line!r}"
        time.sleep(0.02)
