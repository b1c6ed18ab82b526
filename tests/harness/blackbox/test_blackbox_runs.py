"""Black-box runs on loopback: the harness judges a target over HTTP, not our own code.

- a representative subset of scenarios/phase0 run against our service (started by the harness, with
  its probe) gives the in-process verdicts, scenario by scenario, passes and failures alike (the
  whole suite: ``nox -s nightly``, docs/black-box.md);
- a careless concierge (tests/harness/blackbox/careless_concierge.py) is caught with the expected failures;
- without the probe, what needs it is reported not observable (counted), never passed.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from simulators.blackbox.compare import compare
from simulators.blackbox.judging import LOG_INVARIANTS, WIRE_INVARIANTS, not_runnable
from simulators.blackbox.run import run_blackbox
from simulators.html.run_report import write_run_report
from simulators.invariants import INVARIANTS
from simulators.replay.loader import load_scenario
from simulators.replay.reports import write_reports
from simulators.replay.runner import run_scenario

from .targets import ROOT, careless_double, our_service

DOUBLE_SCENARIO = Path(__file__).with_name("double_pharmacy.yaml")
# One of each thing a black-box run must do: a happy path, a redelivered webhook, WhatsApp send
# faults, client and vendor STOP, timers and ranking on the target's clock, a scripted brain,
# a process killed and restarted, a check that is not observable (the context pack), a canned OCR
# reading and a seeded request (probe revision 1.1), a process killed inside a send by the emulator.
SUBSET = [
    "happy/pharmacy_text_happy_path", "dedupe/client_redelivery", "dedupe/send_429_retry_after",
    "faults/whatsapp_send_500_on_shortlist", "stop/client_stop_cancel", "stop/vendor_stop_opt_out",
    "shortlist/ranking_by_score", "contracts/reject_ask_client",
    "restart/restart_while_waiting_keeps_the_clock", "authoring/message_checks",
    "authoring/canned_ocr", "authoring/seeded_two_replies_in", "restart/crash_before_the_shortlist_went_out",
]


def _scenarios(names: list[str]):
    return [load_scenario(ROOT / "scenarios/phase0" / f"{name}.yaml") for name in names]


def _report(results, where: Path) -> dict:
    write_reports(where, results, seed=None, page=write_run_report)
    return json.loads((where / "report.json").read_text("utf-8"))


def test_subset_black_box_gives_the_in_process_verdicts(tmp_path):
    scenarios = _scenarios(SUBSET)
    in_process = _report([run_scenario(s) for s in scenarios], tmp_path / "in")
    black_box = _report(run_blackbox(scenarios, our_service(probe=True), announce=lambda _: None), tmp_path / "bb")
    found = compare(in_process, black_box)
    assert found["differences"] == []
    assert found["not_runnable"] == []
    assert found["partial"] == ["authoring_message_checks: passed what was observable; "
                                "not observable: expect.context_pack"]
    verdicts = {s["id"]: s["verdict"] for s in black_box["scenarios"]}
    assert list(verdicts.values()).count("pass") == len(SUBSET) - 1


def test_a_probe_without_settle_is_judged_alike_with_the_older_calls(tmp_path, monkeypatch):
    """A revision-1.1 probe (no ``settle``): the harness moves the clock, waits and reads the whole
    ledger with the revision-1.0 calls, and the verdicts are the in-process ones (timers, a restart,
    a seed, a crash inside a send)."""
    from simulators.blackbox.probe_client import ProbeClient

    discover = ProbeClient.discover
    monkeypatch.setattr(ProbeClient, "discover", lambda self: discover(self) - {"settle"})
    asked: list[dict] = []
    monkeypatch.setattr(ProbeClient, "settle", lambda self, **body: asked.append(body))
    names = ["shortlist/ranking_by_score", "restart/restart_while_waiting_keeps_the_clock",
             "authoring/seeded_two_replies_in", "restart/crash_before_the_shortlist_went_out"]
    scenarios = _scenarios(names)
    in_process = _report([run_scenario(s) for s in scenarios], tmp_path / "in")
    black_box = _report(run_blackbox(scenarios, our_service(probe=True), announce=lambda _: None), tmp_path / "bb")
    assert compare(in_process, black_box)["differences"] == []
    assert [s["verdict"] for s in black_box["scenarios"]] == ["pass"] * len(names)
    assert asked == []  # never asked a probe that did not offer it


@pytest.mark.parametrize(("name", "capability"), [
    ("authoring/canned_ocr", "ocr"), ("faults/ocr_garbage", "ocr"), ("authoring/seeded_still_waiting", "seed"),
])
def test_ocr_and_seeding_run_only_against_a_probe_that_offers_them(name, capability):
    """A revision-1.0 probe (no ``ocr``/``seed``) keeps these scenarios not runnable, naming what is
    missing; with the capability they run (the subset above proves they give the in-process verdict)."""
    scenario = _scenarios([name])[0]
    full = frozenset({"reset", "clock", "activity", "ledger", "brain", "ocr", "seed"})
    assert not_runnable(scenario, full, restartable=True) is None
    why = not_runnable(scenario, full - {capability}, restartable=True)
    assert why is not None and f"probe capability '{capability}'" in why


def test_a_crash_inside_a_send_runs_only_against_a_target_the_harness_restarts():
    full = frozenset({"reset", "clock", "activity", "ledger", "brain", "ocr", "seed"})
    crash = _scenarios(["restart/crash_before_the_shortlist_went_out"])[0]
    assert not_runnable(crash, full, restartable=True) is None
    assert "restarts only a target it started" in not_runnable(crash, full, restartable=False)
    # this one crashes in sends too, but expects a call placed: the call provider is inside the target
    call = _scenarios(["restart/crash_in_consent_prompt_and_the_call"])[0]
    assert "a call placed, but the call provider is inside the target" in not_runnable(call, full, restartable=True)


def test_a_seed_the_invariants_refuse_fails_alike_black_box(tmp_path):
    """Seeded through the probe, a seed over the outreach cap fails at the initial_state: line with
    the invariant's message, as in-process (tests/harness/test_authoring.py)."""
    path = tmp_path / "seed_over_cap.yaml"
    path.write_text(textwrap.dedent(f"""\
        scenario: seed_over_cap
        flags: {{FEATURE_AI_CONCIERGE: true}}
        vendors: {ROOT / "fixtures/vendors/kigali.yaml"}
        clients:
          - {{id: alice, phone: "+250780000001", language: en, area: Kimironko}}
        caps: {{max_vendors_per_request: 2}}
        initial_state:
          request:
            state: awaiting_vendor_replies
            requirements: {{item: Amoxicillin, category: pharmacy, place: Kimironko}}
            outreach: [{{vendor: pharma_plus}}, {{vendor: kimironko_meds}}, {{vendor: remera_pharmacy}}]
        steps:
          - advance: 1m
        """), "utf-8")
    scenario = load_scenario(path)
    ours = run_scenario(scenario)
    theirs = run_blackbox([scenario], our_service(probe=True), announce=lambda _: None)[0]
    assert ours.verdict == theirs.verdict == "fail", theirs.error
    assert (theirs.failure.key, theirs.failure.line, theirs.failure.invariant) == (
        ours.failure.key, ours.failure.line, "outreach_caps")
    assert theirs.failure.message == ours.failure.message


