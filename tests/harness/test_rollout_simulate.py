"""Population runs through the real concierge: hand-computed small worlds, determinism, sharding,
and each rollback trigger firing when its condition is built into the world."""

from dataclasses import replace
from pathlib import Path

from concierge.geo import lookup_place
from concierge.ports import Vendor
from simulators.rollout.behaviour import CANARY_PHONE
from simulators.rollout.gates import judge
from simulators.rollout.metrics import dumps, finalize
from simulators.rollout.population import (
    Client,
    PlannedRequest,
    Population,
    SimVendor,
    VendorBehaviour,
    WorldParams,
)
from simulators.rollout.run_config import RunConfig
from simulators.rollout.shard import ShardRun
from simulators.rollout.sharding import simulate
from simulators.rollout.simulate import write_run

TESTER = "+250780000001"  # allowlisted in the phase1 profile
FREE_BRAIN = {"whatsapp": {"client_message_usd": 0.0, "vendor_message_usd": 0.004},
              "brain": {"chars_per_token": 4, "input_usd_per_million_tokens": 0.0,
                        "output_usd_per_million_tokens": 0.0},
              "ocr": {"per_call_usd": 0.0015}, "calls": {"per_minute_usd": 0.2}}
CALM = dict(brain_invalid_rate=0.0, brain_latency_median_s=3.0, brain_latency_sigma=0.0,
            redelivery_rate=0.0, client_cancel_rate=0.0)


def behaviour(reply_prob=1.0, **over):
    b = VendorBehaviour(reply_prob=reply_prob, reply_median_s=60.0, reply_sigma=0.0, stock_prob=1.0,
                        price_factor=1.0, busy_rate=0.0, stop_rate=0.0, vague_rate=0.0, injection_rate=0.0)
    return replace(b, **over)


def small_world(b: VendorBehaviour, requests_at=(0, 3600), vendors=3,
                need="I need Paracetamol 500mg tablets near Kimironko") -> Population:
    place = lookup_place("Kimironko")
    vendors = [SimVendor(Vendor(id=f"v{i}", name=f"Pharmacy {i}", phone=f"+2507880001{i:02d}",
                                categories=("pharmacy",), lat=place.lat, lng=place.lng, area="Kimironko",
                                rating=4.0, avg_response_minutes=1.0), b) for i in range(vendors)]
    client = Client(0, "Alice Uwase", TESTER, "en", "Kimironko")
    planned = [PlannedRequest(0, at, "text", "pharmacy", need) for at in requests_at]
    return Population([client], vendors, planned)


def run_small(b: VendorBehaviour, **params) -> ShardRun:
    config = RunConfig(clients=1, vendors=3, hours=2, seed=1, profile="phase1",
                       params=WorldParams.with_overrides({**CALM, **params}))
    return ShardRun(config, 0, population=small_world(b))


def test_hand_computed_small_world():
    # Three vendors answer "in stock" after exactly 60 s: the third reply meets min_replies (3), the
    # shortlist goes out at +60 s; two brain calls (client message, replies ready) of 3 s each.
    m = finalize(run_small(behaviour()).run(), FREE_BRAIN)
    assert m["requests"] == 2 and m["successful_flows"] == 2 and m["error_rate"] == 0.0
    assert m["time_to_shortlist_p50_s"] == 66 and m["time_to_shortlist_p95_s"] == 66
    assert m["vendor_reply_rate"] == 1.0 and m["outreach_sent"] == 6
    assert m["brain_calls"] == 4 and m["brain_rejection_rate"] == 0.0
    assert m["cost_per_request"] == 0.012  # 3 outreach templates x 0.004 USD, brain priced at 0 here
    assert m["handoff_rate"] == 1.0 and m["unsolicited_calls"] == 0 and m["injection_breaches"] == 0


def test_vendors_that_never_reply_drive_p95_past_ten_minutes():
    m = finalize(run_small(behaviour(reply_prob=0.0)).run(), FREE_BRAIN)
    assert m["time_to_shortlist_never"] == 2 and m["time_to_shortlist_p95_s"] is None
    assert m["error_rate"] == 1.0 and m["errors_timeout"] == 2
    report = judge("phase1", m)
    assert set(report["rollback"]) == {"rollback.p95", "rollback.error_rate"}


