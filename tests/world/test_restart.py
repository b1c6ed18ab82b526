"""A concierge that crashes and restarts: the ledger survives, timers are re-armed from it, a send
the crash interrupted is retried under its own key, and every invariant still holds."""

from __future__ import annotations

from typing import Any

import pytest
from support import ai_world, kigali_vendors

from simulators.invariants import Context, check_all
from simulators.world import CrashingTransport, ProcessDied, SimWorld

ALICE = "+250780000001"
NEED = "I need Amoxicillin 500mg near Kimironko"
CTX = Context(client_phones=(ALICE,))


def dies_on_send(inner: Any, n: int, accepted: bool, buttons_die: bool = False) -> CrashingTransport:
    """The process dies inside its ``n``-th text send (or inside any reply-button send), after Meta
    accepted the message or before."""
    count = 0

    def plan(kind: str) -> str | None:
        nonlocal count
        if kind == "buttons":
            return "before" if buttons_die else None
        count += 1
        return ("after" if accepted else "before") if count == n else None

    return CrashingTransport(inner, plan)


@pytest.fixture
def world():
    w = ai_world(kigali_vendors(), clients={ALICE: ("Kimironko", "en")}, seed=9)
    yield w
    w.close()


def outreach_deliveries(world: SimWorld) -> dict[str, int]:
    out: dict[str, int] = {}
    for msg in world.whatsapp.sent:
        row = world.ledger.get_outbound(msg.callback_data) if msg.callback_data else None
        if row and row["purpose"] == "outreach":
            out[msg.to] = out.get(msg.to, 0) + 1
    return out


def test_a_waiting_request_still_closes_after_a_restart(world):
    world.config.clients[ALICE] = (None, "en")  # no known area: the concierge asks where, and waits
    world.message_from(ALICE, kind="text", text="I need a phone charger")
    rid = world.ledger.latest_request(ALICE).id
    world.advance(10 * 60)
    assert world.restart()["timers"] >= 1
    world.advance(20 * 60)  # 30 minutes after the question, as if nothing had happened
    assert world.concierge.request(rid).state == "closed"
    assert len(world.ledger.audit_events("request.idle_closed")) == 1
    assert check_all(world, CTX) == []


def test_two_restarts_in_a_row_leave_the_request_to_end_normally(world):
    # (that each timer runs once is checked directly by test_two_copies_of_one_durable_timer_run_once:
    # the handlers are idempotent, so counting their effects here could not show it)
    world.message_from(ALICE, kind="text", text=NEED)
    rid = world.ledger.latest_request(ALICE).id
    world.restart()
    world.restart()  # three processes have now scheduled the same timers
    world.advance(15 * 60)
    progress = [m for m in world.ledger.outbound(party="client") if m["purpose"] == "progress"]
    assert len(progress) == len({m["text"] for m in progress})
    assert world.concierge.request(rid).state in ("error", "closed", "handed_off")
    assert check_all(world, CTX) == []


@pytest.mark.parametrize("accepted", [False, True], ids=["died_before_meta", "died_after_meta"])
def test_a_send_interrupted_by_a_crash_goes_out_once_after_the_restart(world, accepted):
    world.concierge.ports.transport = dies_on_send(world.concierge.ports.transport, n=3, accepted=accepted)
    with pytest.raises(ProcessDied):
        world.message_from(ALICE, kind="text", text=NEED)  # dies sending the 2nd outreach message
    pending = [r for r in world.ledger.outbound() if r["status"] == "pending"]
    assert len(pending) == 1 and pending[0]["purpose"] == "outreach"
    world.concierge.ports.transport = world.transport  # the new process has a healthy transport
    rid = world.ledger.latest_request(ALICE).id
    outcome = world.restart()
    # Died after Meta accepted: its "sent" status webhook settles the row, nothing is resent.
    assert outcome["sends_retried"] == 1 and outcome["timers"] == 4  # idle, still waiting, target, limit
    world.advance(60)
    deliveries = outreach_deliveries(world)
    # The batch's three vendors got the question exactly once each (the interrupted one included),
    # and the restarted concierge did not take the half-sent batch for a failed one and ask a 4th.
    assert sorted(deliveries.values()) == [1, 1, 1]
    assert all(r["status"] != "pending" for r in world.ledger.outbound())
    assert world.concierge.request(rid).state == "awaiting_vendor_replies"
    world.advance(15 * 60)  # nobody answers: the 10-minute limit, armed before the crash, ends it
    assert world.concierge.request(rid).state == "error"
    assert check_all(world, CTX) == []


