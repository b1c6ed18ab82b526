"""The Phase 0 gate's probes and verdicts: each criterion can fail, and says why."""

from __future__ import annotations

import json
from pathlib import Path

from concierge import flags as flags_module
from concierge import lifecycle
from concierge.lifecycle import ALLOWED, RequestState, all_pairs
from simulators.commands import probes
from simulators.commands.gate import main as gate_main

ROOT = Path(__file__).resolve().parents[2]


def test_flags_probe_passes_on_the_real_code():
    evidence = probes.probe_flags_off()
    assert {k: v for k, v in evidence.items() if k.startswith("ok_")} == {
        "ok_defaults_false": True, "ok_unparsable_false": True, "ok_clean_environment": True,
        "ok_coded_workflow": True, "ok_ocr_off": True, "ok_calling_disabled": True,
    }


def test_flags_probe_catches_a_reader_that_defaults_to_on(monkeypatch):
    always_on = lambda value: value is not False  # noqa: E731
    monkeypatch.setattr(flags_module, "parse_bool", always_on)
    monkeypatch.setattr(probes, "parse_bool", always_on)
    evidence = probes.probe_flags_off()
    assert evidence["ok_unparsable_false"] is False
    assert evidence["ok_coded_workflow"] is False


def test_every_forbidden_transition_is_refused_and_the_probe_sees_a_leak(monkeypatch):
    refused = probes.probe_forbidden_transitions()
    forbidden = [p for p in all_pairs() if p not in ALLOWED]
    assert len(refused) == len(forbidden) == 35 and all(refused.values())

    # A table that wrongly allowed one forbidden edge (closed -> collecting_requirements): the probe
    # must see the leak through the tool, as it would for a machine that accepted it.
    monkeypatch.setitem(lifecycle._EDGES, ("leak", RequestState.CLOSED), RequestState.COLLECTING_REQUIREMENTS)
    monkeypatch.setitem(lifecycle._TRIGGER_BETWEEN, (RequestState.CLOSED, RequestState.COLLECTING_REQUIREMENTS),
                        "leak")
    monkeypatch.setitem(lifecycle.TRIGGERS, "leak", RequestState.COLLECTING_REQUIREMENTS)
    assert not all(probes.probe_forbidden_transitions().values())


def test_every_tool_refuses_invalid_arguments():
    refused = probes.probe_invalid_tool_args()
    assert len(refused) == 10 and all(refused.values())


def test_gate_report_names_each_criterion_with_evidence(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = gate_main("phase0", ["--scenarios", "scenarios/phase0/happy", "--skip-unit-tests",
                                "--report-dir", str(tmp_path)])
    assert code == 1  # skipping the unit tests can never pass the gate
    report = json.loads((tmp_path / "report.json").read_text())
    ids = [c["id"] for c in report["criteria"]]
    assert ids == ["entry.unit_tests", "entry.flags_off_by_default", "activity.dedupe", "activity.stop",
                   "activity.shortlist", "activity.state_transitions", "activity.population_invariants",
                   "exit.tool_contracts",
                   "exit.ocr_samples", "exit.calling_mocks", "exit.clean_logs"]
    verdicts = {c["id"]: c["verdict"] for c in report["criteria"]}
    assert verdicts["entry.unit_tests"] == "fail" and verdicts["activity.dedupe"] == "fail"
    assert verdicts["activity.shortlist"] == "pass" and verdicts["entry.flags_off_by_default"] == "pass"
    assert verdicts["activity.population_invariants"] == "pass"
    gaps = report["criteria"][5]["evidence"]["gaps"]
    assert "collecting_requirements->ocr_processing" in gaps  # two happy paths cannot cover the matrix
    assert report["gate"] == "phase0" and report["verdict"] == "fail"
    out = capsys.readouterr().out
    assert "FAIL  entry.unit_tests" in out and "Phase 0 gate: FAIL" in out


def test_unknown_phase_is_a_usage_error(capsys):
    assert gate_main("phase9", []) == 2
    assert "unknown phase" in capsys.readouterr().err


def test_population_criterion_fails_on_a_broken_invariant(monkeypatch):
    from simulators.commands import gate
    from simulators.rollout.shard import ShardRun

    assert gate.population_invariants()["verdict"] == "pass"
    original = ShardRun.stuck_requests
    monkeypatch.setattr(ShardRun, "stuck_requests", lambda self: original(self) + ["req-x stuck in limbo"])
    c = gate.population_invariants()
    assert c["verdict"] == "fail" and c["evidence"]["violations"] == {"requests_end": 1}
    assert "requests_end: req-x stuck in limbo" in c["evidence"]["examples"]