def test_slow_vendors_give_a_measured_p95_over_the_line():
    # Replies at 7 min: the 6-minute target finds nothing usable, the replies then meet min_replies.
    m = finalize(run_small(behaviour(reply_median_s=420.0)).run(), FREE_BRAIN)
    assert m["time_to_shortlist_p95_s"] == 426
    assert "phase1.time_to_shortlist" in {r["id"] for r in judge("phase1", m)["rows"] if r["verdict"] == "fail"}


def test_injection_attempts_are_flagged_not_shortlisted():
    m = finalize(run_small(behaviour(injection_rate=1.0)).run(), FREE_BRAIN)
    assert m["injection_attempts"] == 6 and m["injection_flagged"] >= 6
    assert m["injection_breaches"] == 0 and m["shortlists_delivered"] == 0


def test_a_payment_instruction_reaching_a_client_is_a_breach_and_fires():
    run = run_small(behaviour())
    run.advance_all()
    request = run.world.ledger.latest_request(TESTER)
    run.world.concierge.tell_client(request, "progress", f"Pay the deposit to {CANARY_PHONE}",
                                    run.world.clock.now())
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["injection_breaches"] == 1
    assert "rollback.prompt_injection" in judge("phase1", m)["rollback"]


def test_a_call_without_consent_is_unsolicited_and_fires():
    run = run_small(behaviour())
    run.advance_all()
    request = run.world.ledger.latest_request(TESTER)
    run.calls.start_call("+250788000100", request_id=request.id, idempotency_key="bypass")
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["calls"] == 1 and m["unsolicited_calls"] == 1
    assert "rollback.unsolicited_call" in judge("phase3", m)["rollback"]


def test_invalid_brain_output_is_rejected_and_counted():
    m = finalize(run_small(behaviour(), brain_invalid_rate=1.0).run(), FREE_BRAIN)
    # docs/domain.md: the brain is not asked again for the same event, so each request waits for the
    # client; this client only waits (the safe message asks nothing), so after 30 silent minutes the
    # request closes politely (Caps.idle_close_s) and the client's second need (at +1 h) opens a new
    # one, whose single brain call is rejected too. Nothing is left open, nothing succeeds.
    assert m["brain_calls"] == 2 and m["brain_rejection_rate"] == 1.0 and m["kill_switches"] == 0
    assert m["requests"] == 2 and m["abandoned_open"] == 0 and m["successful_flows"] == 0


URGENT = "I need Paracetamol 500mg tablets near Kimironko - it's urgent"


def run_urgent(tmp_path, **params) -> ShardRun:
    """Phase 1 with calling switched on; the vendors never answer, so each urgent need reaches the
    call trigger (3 silent minutes), the client is asked for consent and taps an answer 30 s later."""
    env = tmp_path / "calling.env"
    env.write_text("FEATURE_AI_CONCIERGE_CALLING=true\n")
    over = {**CALM, "client_answer_prob": 1.0, "client_answer_delay_s": (30, 30), **params}
    config = RunConfig(clients=1, vendors=3, hours=2, seed=1, profile="phase1", env_file=str(env),
                       params=WorldParams.with_overrides(over))
    return ShardRun(config, 0, population=small_world(behaviour(reply_prob=0.0), need=URGENT))


def _calls(run: ShardRun) -> list[tuple[str, str]]:
    return [(r["target"], r["status"]) for r in run.world.ledger.db.execute(
        "SELECT target, status FROM calls ORDER BY id")]


