"""``gate phase0 --target``: the gate's scenario criteria judged black-box, honestly."""

from __future__ import annotations

import json
import sys

from simulators.commands import gate
from simulators.commands.gate import main as gate_main

from .targets import ROOT, free_port


def _not_under_test(cid: str):
    """The population run and the OCR samples judge this repository, not the target (and take
    minutes): tests/harness/test_gate.py covers them."""
    return lambda *_: gate._criterion(cid, cid, True, {}, "not under test here")


def test_gate_black_box_counts_only_what_it_judged(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(gate, "population_invariants", _not_under_test("activity.population_invariants"))
    monkeypatch.setattr(gate, "ocr_samples", _not_under_test("exit.ocr_samples"))
    port = free_port()
    code = gate_main("phase0", [
        "--scenarios", "scenarios/phase0/shortlist/ranking_by_score.yaml",
        "scenarios/phase0/calling/call_me_asks_consent.yaml", "--skip-unit-tests", "--report-dir", str(tmp_path),
        "--target", f"http://127.0.0.1:{port}/webhook", "--probe-secret", "a-probe-secret-for-the-gate",
        "--target-cmd", f"{sys.executable} -m service --port {port} --db {{workdir}}/l.sqlite --probe"])
    assert code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    criteria = {c["id"]: c for c in report["criteria"]}
    assert criteria["activity.shortlist"]["verdict"] == "pass"  # judged black-box, in full
    calling = criteria["exit.calling_mocks"]
    assert calling["verdict"] == "fail"
    assert calling["evidence"]["not_judged_in_full"] == ["calling_call_me_asks_consent"]
    assert criteria["exit.clean_logs"]["verdict"] == "fail"
    assert criteria["exit.clean_logs"]["summary"].startswith("not observable black-box")
    assert "black-box against http://127.0.0.1:" in capsys.readouterr().out


def test_gate_refuses_bad_target_flags(tmp_path, capsys):
    code = gate_main("phase0", ["--scenarios", str(ROOT / "scenarios/phase0/happy"), "--skip-unit-tests",
                                "--report-dir", str(tmp_path / "r"), "--target-cmd", "x"])
    assert code == 2
    assert capsys.readouterr().err.strip() == "concierge-sim gate: --target-cmd needs --target URL"
