"""Every invariant can fire: each is tripped by a crafted world or a deliberately broken concierge.

A checker that never fires proves nothing. Each test starts from a world where ``check_all`` is
clean, does the one wrong thing a buggy concierge would do (through the concierge's own lower-level
calls, the ledger or the transport, bypassing the guard under test), and expects that invariant, by
name, and no other. The runner tests show a broken concierge failing a scenario at the step that
caused it, naming the invariant.
"""

from __future__ import annotations

import itertools
import logging
import textwrap
from pathlib import Path

import pytest
from support import ai_world, kigali_vendors

from concierge.engine import Concierge
from concierge.ledger import Ledger
from simulators.invariants import INVARIANTS, Context, check_all
from simulators.replay.loader import load_scenario
from simulators.replay.runner import run_scenario
from simulators.world import SimWorld

ROOT = Path(__file__).resolve().parents[2]
ALICE = "+250780000001"
PHARMA_PLUS = "+250788000101"
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"


def _world() -> SimWorld:
    return ai_world(kigali_vendors(), clients={ALICE: ("Kimironko", "en")})


@pytest.fixture
def world():
    w = _world()
    yield w
    w.close()


CTX = Context(client_phones=(ALICE,))


def names(world: SimWorld) -> set[str]:
    return {name for name, _ in check_all(world, CTX)}


def started(world: SimWorld) -> str:
    """A request with its first batch out; returns its id (and the world is clean)."""
    world.message_from(ALICE, kind="text", text=NEED)
    assert check_all(world, CTX) == []
    return world.ledger.latest_request(ALICE).id


def send_raw(world: SimWorld, rid: str | None, to: str, party: str, purpose: str, text: str, key: str) -> None:
    """The concierge's outbox without any of the guards above it (opt-out, STOP, caps)."""
    world.concierge.send(request_id=rid, to=to, party=party, purpose=purpose, text=text, key=key,
                         now=world.clock.now())
    world.advance(0)


def test_every_invariant_has_a_tripping_test():
    tested = {name.removeprefix("test_trips_") for name in globals() if name.startswith("test_trips_")}
    assert {name for name, _ in INVARIANTS} <= tested


def test_trips_no_vendor_messaged_twice(world):
    rid = started(world)
    send_raw(world, rid, PHARMA_PLUS, "vendor", "outreach", "Do you have it?", "a-second-key")
    # (a second message at once also breaks the vendor's 5-minute gap)
    assert names(world) == {"no_vendor_messaged_twice", "vendor_daily_cap_and_gap"}


def test_trips_outreach_caps(world):
    rid = started(world)
    for i in range(3):  # three more rows in batch 1 (6 > 5) and one in a fourth batch
        assert world.ledger.insert_outreach(rid, f"extra_{i}", f"k{i}", 1, world.clock.now())
    world.ledger.insert_outreach(rid, "extra_batch", "kb", 4, world.clock.now())
    problems = [m for n, m in check_all(world, CTX) if n == "outreach_caps"]
    assert names(world) == {"outreach_caps"}
    assert any("batch 1 has 6 vendors" in p for p in problems)
    assert any("batch 4" in p for p in problems)