def test_urgent_need_with_consent_places_a_call_that_reports_back(tmp_path):
    run = run_urgent(tmp_path, consent_yes_prob=1.0, call_failure_rate=0.0)
    run.advance_all()
    # One call per request, to a vendor, and its provider's signed callbacks completed it.
    assert _calls(run) == [("vendor", "completed"), ("vendor", "completed")]
    assert all(r.consent_ok and r.connected and r.minutes > 0 for r in run.calls.records)
    minutes = sum(r.minutes for r in run.calls.records)
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["calls"] == 2 and m["call_failure_rate"] == 0.0 and m["unsolicited_calls"] == 0
    # 6 outreach templates (0.004 each) + the call minutes at 0.20 USD, over 2 requests.
    assert m["cost_per_request"] == round((6 * 0.004 + round(minutes, 2) * 0.2) / 2, 8)


def test_calls_that_never_connect_are_failures_and_the_client_is_told(tmp_path):
    run = run_urgent(tmp_path, consent_yes_prob=1.0, call_failure_rate=1.0)
    run.advance_all()
    assert [status for _, status in _calls(run)] in (["no_answer"] * 2, ["busy"] * 2,
                                                     ["no_answer", "busy"], ["busy", "no_answer"])
    told = [t for (t,) in run.world.ledger.db.execute(
        "SELECT text FROM outbound WHERE purpose='call_fallback' AND status='sent'")]
    assert len(told) == 2
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["calls"] == 2 and m["call_failure_rate"] == 1.0 and m["unsolicited_calls"] == 0


def test_a_client_who_says_no_is_never_called(tmp_path):
    run = run_urgent(tmp_path, consent_yes_prob=0.0)
    run.advance_all()
    assert _calls(run) == [] and run.calls.records == []
    denied = run.world.ledger.db.execute("SELECT COUNT(*) FROM consents WHERE status='denied'").fetchone()[0]
    assert denied == 2
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["calls"] == 0 and m["call_failure_rate"] is None


def _config(**over):
    base = dict(clients=60, vendors=25, hours=1.5, seed=11, profile="phase3", shards=3)
    base.update(over)
    return RunConfig(**base)


def test_same_seed_same_metrics_byte_for_byte(tmp_path):
    a, _ = simulate(_config())
    b, _ = simulate(_config())
    ma = write_run(tmp_path / "a", _config(), a, [])
    write_run(tmp_path / "b", _config(), b, [])
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (tmp_path / "b" / "metrics.json").read_bytes()
    assert ma["requests_total"] > 10
    c, _ = simulate(_config(seed=12))
    assert dumps(c.to_json()) != dumps(a.to_json())


def test_shards_merge_exactly_across_worker_processes():
    one, parts = simulate(_config(), workers=1)
    two, _ = simulate(_config(), workers=2)
    assert dumps(one.to_json()) == dumps(two.to_json())
    assert len(parts) == 3 and sum(p.get("requests", 0) + p.get("coded_requests", 0) for p in parts) == \
        one.get("requests", 0) + one.get("coded_requests", 0)


def test_each_vendor_lives_in_exactly_one_shard():
    # A copy of every vendor in every shard would meet 1/K of its real load: daily caps and
    # cooldowns would almost never bind, and handoff rates came out ~3x too high at 8 shards.
    config = _config()
    runs = [ShardRun(config, s) for s in range(config.shards)]
    try:
        seen = [{v.id for v in run.world.directory.all_vendors()} for run in runs]
        assert sum(len(ids) for ids in seen) == config.vendors == len(set().union(*seen))
        assert all(len(ids) in (8, 9) for ids in seen)  # 25 vendors dealt round-robin
        for run in runs:
            run.advance_all()
        asked = [{r["vendor_id"] for r in run.world.ledger.db.execute("SELECT vendor_id FROM outreach")}
                 for run in runs]
        assert all(a <= ids for a, ids in zip(asked, seen, strict=True)) and any(asked)
    finally:
        for run in runs:
            run.world.close()