def test_a_failure_fails_alike_in_process_and_black_box(tmp_path):
    path = ROOT / "scenarios/phase0/happy/pharmacy_text_happy_path.yaml"
    text = path.read_text("utf-8")
    assert "count: 3" in text
    copy = tmp_path / "pharmacy_wrong_count.yaml"
    copy.write_text(text.replace("count: 3", "count: 4", 1).replace(
        "fixtures/vendors/kigali.yaml", str(ROOT / "fixtures/vendors/kigali.yaml")), "utf-8")
    scenario = load_scenario(copy)
    ours = run_scenario(scenario)
    theirs = run_blackbox([scenario], our_service(probe=True), announce=lambda _: None)[0]
    assert ours.verdict == theirs.verdict == "fail"
    assert (ours.failure.step, ours.failure.key) == (theirs.failure.step, theirs.failure.key)
    assert ours.failure.message == theirs.failure.message


@pytest.mark.parametrize(("flaw", "invariant"), [
    ("send_twice", "invariant wire_same_message_twice"),
    ("leak_phone", "invariant client_phone_never_in_vendor_text"),
])
def test_a_careless_concierge_is_caught(flaw, invariant):
    scenario = load_scenario(DOUBLE_SCENARIO)
    result = run_blackbox([scenario], careless_double(flaw), announce=lambda _: None)[0]
    assert result.verdict == "fail", result.error
    assert result.failure.key == invariant
    assert result.failure.step == 1  # caught at the step that did it, not at the end


