"""The gate takes the junit of `nox -s tests` only for the very tree it judges."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from simulators.commands.gate import unit_tests
from simulators.unit_evidence import reusable, run_and_record, tree_key

PASSING = "def test_ok():\n    assert 1 + 1 == 2\n"
FAILING = "def test_bad():\n    assert 1 + 1 == 3\n"


def _repo(tmp_path: Path, test_body: str = PASSING) -> Path:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_a.py").write_text(test_body)
    (repo / ".gitignore").write_text("reports/\n__pycache__/\n")
    for cmd in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True)
    return repo


def _gate_args(repo: Path) -> argparse.Namespace:
    return argparse.Namespace(unit_junit=None, reuse_unit_junit=str(repo / "reports" / "unit"))


def test_a_matching_key_is_accepted_and_named_in_the_evidence(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    monkeypatch.chdir(repo)
    assert run_and_record(["tests", "-q", "-p", "no:cacheprovider"], repo / "reports" / "unit", repo) == 0
    criterion = unit_tests(_gate_args(repo))
    assert criterion["verdict"] == "pass", criterion
    assert criterion["evidence"]["reuse"]["reused"] is True
    assert f"reused the junit of `nox -s tests` at tree key {tree_key(repo)}" in criterion["summary"]
    assert criterion["evidence"]["passed"] == 1  # read from the stored junit, not re-run


def test_editing_a_file_changes_the_key_and_refuses_the_reuse(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    evidence = repo / "reports" / "unit"
    run_and_record(["tests", "-q", "-p", "no:cacheprovider"], evidence, repo)
    before = tree_key(repo)
    (repo / "tests" / "test_a.py").write_text(FAILING)  # the suite on this tree fails
    assert tree_key(repo) != before
    junit, reason, _ = reusable(evidence, repo)
    assert junit is None and "is not this tree's" in reason
    monkeypatch.chdir(repo)
    criterion = unit_tests(_gate_args(repo))  # refused, so the gate runs the suite itself
    assert criterion["verdict"] == "fail" and criterion["evidence"]["reuse"]["reused"] is False
    assert "run by this gate" in criterion["summary"] and criterion["evidence"]["failures"] == 1


def test_an_untracked_file_changes_the_key(tmp_path):
    repo = _repo(tmp_path)
    before = tree_key(repo)
    (repo / "tests" / "test_new.py").write_text(PASSING)
    assert tree_key(repo) != before
    (repo / "reports").mkdir()
    (repo / "tests" / "test_new.py").unlink()
    (repo / "reports" / "ignored.txt").write_text("x")  # ignored files are not the tree
    assert tree_key(repo) == before


def test_a_failing_stored_exit_code_is_refused(tmp_path):
    repo = _repo(tmp_path, FAILING)
    evidence = repo / "reports" / "unit"
    assert run_and_record(["tests", "-q", "-p", "no:cacheprovider"], evidence, repo) == 1
    assert json.loads((evidence / "tree-key.json").read_text())["tree_key"] == tree_key(repo)
    junit, reason, _ = reusable(evidence, repo)
    assert junit is None and "exited 1" in reason


def test_a_run_that_did_not_cover_the_tests_folder_is_refused(tmp_path):
    repo = _repo(tmp_path)
    evidence = repo / "reports" / "unit"
    run_and_record(["tests/test_a.py", "-q", "-p", "no:cacheprovider"], evidence, repo)
    assert reusable(evidence, repo)[0] is None
    run_and_record(["tests", "-k", "ok", "-q", "-p", "no:cacheprovider"], evidence, repo)
    assert "did not cover the tests folder" in reusable(evidence, repo)[1]


def test_outside_git_the_key_hashes_the_source_files(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(PASSING)
    before = tree_key(tmp_path)
    assert before.startswith("files:")
    (tmp_path / "tests" / "test_a.py").write_text(FAILING)
    assert tree_key(tmp_path) != before


WAITS_FOR_GO = """import pathlib, time

def test_waits_for_the_gate():
    go = pathlib.Path(__file__).parents[1] / "go"
    for _ in range(600):  # at most 60 s
        if go.exists():
            return
        time.sleep(0.1)
    raise AssertionError("the gate never said go")
"""


def test_the_gate_starts_the_suite_at_once_and_judges_it_later(tmp_path, monkeypatch):
    from simulators.commands.gate import UnitSuite

    repo = _repo(tmp_path, WAITS_FOR_GO)
    monkeypatch.chdir(repo)
    suite = UnitSuite(tmp_path / "unit.xml")
    assert suite.proc.poll() is None  # running while the gate goes on with its other parts
    (repo / "go").write_text("")  # only something done after the start lets the suite finish
    criterion = unit_tests(argparse.Namespace(unit_junit=None, reuse={"junit": None, "reason": None},
                                              unit_suite=suite))
    assert criterion["verdict"] == "pass" and criterion["evidence"]["passed"] == 1, criterion


def test_a_suite_the_gate_no_longer_waits_for_is_stopped(tmp_path, monkeypatch):
    from simulators.commands.gate import UnitSuite

    repo = _repo(tmp_path, WAITS_FOR_GO)
    monkeypatch.chdir(repo)
    suite = UnitSuite(tmp_path / "unit.xml")
    suite.stop()
    assert suite.proc.returncode is not None and suite.proc.returncode < 0  # killed, not finished