def test_trips_outreach_caps_on_the_request_cap(world):
    rid = started(world)
    for i in range(13):  # 3 + 13 = 16 vendors in batches of at most 5
        world.ledger.insert_outreach(rid, f"extra_{i}", f"k{i}", 2 + i // 5, world.clock.now())
    problems = [m for n, m in check_all(world, CTX) if n == "outreach_caps"]
    assert any("contacted 16 vendors (cap 15)" in p for p in problems)


def test_trips_no_call_without_consent(world):
    rid = started(world)
    now = world.clock.now()
    world.ledger.db.execute(
        "INSERT INTO calls (id, request_id, target, to_phone, status, started_at, consent_ok, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?)", ("call-1", rid, "vendor", PHARMA_PLUS, "ringing", now, 0, now),
    )
    assert names(world) == {"no_call_without_consent"}


def test_trips_no_message_to_opted_out_vendor(world):
    rid = started(world)
    world.advance(60)
    world.ledger.opt_out_vendor("pharma_plus", world.clock.now())
    world.advance(60)
    send_raw(world, rid, PHARMA_PLUS, "vendor", "reminder", "Any news?", "reminder-1")
    assert names(world) == {"no_message_to_opted_out_vendor"}


def test_trips_client_phone_never_in_vendor_text(world):
    rid = started(world)
    send_raw(world, rid, "+250788000104", "vendor", "note", "Call the client on 0780 000 001", "leak-1")
    assert names(world) == {"client_phone_never_in_vendor_text"}


def test_trips_nothing_after_client_stop(world):
    rid = started(world)
    world.message_from(ALICE, kind="text", text="STOP")
    assert check_all(world, CTX) == []
    send_raw(world, rid, ALICE, "client", "progress", "Still waiting...", "after-stop-1")
    assert names(world) == {"nothing_after_client_stop"}


def test_trips_nothing_after_client_stop_on_a_second_confirmation(world):
    rid = started(world)
    world.message_from(ALICE, kind="text", text="STOP")
    send_raw(world, rid, ALICE, "client", "cancel_confirmation", "Cancelled again", "second-confirmation")
    assert names(world) == {"nothing_after_client_stop"}


def test_trips_no_outreach_or_call_after_handoff(world):
    rid = started(world)
    for phone in (PHARMA_PLUS, "+250788000102", "+250788000103"):
        world.message_from(phone, kind="text", text="yes 3000")
    assert world.ledger.get_request(rid).state == "handed_off"
    assert check_all(world, CTX) == []
    send_raw(world, rid, "+250788000104", "vendor", "outreach", "Do you have it?", "late-outreach")
    assert names(world) == {"no_outreach_or_call_after_handoff"}


def test_trips_progress_updates_capped(world):
    rid = started(world)
    for i in range(4):
        send_raw(world, rid, ALICE, "client", "progress", f"Update {i}", f"update-{i}")
    assert names(world) == {"progress_updates_capped"}


def test_trips_no_same_update_within_5_min(world):
    rid = started(world)
    send_raw(world, rid, ALICE, "client", "safe_message", "I'm processing your request.", "safe-1")
    world.advance(4 * 60)
    send_raw(world, rid, ALICE, "client", "safe_message", "I'm processing your request.", "safe-2")
    assert names(world) == {"no_same_update_within_5_min"}


def test_the_same_update_after_five_minutes_or_a_repeated_answer_is_fine(world):
    rid = started(world)
    send_raw(world, rid, ALICE, "client", "progress", "Still asking vendors.", "p-1")
    world.advance(5 * 60)
    send_raw(world, rid, ALICE, "client", "progress", "Still asking vendors.", "p-2")
    for i in range(2):  # one answer per unreadable photo is not an "update"
        send_raw(world, rid, ALICE, "client", "ocr_failed", "I couldn't read that file.", f"ocr-{i}")
    assert check_all(world, CTX) == []


def test_trips_vendor_daily_cap_and_gap(world):
    started(world)
    # A second outreach to a vendor of the first batch one minute later (outside any request).
    first = world.whatsapp.sent[0].to
    world.advance(60)
    send_raw(world, None, first, "vendor", "outreach", "Do you have it?", "other-outreach")
    assert names(world) == {"vendor_daily_cap_and_gap"}


def test_vendor_daily_cap_counts_a_sliding_day(world):
    from simulators.invariants import vendor_daily_cap_and_gap

    started(world)
    to = world.whatsapp.sent[0].to
    for i in range(20):  # 21 in all, 6 minutes apart: the gap holds, the day does not
        world.advance(6 * 60)
        send_raw(world, None, to, "vendor", "outreach", f"Still there? {i}", f"extra-{i}")
    assert vendor_daily_cap_and_gap(world, CTX) == [f"vendor ...{to[-3:]} got more than 20 outreach messages in 24 h"]


def test_trips_request_budgets(world):
    rid = started(world)
    for _ in range(9):
        world.ledger.audit("brain.called", world.clock.now(), rid, trigger="test")
    assert names(world) == {"request_budgets"}


def test_trips_inbound_recorded_once(world):
    started(world)
    world.ledger.db.execute("DELETE FROM inbound")
    assert names(world) == {"inbound_recorded_once"}


def test_trips_transitions_allowed(world):
    rid = started(world)
    world.ledger.set_state(rid, "awaiting_vendor_replies", "handed_off", world.clock.now(), "skipped shortlist")
    assert names(world) == {"transitions_allowed"}


def test_trips_outbound_audited(world):
    started(world)
    world.transport.send_text(ALICE, "sent behind the ledger's back", idempotency_key="unaudited-1")
    assert names(world) == {"outbound_audited"}


def test_trips_one_delivery_per_idempotency_key(world):
    rid = started(world)
    key = world.ledger.outreach(request_id=rid)[0].idem_key
    world.transport.send_text(PHARMA_PLUS, "resent on retry", idempotency_key=key)
    assert "one_delivery_per_idempotency_key" in names(world)


def test_trips_logs_masked(world):
    started(world)
    logging.getLogger("concierge").info("sent a message to %s", ALICE)
    assert names(world) == {"logs_masked"}


# --- through the runner: a broken concierge fails the scenario at the causing step --------------

def _scenario(tmp_path: Path, steps: str) -> Path:
    fixture = ROOT / "fixtures/vendors/kigali.yaml"
    path = tmp_path / "broken.yaml"
    path.write_text(textwrap.dedent(f"""\
        scenario: broken_concierge
        flags: {{FEATURE_AI_CONCIERGE: true}}
        vendors: {fixture}
        clients:
          - {{id: alice, phone: "{ALICE}", language: en, area: Kimironko}}
        steps:
          - client: alice
            text: "{NEED}"
        """) + textwrap.indent(textwrap.dedent(steps), "  "), "utf-8")
    return path


def test_runner_names_the_invariant_and_the_step_for_a_concierge_that_asks_twice(tmp_path, monkeypatch):
    counter = itertools.count()
    monkeypatch.setattr(Ledger, "insert_outreach", lambda self, *a, **k: True)  # forgets who was asked
    monkeypatch.setattr("concierge.outreach_flow.outreach_key", lambda rid, vid: f"broken:{rid}:{vid}:{next(counter)}")
    path = _scenario(tmp_path, """\
        - advance: 1m
        - advance: 1m
        - advance: 1m
        """)
    result = run_scenario(load_scenario(path))
    assert result.verdict == "fail"
    assert result.failure.invariant == "no_vendor_messaged_twice"
    # Step 1: with no outreach rows the batch looks undelivered, so the broken concierge asks the
    # same vendors again at once (the next batch) — the runner must name that very step.
    assert result.failure.step == 1
    assert result.failure.key == "invariant no_vendor_messaged_twice"


def test_runner_fails_a_concierge_that_talks_after_stop(tmp_path, monkeypatch):
    original = Concierge._client_cancel

    def chatty_cancel(self, phone, request, msg, now):
        original(self, phone, request, msg, now)
        if request is not None:
            self.tell_client(request, "progress", "Are you sure? Here is one more update.", now)

    monkeypatch.setattr(Concierge, "_client_cancel", chatty_cancel)
    path = _scenario(tmp_path, """\
        - advance: 30s
        - client: alice
          text: STOP
        - advance: 1m
        """)
    result = run_scenario(load_scenario(path))
    assert result.verdict == "fail"
    assert result.failure.invariant == "nothing_after_client_stop"
    assert result.failure.step == 3
    lines = path.read_text("utf-8").splitlines()
    assert lines[result.failure.line].strip() == "text: STOP"  # the line after the step's first line


def test_the_same_scenario_passes_with_the_real_concierge(tmp_path):
    path = _scenario(tmp_path, """\
        - advance: 2m
        - client: alice
          text: STOP
        - advance: 10m
        """)
    assert run_scenario(load_scenario(path)).verdict == "pass"
