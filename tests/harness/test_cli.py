"""The CLI as a user meets it: exit codes, messages naming file/line/key, reports, determinism."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from simulators.commands.cli import main

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios" / "phase0" / "happy" / "pharmacy_text_happy_path.yaml"


def _copy(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("../../../fixtures/vendors/kigali.yaml", str(ROOT / "fixtures/vendors/kigali.yaml")))
    return path


def test_run_passes_and_writes_three_reports(tmp_path, capsys):
    assert main(["run", str(HAPPY), "--report-dir", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["verdict"] == "pass" and report["gate"] is None
    assert {"criteria", "scenarios", "metrics", "seed", "versions"} <= report.keys()
    assert report["scenarios"][0]["failure"] is None
    assert (tmp_path / "r" / "report.md").exists() and (tmp_path / "r" / "junit.xml").exists()
    assert "1 passed, 0 failed" in capsys.readouterr().out


def test_a_wrong_expectation_exits_1_naming_file_line_and_key(tmp_path, capsys):
    text = HAPPY.read_text().replace("outreach: {count: 3, batches: 1", "outreach: {count: 4, batches: 1")
    path = _copy(tmp_path, text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "count: 4" in t)
    assert main(["run", str(path), "--report-dir", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert f"{path}:{line} step 2 expect.outreach.count: expected 4, got 3" in out
    assert "rerun: concierge-sim run" in out
    md = (tmp_path / "r" / "report.md").read_text()
    assert "### Transcript" in md and "### State timeline" in md


def test_yaml_syntax_error_exits_2_with_file_and_line(tmp_path, capsys):
    path = _copy(tmp_path, "scenario: x\nsteps:\n  - client: alice\n    text: [unclosed\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.search(re.escape(str(path)) + r":\d+ ", err)
    assert "Traceback" not in err


def test_unknown_key_exits_2_with_file_line_and_key(tmp_path, capsys):
    text = HAPPY.read_text().replace("seed: 1", "seed: 1\nsede: 2")
    path = _copy(tmp_path, text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    line = text.splitlines().index("sede: 2") + 1
    assert f"{path}:{line}" in err and "sede" in err and "Traceback" not in err


def test_same_seed_same_report_apart_from_timings(tmp_path):
    reports = []
    for run in ("a", "b"):
        assert main(["run", str(ROOT / "scenarios/phase0/happy"), "--seed", "7",
                     "--report-dir", str(tmp_path / run)]) == 0
        data = json.loads((tmp_path / run / "report.json").read_text())
        for s in data["scenarios"]:
            s.pop("duration_s")
        reports.append(json.dumps(data, sort_keys=True))
    assert reports[0] == reports[1]


@pytest.mark.parametrize("template", ["happy-path", "dedupe", "stop", "ocr", "calling"])
def test_new_scaffolds_a_scenario_that_passes(tmp_path, monkeypatch, template):
    monkeypatch.chdir(ROOT)
    folder = tmp_path / "mine"
    name = "my_" + template.replace("-", "_")
    assert main(["new", name, "--template", template, "--dir", str(folder)]) == 0
    assert main(["run", str(folder / f"{name}.yaml"), "--report-dir", str(tmp_path / "r")]) == 0
    assert main(["new", name, "--template", template, "--dir", str(folder)]) == 2  # never overwrites


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as err:
        main(["frobnicate"])
    assert err.value.code == 2
    assert main(["run", "/nonexistent/folder"]) == 2


def test_pytest_plugin_collects_and_reports_yaml_lines(pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".yaml", **{"scenarios/bad": HAPPY.read_text()
                                  .replace("../../../fixtures/vendors/kigali.yaml", str(ROOT / "fixtures/vendors/kigali.yaml"))
                                  .replace("state: handed_off\n      states", "state: closed\n      states")})
    shutil.copy(HAPPY, pytester.path / "scenarios" / "good.yaml")
    (pytester.path / "scenarios" / "good.yaml").write_text(
        HAPPY.read_text().replace("pharmacy_text_happy_path", "good_copy")
        .replace("../../../fixtures/vendors/kigali.yaml", str(ROOT / "fixtures/vendors/kigali.yaml")))
    result = pytester.runpytest("scenarios", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*expect.state: expected closed, got handed_off*", ">*state: closed*"])


def test_every_vendor_field_of_a_scenario_reaches_the_world(tmp_path):
    from simulators.replay.loader import load_scenario
    from simulators.replay.runner import build_world

    path = tmp_path / "v.yaml"
    path.write_text("""\
scenario: vendor_fields
vendors:
  - {id: a, name: A, phone: "0788 000 901", categories: [pharmacy], area: Remera, rating: 4.5,
     avg_response_minutes: 7, language: fr, tags: [night], blocked: true, has_whatsapp: false}
clients:
  - {id: c, phone: "+250780000001"}
steps:
  - advance: 1s
""")
    world = build_world(load_scenario(path))
    try:
        v = world.directory.by_id("a")
        assert (v.phone, v.area, v.rating, v.avg_response_minutes, v.language, v.tags) == (
            "+250788000901", "Remera", 4.5, 7.0, "fr", ("night",))
        assert v.blocked is True and v.has_whatsapp is False and v.lat is not None
    finally:
        world.close()
