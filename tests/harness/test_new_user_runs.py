"""The rough edges a new user hit running things, each pinned: what a folder walk collects, ``-k``
past a broken file, the gate's own scenario set and a FAIL that names its cause, progress while the
unit tests run, transcripts and every failed key in the reports, a crash sweep of a failing
scenario, an empty population run, and YAML messages that quote what the author wrote."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy
import pytest
from PIL import Image

from simulators.commands import gate
from simulators.commands.cli import main
from simulators.commands.gate_causes import fail_causes
from simulators.commands.pytest_progress import run_with_progress
from simulators.replay.collection import is_scenario_file
from simulators.replay.loader import discover, load_scenario
from simulators.replay.model import ScenarioInvalid
from simulators.replay.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios" / "phase0" / "happy" / "pharmacy_text_happy_path.yaml"
KIGALI = ROOT / "fixtures" / "vendors" / "kigali.yaml"


def _scenario(folder: Path, name: str, **replace: str) -> Path:
    text = HAPPY.read_text().replace("../../../fixtures/vendors/kigali.yaml", str(KIGALI))
    text = text.replace("pharmacy_text_happy_path", name)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


# --- what is collected -----------------------------------------------------------------------------


def test_a_vendor_fixture_next_to_scenarios_is_skipped_with_a_note(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    _scenario(folder, "mine_one")
    shutil.copy(KIGALI, folder / "my_vendors.yaml")  # a list
    (folder / "world.yaml").write_text("vendors:\n  - {id: a, phone: '0788000101'}\n")  # {vendors: [...]}
    assert main(["run", str(folder), "--report-dir", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "my_vendors.yaml: not a scenario" in err and "world.yaml: not a scenario" in err
    assert "fixtures/" in err


def test_broken_files_and_every_committed_scenario_are_still_collected(tmp_path):
    for text in ("", "x", "scenario: half\n", "steps: []\n", "scenario: x\nsteps: [\n", "a: [b\n",
                 "\x00\x01binary"):
        f = tmp_path / "f.yaml"
        f.write_text(text)
        assert is_scenario_file(f), repr(text)
    committed = list((ROOT / "scenarios").rglob("*.yaml")) + list((ROOT / "tests/good_scenarios").rglob("*.yaml"))
    assert committed and all(is_scenario_file(f) for f in committed)
    assert len(discover([str(ROOT / "scenarios")])) == len(list((ROOT / "scenarios").rglob("*.yaml")))


def test_pytest_plugin_and_cli_collect_the_same_files(pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    folder = pytester.path / "scenarios"
    _scenario(folder, "plugin_case")
    shutil.copy(KIGALI, folder / "vendors.yaml")
    result = pytester.runpytest("scenarios", "-p", "no:cacheprovider", "--collect-only", "-q")
    assert "plugin_case" in result.stdout.str() and "vendors.yaml" not in result.stdout.str()
    assert [p.name for p in discover([str(folder)])] == ["plugin_case.yaml"]


# --- -k and --tag past a broken file -----------------------------------------------------------------


def test_k_runs_the_selection_and_warns_about_a_broken_unselected_file(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    _scenario(folder, "other_case")
    (folder / "wip.yaml").write_text("scenario: work_in_progress\nsteps:\n  - client: [\n")
    assert main(["run", str(folder), "-k", "other", "--report-dir", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "wip.yaml is invalid" in err and "not selected" in err
    assert main(["run", str(folder), "-k", "work_in", "--report-dir", str(tmp_path / "r")]) == 2
    assert "wip.yaml:4 yaml" in capsys.readouterr().err
    assert main(["run", str(folder), "--report-dir", str(tmp_path / "r")]) == 2  # no selection: all must load


def test_tag_selection_skips_a_broken_file_of_another_tag(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    _scenario(folder, "tagged_case")
    (folder / "wip.yaml").write_text("scenario: wip\ntags: [calling]\nsteps: not a list\n")
    assert main(["run", str(folder), "--tag", "shortlist", "--report-dir", str(tmp_path / "r")]) == 0
    assert main(["run", str(folder), "--tag", "calling", "--report-dir", str(tmp_path / "r")]) == 2
    assert "wip.yaml:3 steps" in capsys.readouterr().err


# --- the gate's scenario set and its FAIL ----------------------------------------------------------


def test_the_gate_judges_the_phase0_folder_unless_told_otherwise(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(gate, "run_phase0", lambda args: seen.setdefault("scenarios", args.scenarios) and 0)
    gate.main("phase0", ["--report-dir", str(tmp_path)])
    assert seen["scenarios"] == ["scenarios/phase0"]


def test_a_gate_fail_names_the_failing_scenario_even_when_every_criterion_passes(tmp_path, capsys):
    bad = run_scenario(load_scenario(_scenario(tmp_path, "wip_fails", **{"count: 3, batches: 1": "count: 9"})))
    good = run_scenario(load_scenario(_scenario(tmp_path, "fine")))
    criteria = [{"id": "exit.clean_logs", "verdict": "pass", "summary": "ok"}]
    causes = fail_causes(criteria, [good, bad])
    assert causes and "wip_fails (fail)" in causes[0] and "1 of 2" in causes[0]
    gate._print_table(criteria, "fail", causes)
    out = capsys.readouterr().out
    assert "PASS  exit.clean_logs" in out
    assert "Phase 0 gate: FAIL because: 1 of 2 gate scenario(s) did not pass: wip_fails" in out
    failed = {"id": "entry.unit_tests", "verdict": "fail", "summary": "x"}
    assert fail_causes([failed], [good]) == ["criterion entry.unit_tests"]


def test_unit_test_progress_is_printed_while_pytest_runs(tmp_path, capsys):
    (tmp_path / "test_a.py").write_text("".join(f"def test_{i}():\n    assert True\n" for i in range(3)))
    code, output = run_with_progress([sys.executable, "-m", "pytest", str(tmp_path), "-q", "-p", "no:cacheprovider"])
    assert code == 0 and "3 passed" in output
    assert "gate: unit tests: [100%] done" in capsys.readouterr().out


# --- reports -------------------------------------------------------------------------------------


def test_run_v_prints_the_transcript_of_a_passing_run(tmp_path, capsys):
    path = _scenario(tmp_path, "verbose_case")
    assert main(["run", str(path), "-v", "--report-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "client alice -> concierge: 'I need Amoxicillin 500mg" in out
    assert "seed 1" in out or "seed 0" in out


def test_reports_keep_every_failed_key_the_whole_transcript_and_the_real_seed(tmp_path):
    path = _scenario(tmp_path, "two_wrong", **{"shortlist: {size: 3,": "shortlist: {size: 4,",
                                               "ledger: {inbound: 4}": "ledger: {inbound: 5}"})
    assert main(["run", str(path), "--report-dir", str(tmp_path / "r")]) == 1
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    entry = report["scenarios"][0]
    keys = [f["key"] for f in entry["failures"]]
    assert keys == ["expect.shortlist.size", "expect.ledger.inbound"]
    assert [f["step"] for f in entry["failures"]] == [10, 10]
    assert all("also" not in f["message"] for f in entry["failures"])
    assert entry["seed"] == load_scenario(path).seed
    md = (tmp_path / "r" / "report.md").read_text()
    assert "seed None" not in md and "its own seed" in md
    longest = max((t["text"] for t in run_scenario(load_scenario(path)).transcript), key=len)
    assert len(longest) > 300 and longest in md  # in full, in a marked fold
    assert "folded:" in md and "<details>" in md


def test_a_seed_override_is_the_seed_the_reports_name(tmp_path):
    path = _scenario(tmp_path, "seeded")
    assert main(["run", str(path), "--seed", "7", "--report-dir", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["scenarios"][0]["seed"] == 7
    assert "seed 7 for every scenario" in (tmp_path / "r" / "report.md").read_text()


# --- crash sweep -----------------------------------------------------------------------------------


def test_crash_sweep_of_a_failing_scenario_says_so_and_exits_1(tmp_path, capsys):
    path = _scenario(tmp_path, "fails_as_written", **{"count: 3, batches: 1": "count: 9"})
    assert main(["crash-sweep", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FINDING" in out and "fails as written" in out and "expect.outreach.count" in out


# --- an empty population run ---------------------------------------------------------------------------


def _red_pixels(png: Path) -> int:
    rgb = numpy.asarray(Image.open(png).convert("RGB")).astype(int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 170) & (g > 60) & (g < 110) & (b > 60) & (b < 110)).sum())


def test_an_empty_simulation_warns_why_marks_its_plots_and_the_gate_says_why(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", "--clients", "40", "--vendors", "10", "--hours", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "error rate None" not in captured.out and "error rate -" in captured.out
    assert "warning: no request on the AI path" in captured.err and "FEATURE_AI_CONCIERGE is off" in captured.err
    assert "--profile" in captured.err
    assert _red_pixels(out / "thresholds.png") > 200  # the NO DATA box, not an empty frame
    assert main(["gate", "phase2", "--run", str(out)]) == 1
    text = capsys.readouterr().out
    assert "Why NO DATA:" in text and "FEATURE_AI_CONCIERGE is off" in text


def test_a_run_with_ai_traffic_gets_no_warning():
    from simulators.rollout.emptiness import ai_path_note

    assert ai_path_note({"requests": 120, "requests_total": 150}, {"FEATURE_AI_CONCIERGE": True}, 200) is None
    small = ai_path_note({"requests": 3, "requests_total": 3}, {"FEATURE_AI_CONCIERGE": True}, 5)
    assert small and "cohort is too small" in small


# --- YAML messages ---------------------------------------------------------------------------------


def _problems(tmp_path: Path, text: str) -> list[str]:
    f = tmp_path / "y.yaml"
    f.write_text(text)
    with pytest.raises(ScenarioInvalid) as info:
        load_scenario(f)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("word", ["yes", "No", "on", "OFF", "True"])
def test_an_unquoted_yes_suggests_quoting_what_was_written(tmp_path, word):
    text = (f"scenario: x\nclients: [{{id: alice, phone: '+250780000001'}}]\n"
            f"steps:\n  - client: alice\n    text: {word}   # a reply\n")
    [problem] = _problems(tmp_path, text)
    assert f'put the value in quotes (e.g. "{word}")' in problem and ":5 step 1 text" in problem


def test_an_indentation_slip_gets_a_hint_at_its_line(tmp_path):
    text = "scenario: x\nsteps:\n  - client: alice\n    text: hi\n  ? x\n"
    [problem] = _problems(tmp_path, text)
    assert "expected <block end>, but found '?'" in problem
    assert "check the indentation at line 5" in problem and problem.startswith(f"{tmp_path / 'y.yaml'}:5 yaml")
    text = "scenario: x\nsteps:\n  - client: alice\n    text: hi\n   - advance: 2m\n"
    assert "check the indentation at line 5" in _problems(tmp_path, text)[0]


def test_a_broken_fixture_shared_by_a_selected_file_still_stops_the_run(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    fixture = tmp_path / "fixtures" / "v.yaml"
    fixture.parent.mkdir()
    fixture.write_text("- {id: a, name: A, phone: 'not a phone', categories: [pharmacy], area: Remera}\n")
    for name in ("picked_case", "other_case"):
        _scenario(folder, name).write_text(
            f"scenario: {name}\nvendors: {fixture}\nclients: [{{id: alice, phone: '+250780000001'}}]\n"
            "steps:\n  - client: alice\n    text: hi\n")
    assert main(["run", str(folder), "-k", "picked", "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "other_case.yaml is invalid" in err and "v.yaml:1 vendors[0].phone" in err
