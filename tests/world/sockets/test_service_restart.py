"""A real process death: the service is SIGKILLed in the middle of an outreach (one vendor's send
in flight), then started again on the same ledger file. Nothing is sent twice, the batch is
finished, and the request's timers still fire from the wall clock (run 120x faster)."""

from __future__ import annotations

import time

import httpx

from .service_proc import ledger_rows, signed_messages

ALICE = "+250780000001"
FIRST_BATCH = {"+250788000101", "+250788000102", "+250788000103"}  # the Kimironko-near pharmacies
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"
SCALE = 120.0  # the 4-minute "still waiting" update comes 2 s after the outreach


def _wait_for(predicate, seconds: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_outreach_then_restart_finishes_the_batch_sends_nothing_twice(
        service_factory, graph_receiver, tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    clock = ("--time-scale", str(SCALE), "--time-origin", str(time.time()))
    vendor_sends: list[str] = []

    def hold_second_vendor_send(body: dict) -> bool:
        to = "+" + body["to"]
        if to in FIRST_BATCH:
            vendor_sends.append(to)
            return len(vendor_sends) == 2
        return False

    graph_receiver.hold = hold_second_vendor_send
    first = service_factory(graph_receiver.url, db, extra_args=clock)
    hook = signed_messages(seed=3).message_webhook(ALICE, text=NEED)
    assert httpx.post(f"{first.url}/webhook", content=hook.body, headers=hook.headers).status_code == 200
    assert graph_receiver.held.wait(15), "the outreach never reached its second vendor"
    first.kill()  # SIGKILL while the second vendor's send is in flight
    graph_receiver.hold = lambda _body: False
    graph_receiver.release.set()  # the held send is refused: Meta never took it
    asked_before = {s.to for s in graph_receiver.sent} & FIRST_BATCH
    assert len(asked_before) == 1

    second = service_factory(graph_receiver.url, db, extra_args=clock)
    _wait_for(lambda: FIRST_BATCH <= {s.to for s in graph_receiver.sent}, what="the rest of the batch")
    still_waiting = "Still waiting for vendors"
    _wait_for(lambda: any(still_waiting in s.text for s in graph_receiver.to(ALICE)), seconds=20,
              what="the 4-minute progress update (a timer armed before the kill)")

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
    assert second.stop() == 0  # SIGTERM: a clean stop


def test_sigterm_mid_outreach_finishes_the_unit_of_work_then_exits_0(
        service_factory, graph_receiver, tmp_path):
    db = str(tmp_path / "ledger.sqlite")
    seen: list[str] = []

    def hold_first_vendor_send(body: dict) -> bool:
        seen.append(body["to"])
        return "+" + body["to"] in FIRST_BATCH and not graph_receiver.held.is_set()

    graph_receiver.hold = hold_first_vendor_send
    service = service_factory(graph_receiver.url, db)
    hook = signed_messages(seed=4).message_webhook(ALICE, text=NEED)
    assert httpx.post(f"{service.url}/webhook", content=hook.body, headers=hook.headers).status_code == 200
    assert graph_receiver.held.wait(15)
    service.proc.terminate()  # SIGTERM while the first vendor's send is in flight
    time.sleep(0.3)
    assert service.proc.poll() is None  # still finishing
    graph_receiver.hold = lambda _body: False
    graph_receiver.release.set()  # the held send fails (503): the concierge retries it later
    assert service.proc.wait(30) == 0
    # The unit of work in hand ran to its end: the rest of the batch was asked before the exit.
    assert len({s.to for s in graph_receiver.sent} & FIRST_BATCH) == 2
    [request] = ledger_rows(db, "requests")
    assert request["state"] == "awaiting_vendor_replies"
    retries = [r for r in ledger_rows(db, "timers") if r["name"] == "retry_send"]
    assert len(retries) == 1  # the refused send waits in the ledger for the next start
