"""The command line around HTTP brains: --brain, --cassette-mode, --repeat (pass^k), the gate's
pass^k criterion and evidence, and a population run priced from measured tokens."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from simulators.commands.cli import main
from simulators.commands.gate import tool_contracts
from simulators.replay import brain_cli
from simulators.rollout.metrics import cost_usd, load_prices
from simulators.standin_llm import serve

ROOT = Path(__file__).resolve().parents[2]
BRAINS = ROOT / "scenarios" / "phase0" / "brains"
HAPPY = ROOT / "scenarios" / "phase0" / "happy" / "pharmacy_text_happy_path.yaml"


def test_repeat_reports_pass_k_everywhere(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(BRAINS / "openai_pharmacy_happy_path.yaml"), "--repeat", "2",
                 "--report-dir", str(out)]) == 0
    console = capsys.readouterr().out
    assert "pass^2: 100% of scenarios passed all 2 runs" in console
    report = json.loads((out / "report.json").read_text())
    row = report["pass_k"]["scenarios"][0]
    assert row["runs"] == 2 and row["pass_k"] and row["seeds"] == [1, 2]
    assert report["brain"]["by_type"]["shortlist"]["accepted"] == 2  # both runs' proposals
    md = (out / "report.md").read_text()
    assert "## Reliability: pass^2" in md and "acceptance by action type" in md


def test_pass_k_is_all_k_and_pass_rate_the_share():
    def result(sid, ok, seed):
        return SimpleNamespace(passed=ok, scenario=SimpleNamespace(id=sid, tags=("t",), seed=seed))

    summary = brain_cli.pass_k([(result("a", True, 1), result("a", True, 2)),
                                (result("b", True, 1), result("b", False, 2))], 2)
    assert [r["pass_k"] for r in summary["scenarios"]] == [True, False]
    assert summary["suite_pass_k"] == 0.5 and summary["suite_pass_rate"] == 0.75
    crit = brain_cli.pass_k_criterion(summary, "t", 2)
    assert crit["verdict"] == "fail" and "b" in crit["summary"]
    assert brain_cli.pass_k_criterion(None, "t", 1)["verdict"] == "fail"
    assert brain_cli.pass_k_criterion(summary, "nothing_tagged", 2)["verdict"] == "fail"


def test_brain_options_are_checked_before_running(tmp_path, capsys):
    assert main(["run", str(HAPPY), "--brain", "claude", "--report-dir", str(tmp_path)]) == 2
    assert "unknown provider 'claude'" in capsys.readouterr().err
    assert main(["run", str(HAPPY), "--brain", "gemini", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pharmacy_text_happy_path.yaml:1 brain.cassette" in err and "--cassette-mode record" in err
    assert main(["run", str(HAPPY), "--repeat", "0", "--report-dir", str(tmp_path)]) == 2
    # --brain rule drops a scenario's brain: key: the rule brain answers, no cassette involved.
    assert main(["run", str(BRAINS / "openai_pharmacy_happy_path.yaml"), "--brain", "rule",
                 "--report-dir", str(tmp_path / "rule")]) == 0
    assert "brain" not in json.loads((tmp_path / "rule" / "report.json").read_text())


def test_record_from_the_command_line_then_replay(tmp_path, monkeypatch):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(HAPPY.read_text().replace("../../../fixtures", str(ROOT / "fixtures")))
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key-for-the-stand-in")
    with serve() as (base, llm):
        assert main(["run", str(scenario), "--brain", "gemini:standin", "--cassette-mode", "record",
                     "--brain-url", base + "/v1beta", "--report-dir", str(tmp_path / "rec")]) == 0
    assert [r["path"] for r in llm.requests] == ["/v1beta/models/standin:generateContent"] * 2
    cassette = tmp_path / "cassettes" / "pharmacy_text_happy_path.gemini.jsonl"
    assert len(cassette.read_text().splitlines()) == 2
    assert main(["run", str(scenario), "--brain", "gemini:standin", "--report-dir", str(tmp_path / "rep")]) == 0


def test_gate_evidence_lists_the_provider_brains_proposals():
    observed = {"tools": [], "brain_accepted": ["shortlist"], "brain_rejected_types": ["shortlist"],
                "brain_usage": {"calls": 2, "input_tokens": 10, "output_tokens": 4, "cost_usd": 0.1},
                "brain_outputs": [{"action_type": "shortlist", "accepted": True, "reason": None},
                                  {"action_type": "shortlist", "accepted": False,
                                   "reason": "evidence: items[0]: vendor v9 did not reply to this request"}]}
    crit = tool_contracts([SimpleNamespace(observed=observed)])
    provider = crit["evidence"]["provider_brain"]
    assert provider["by_type"]["shortlist"] == {"proposed": 2, "accepted": 1, "rejected": 1, "rate": 0.5}
    assert "did not reply" in provider["reasons"][0][1]
    assert "provider brain: shortlist 1/2 accepted" in crit["summary"]


def test_measured_tokens_price_the_run_instead_of_characters():
    prices = load_prices()
    brain = prices["brain"]
    measured = cost_usd({"brain_input_tokens": 1_000_000, "brain_output_tokens": 0}, prices)
    assert measured == brain["input_usd_per_million_tokens"]
    estimated = cost_usd({"brain_input_chars": 1_000_000 * brain["chars_per_token"]}, prices)
    assert abs(estimated - measured) < 1e-12
    both = cost_usd({"brain_input_tokens": 1_000_000, "brain_input_chars": 1_000_000 * brain["chars_per_token"]}, prices)
    assert abs(both - 2 * measured) < 1e-12  # measured calls and estimated calls add up


def test_population_run_records_then_replays_with_measured_usage(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-population-0123456789")
    cassette = tmp_path / "c.jsonl"
    common = ["simulate", "--clients", "20", "--vendors", "10", "--hours", "2", "--seed", "3",
              "--profile", "phase2", "--no-plots", "--brain", "openai:standin", "--cassette", str(cassette)]
    with serve() as (base, llm):
        assert main([*common, "--brain-url", base + "/v1", "--cassette-mode", "record",
                     "--out", str(tmp_path / "rec")]) == 0
        live = len(llm.requests)
        assert main([*common, "--brain-url", base + "/v1", "--out", str(tmp_path / "rep")]) == 0
        assert len(llm.requests) == live  # replay asked nobody
    rec, rep = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("rec", "rep"))
    assert live > 0 and rec["brain_measured_calls"] == live and rec["brain_input_tokens_measured"] > 0
    assert rep["brain_cassette_misses"] == 0
    assert rec["cost_per_request"] == rep["cost_per_request"] and rec["cost_per_request"] > 0