def test_sending_again_under_a_key_a_crash_left_pending_is_queued_not_a_contract_breach(world):
    # Found by the chaos population run: a closeout repeated after a restart re-sent its shortlist
    # under the same key, got 'pending' back, and the tool's result broke its own contract.
    world.concierge.ports.transport = dies_on_send(world.concierge.ports.transport, n=2, accepted=False)
    with pytest.raises(ProcessDied):
        world.message_from(ALICE, kind="text", text=NEED)
    row = next(r for r in world.ledger.outbound() if r["status"] == "pending")
    world.concierge.ports.transport = world.transport
    world.restart()
    vendor = world.directory.by_phone(row["to_phone"])
    result = world.concierge.tools.call(
        "marketplace.send_vendor_message",
        {"request_id": row["request_id"], "idempotency_key": row["idem_key"], "actor": "system",
         "vendor_id": vendor.id, "text": row["text"], "purpose": "outreach"},
        world.clock.now(),
    )
    assert result["status"] == "queued"


def test_a_crash_while_asking_the_client_still_ends_the_wait(world):
    # Found by the chaos population run: the idle timer was armed after the question went out, so a
    # crash inside that send left a request nobody would ever close.
    world.config.clients[ALICE] = (None, "en")  # no known area: the concierge asks where
    world.concierge.ports.transport = dies_on_send(world.concierge.ports.transport, n=1, accepted=True)
    with pytest.raises(ProcessDied):
        world.message_from(ALICE, kind="text", text="I need a phone charger")
    rid = world.ledger.latest_request(ALICE).id
    world.concierge.ports.transport = world.transport
    world.restart()
    world.advance(31 * 60)
    assert world.concierge.request(rid).state == "closed"
    assert len(world.ledger.audit_events("request.idle_closed")) == 1
    assert check_all(world, CTX) == []


def test_a_reply_button_message_interrupted_by_a_crash_is_resent_with_its_buttons():
    world = ai_world(kigali_vendors(), clients={ALICE: ("Kimironko", "en")}, seed=9, calling=True)
    try:
        world.message_from(ALICE, kind="text", text="I need Amoxicillin 500mg urgently near Kimironko")
        world.concierge.ports.transport = dies_on_send(world.concierge.ports.transport, n=0, accepted=False,
                                                     buttons_die=True)
        with pytest.raises(ProcessDied):
            world.advance(3 * 60)  # no vendor reply in 3 minutes: the consent prompt (Yes / No buttons)
        world.concierge.ports.transport = world.transport
        world.restart()
        world.advance(60)
        prompt = [m for m in world.whatsapp.sent if m.to == ALICE and m.buttons]
        assert len(prompt) == 1 and [title for _, title in prompt[0].buttons] == ["Yes", "No"]
        assert check_all(world, CTX) == []
    finally:
        world.close()


def test_two_copies_of_one_durable_timer_run_once(world):
    from concierge.ports import Timer

    seen: list[Timer] = []
    inner = world.concierge.ports.scheduler.inner
    world.concierge.ports.scheduler.inner = type("Grab", (), {"schedule": lambda self, t: seen.append(t)})()
    world.concierge.ports.scheduler.schedule(Timer("no_such_timer", None, world.clock.now() + 5))
    world.concierge.ports.scheduler.inner = inner
    (timer,) = seen
    assert world.ledger.armed_timers()[0][1] == "no_such_timer"
    world.concierge.on_timer(timer, world.clock.now())
    world.concierge.on_timer(timer, world.clock.now())  # the copy a restart scheduled again
    assert len(world.ledger.audit_events("timer.unknown")) == 1
    assert world.ledger.armed_timers() == []