def test_simulate_rejects_more_shards_than_vendors(tmp_path, capsys):
    from simulators.html.rollout_page import write_run_pages
    from simulators.rollout.simulate import main

    assert main(["--clients", "50", "--vendors", "4", "--hours", "1", "--shards", "5",
                 "--out", str(tmp_path / "run")], run_pages=write_run_pages) == 2
    assert "--shards must be between 1 and min(--clients, --vendors) = 4, got 5" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_phase2_profile_caps_vendors_per_request(tmp_path):
    # 14 silent pharmacies and a Moltbot that asks for batches of 5 and 15 vendors: batches go out
    # until the cap; Phase 2 stops at 10, Phase 3 (15) runs out of vendors at 14.
    everyone = tmp_path / "everyone.env"
    everyone.write_text("AI_CONCIERGE_PERCENT_ROLLOUT=100\n")
    seen = {}
    for name in ("phase2", "phase3"):
        config = RunConfig(clients=1, vendors=14, hours=1, seed=1, profile=name, env_file=str(everyone),
                           params=WorldParams.with_overrides({**CALM, "brain_batch_size": 5,
                                                              "brain_max_vendors": 15}))
        run = ShardRun(config, 0, population=small_world(behaviour(reply_prob=0.0), (0,), vendors=14))
        seen[name] = finalize(run.run(), FREE_BRAIN)["max_vendors_contacted"]
    assert seen == {"phase2": 10, "phase3": 14}


def test_urgent_needs_are_marked_without_moving_any_other_draw():
    from concierge.needs import extract_requirements
    from simulators.rollout.population import build_population

    calm = build_population(4, 80, 10, 6, WorldParams.with_overrides({"urgent_rate": 0.0}))
    urgent = build_population(4, 80, 10, 6, WorldParams.with_overrides({"urgent_rate": 0.5}))
    assert len(calm.requests) == len(urgent.requests)
    marked = [u for u in urgent.requests if u.urgent]
    texts = [u for u in urgent.requests if u.kind == "text"]
    assert 0.35 < len(marked) / len(texts) < 0.65 and not any(c.urgent for c in calm.requests)
    for c, u in zip(calm.requests, urgent.requests, strict=True):
        assert (c.client, c.at_s, c.kind, c.category, c.spec) == (u.client, u.at_s, u.kind, u.category, u.spec)
        assert u.text.startswith(c.text)
        # The concierge reads the urgency the client wrote, in every language.
        assert extract_requirements(u.text).urgent or not u.urgent


def test_a_client_asked_to_type_after_a_photo_answers(tmp_path):
    # With OCR off the concierge asks to type inside the very delivery of the photo, before the
    # simulator knew the new request's id; the client used to never answer, and the request stayed
    # open for ever (the concierge also had no idle timer for it: both fixed).
    env = tmp_path / "ocr_off.env"
    env.write_text("FEATURE_AI_CONCIERGE_OCR=false\n")
    place = lookup_place("Kimironko")
    spec = {"render": "prescription", "items": [{"drug": "Paracetamol", "dose": "500mg", "form": "tablets",
                                                 "quantity": 20}], "degrade": "clean", "seed": 1}
    planned = [PlannedRequest(0, 0, "prescription", "pharmacy",
                              "Paracetamol 500mg tablets x20 near Kimironko", spec)]
    vendors = [SimVendor(Vendor(id=f"v{i}", name=f"Pharmacy {i}", phone=f"+2507880001{i:02d}",
                                categories=("pharmacy",), lat=place.lat, lng=place.lng, area="Kimironko",
                                rating=4.0, avg_response_minutes=1.0), behaviour()) for i in range(3)]
    population = Population([Client(0, "Alice Uwase", TESTER, "en", "Kimironko")], vendors, planned)
    config = RunConfig(clients=1, vendors=3, hours=1, seed=1, profile="phase1", env_file=str(env),
                       params=WorldParams.with_overrides({**CALM, "client_answer_prob": 1.0}))
    run = ShardRun(config, 0, population=population)
    run.advance_all()
    rid = run.world.ledger.latest_request(TESTER).id
    said = [t["text"] for t in run.world.ledger.transcript(rid) if t["direction"] == "in"]
    assert said[0] == "[image]" and said[1].startswith("Paracetamol 500mg tablets x20")
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["requests"] == 1 and m["shortlists_delivered"] == 1 and m["abandoned_open"] == 0


