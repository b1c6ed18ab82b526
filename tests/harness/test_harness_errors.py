"""A bug inside one scenario is that scenario's *error*: reported with its traceback, while the other
scenarios still run and are reported, and the run exits 3 (docs/scenario-format.md)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import concierge.replies
from simulators.commands.cli import main
from simulators.replay.loader import load_scenario
from simulators.replay.runner import run_scenario
from simulators.replay.suite import EXIT_ERROR, EXIT_FAILED

FIXTURE = Path("fixtures/vendors/kigali.yaml").resolve()

TEMPLATE = """\
scenario: {id}
tags: [phase0]
flags: {{FEATURE_AI_CONCIERGE: true}}
vendors: {fixture}
clients:
  - {{id: alice, phone: "+250780000001", language: en, area: Kimironko}}
steps:
  - client: alice
    text: "I need Amoxicillin 500mg, 21 capsules, near Kimironko"
  - vendor: pharma_plus
    text: "{reply}"
  - expect: {{state: {state}}}
"""


def _write(folder: Path, name: str, *, reply: str = "yes 3500", state: str = "awaiting_vendor_replies") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(TEMPLATE.format(id=name, fixture=FIXTURE, reply=reply, state=state), "utf-8")
    return path


@pytest.fixture
def buggy_reply_parser(monkeypatch):
    """A bug in the concierge: the vendor-reply parser blows up on one particular reply."""
    real = concierge.replies.parse_vendor_reply

    def parse(text, *args, **kwargs):
        if "TRIGGER" in text:
            raise KeyError("price_band")  # the kind of slip a refactoring leaves behind
        return real(text, *args, **kwargs)

    monkeypatch.setattr(concierge.replies, "parse_vendor_reply", parse)


def test_a_bug_is_an_error_with_its_traceback_not_a_failure(tmp_path, buggy_reply_parser):
    result = run_scenario(load_scenario(_write(tmp_path, "buggy", reply="yes TRIGGER")))
    assert result.verdict == "error"
    assert result.failure is None
    assert result.error == "KeyError: 'price_band'"
    assert "Traceback (most recent call last)" in result.traceback
    assert "in parse" in result.traceback and "on_webhook" in result.traceback
    # What happened before the bug is kept for the report.
    assert any("Amoxicillin" in t["text"] for t in result.transcript)


def test_one_buggy_scenario_does_not_stop_the_others_and_the_run_exits_3(tmp_path, buggy_reply_parser, capsys):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    _write(folder, "a_passes")
    _write(folder, "b_buggy", reply="yes TRIGGER")
    _write(folder, "c_passes_after_the_bug")
    _write(folder, "d_fails", state="handed_off")
    reports = tmp_path / "reports"

    code = main(["run", str(folder), "--report-dir", str(reports)])

    assert code == EXIT_ERROR == 3
    out = capsys.readouterr().out
    assert "2 passed, 1 failed, 1 errors" in out
    assert "ERROR" in out and "b_buggy" in out and "KeyError" in out
    report = json.loads((reports / "report.json").read_text("utf-8"))
    verdicts = {s["id"]: s["verdict"] for s in report["scenarios"]}
    assert verdicts == {"a_passes": "pass", "b_buggy": "error", "c_passes_after_the_bug": "pass",
                        "d_fails": "fail"}
    assert report["verdict"] == "fail"
    buggy = next(s for s in report["scenarios"] if s["id"] == "b_buggy")
    assert "KeyError" in buggy["failure"]["traceback"] and "Traceback" in buggy["failure"]["traceback"]
    markdown = (reports / "report.md").read_text("utf-8")
    assert "Traceback (most recent call last)" in markdown
    junit = ET.parse(reports / "junit.xml").getroot()
    errors = [case for case in junit.iter("testcase") if case.find("error") is not None]
    assert len(errors) == 1 and "KeyError" in errors[0].find("error").text


def test_without_the_bug_the_same_files_only_fail_where_they_should(tmp_path):
    """Control: the exit code 3 above comes from the injected bug, not from the files."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    _write(folder, "a_passes")
    _write(folder, "b_buggy", reply="yes TRIGGER")
    _write(folder, "d_fails", state="handed_off")
    assert main(["run", str(folder), "--report-dir", str(tmp_path / "reports")]) == EXIT_FAILED