def test_the_careless_concierge_without_its_flaw_passes_what_can_be_observed():
    scenario = load_scenario(DOUBLE_SCENARIO)
    result = run_blackbox([scenario], careless_double("none"), announce=lambda _: None)[0]
    assert result.verdict == "partial", (result.failure, result.error)
    assert "expect.state" in [n["key"] for n in result.not_observable]


def test_without_the_probe_what_needs_it_is_not_observable(tmp_path):
    scenario = load_scenario(DOUBLE_SCENARIO)
    timed = load_scenario(ROOT / "scenarios/phase0/happy/pharmacy_text_happy_path.yaml")
    results = run_blackbox([scenario, timed], our_service(probe=False), announce=lambda _: None)
    plain, needs_clock = results
    # expect.state needs the ledger; client_received, vendor_received and outreach (one client)
    # are judged from the wire. Every invariant that reads the ledger is listed once.
    ledger_invariants = [n for n, _ in INVARIANTS if n not in WIRE_INVARIANTS | LOG_INVARIANTS]
    assert [n["key"] for n in plain.not_observable] == (
        [f"invariant {n}" for n in ledger_invariants] + ["expect.state"])
    assert len(plain.not_observable) == 1 + 13
    assert plain.verdict == "partial"
    assert needs_clock.verdict == "not_runnable"
    assert "advance: the target's clock cannot be moved" in needs_clock.not_runnable
    report = _report(results, tmp_path / "r")
    assert report["metrics"]["passed"] == 0
    assert report["metrics"]["not_observable"] == 14
    assert report["metrics"]["not_runnable"] == 1
    markdown = (tmp_path / "r" / "report.md").read_text("utf-8")
    assert "## Not observable against this target" in markdown
    assert "0 passed, 0 failed, 0 errors, 1 partial, 1 not runnable;" in markdown
    assert "`expect.state` (needs the target's ledger" in markdown


def test_require_probe_turns_not_observable_into_failure():
    scenario = load_scenario(DOUBLE_SCENARIO)
    result = run_blackbox([scenario], our_service(probe=False, require_probe=True), announce=lambda _: None)[0]
    assert result.verdict == "fail"
    assert result.failure.key == "invariant no_vendor_messaged_twice"  # the first not observed, at step 1
    assert "not observable (--require-probe)" in result.failure.message
    assert "also expect.state: needs the target's ledger" in result.failure.message


def test_a_target_started_by_hand_gets_the_printed_environment(tmp_path, monkeypatch):
    """Without --target-cmd the harness prints what the target needs and waits for its handshake:
    here the 'operator' starts our service with exactly the printed variables (a send timeout of
    one second among them, unless the harness's environment names one)."""
    import os
    import subprocess
    import sys

    from simulators.blackbox.target import TargetSpec

    from .targets import free_port

    port, started = free_port(), []
    monkeypatch.delenv("WHATSAPP_SEND_TIMEOUT_S", raising=False)

    def operator(line: str) -> None:
        assert line.startswith("concierge-sim: start the target with WHATSAPP_API_URL=http://127.0.0.1:")
        printed = dict(pair.split("=", 1) for pair in line.split(" with ", 1)[1].split())
        assert printed["WHATSAPP_SEND_TIMEOUT_S"] == "1"
        started.append(subprocess.Popen(
            [sys.executable, "-m", "service", "--port", str(port), "--db", str(tmp_path / "l.sqlite"), "--probe"],
            env={**os.environ, **printed}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    spec = TargetSpec(webhook_url=f"http://127.0.0.1:{port}/webhook", app_secret="by-hand-app-secret",
                      verify_token="by-hand-verify", probe_secret="by-hand-probe-secret-0123")
    try:
        result = run_blackbox(_scenarios(["happy/pharmacy_text_happy_path"]), spec, announce=operator)[0]
    finally:
        for proc in started:
            proc.kill()
            proc.wait()
    assert len(started) == 1
    # Everything judged but the target's log, which the harness did not start and cannot read.
    assert result.verdict == "partial", (result.failure, result.error)
    assert [n["key"] for n in result.not_observable] == ["invariant logs_masked"]