def test_invariants_hold_over_a_population_run_and_a_broken_one_fires(capsys):
    config = _config(shards=1, invariants=True,
                     params=WorldParams.with_overrides({"urgent_rate": 0.3, "client_cancel_rate": 0.05}))
    clean = finalize(ShardRun(config, 0).run(), FREE_BRAIN)
    assert clean["invariant_violations"] == 0 and "rollback.invariants" not in judge("phase3", clean)["rollback"]
    assert finalize(ShardRun(replace(config, invariants=False), 0).run(), FREE_BRAIN)["invariant_violations"] is None

    run = ShardRun(config, 0)
    run.advance_all()
    asked = run.world.ledger.outreach()[0]
    vendor = run.world.directory.by_id(asked.vendor_id)
    # The same outreach goes out a second time behind the concierge's back: dedupe is broken.
    run.world.transport.send_text(vendor.phone, "again", idempotency_key=asked.idem_key)
    m = finalize(run.finish(), FREE_BRAIN)
    assert m["invariant_violations"] >= 1
    assert "rollback.invariants" in judge("phase3", m)["rollback"]
    err = capsys.readouterr().err
    assert "invariant no_vendor_messaged_twice broken in shard 0" in err


def test_a_request_left_waiting_for_ever_is_reported_stuck():
    run = run_small(behaviour())
    run.advance_all()
    assert run.stuck_requests() == []
    rid = run.world.ledger.latest_request(TESTER).id
    # As if a wait had no end: the request is put back into collecting_requirements an hour ago.
    run.world.ledger.db.execute("UPDATE requests SET state='collecting_requirements', updated_at=? WHERE id=?",
                                (run.world.clock.now() - 3601, rid))
    assert run.stuck_requests() == [f"{rid} stuck in collecting_requirements for 3601 s"]


def test_a_bug_inside_a_run_is_a_clear_exit_3_with_the_traceback_kept(tmp_path, capsys, monkeypatch):
    from simulators.html.rollout_page import write_run_pages
    from simulators.rollout import simulate as sim

    def broken(*args, **kwargs):
        raise ValueError("the concierge broke")

    monkeypatch.setattr(sim, "simulate", broken)
    out = tmp_path / "run"
    assert sim.main(["--clients", "5", "--vendors", "3", "--hours", "1", "--out", str(out)],
                    run_pages=write_run_pages) == 3
    err = capsys.readouterr().err
    assert "simulate: harness error, ValueError: the concierge broke" in err and "Traceback" not in err
    assert "ValueError: the concierge broke" in (out / "error.txt").read_text()


def test_a_population_whose_concierge_keeps_crashing_still_keeps_every_invariant():
    # The chaos knob: the process dies inside 15 % of its sends (before or after Meta accepted the
    # message) and restarts from the ledger. This run found three crash bugs, now fixed.
    config = _config(shards=1, invariants=True, params=WorldParams.with_overrides(
        {"crash_per_send": 0.15, "urgent_rate": 0.3, "client_cancel_rate": 0.05}))
    run = ShardRun(config, 0)
    m = finalize(run.run(), FREE_BRAIN)
    assert run.tally["crashes"] >= 10
    assert m["invariant_violations"] == 0 and run.invariant_problems == []
    assert m["requests_total"] >= 15


def test_a_shard_keeps_its_ledger_in_a_scratch_file_removed_when_it_finishes():
    # Memory stays flat in the length of a run: the ledger is a file even without --ledger.
    run = run_small(behaviour())
    (name, path) = [(r[1], r[2]) for r in run.world.ledger.db.execute("PRAGMA database_list")][0]
    assert name == "main" and path.endswith("shard-0.sqlite")
    # A scratch ledger: no fsync, its rollback journal in memory, no other connection (the docstring
    # of ``Ledger``'s scratch mode says why that is safe).
    pragma = {p: run.world.ledger.db.execute(f"PRAGMA {p}").fetchone()[0]
              for p in ("synchronous", "journal_mode", "locking_mode")}
    assert pragma == {"synchronous": 0, "journal_mode": "memory", "locking_mode": "exclusive"}
    m = finalize(run.run(), FREE_BRAIN)
    assert m["successful_flows"] == 2
    assert not Path(path).exists() and not Path(path).parent.exists()
