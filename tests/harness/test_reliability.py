"""A verdict is never stale, mixed or partial (docs/reliability.md): one test per way it was.

1. the phase0 gate judged a junit an earlier gate left; 2. two writers mixed one report folder;
3. a file cut off by a full disk was judged as whole; 4. a killed rerun left the last run's
evidence; 5. a harness error looked like a failed verdict (exit 1, a traceback); 6. the ledger was
only ever in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock
from support import run_folder

from simulators.commands.cli import main

ROOT = Path(__file__).resolve().parents[2]
HAPPY = str(ROOT / "scenarios/phase0/happy")
PHARMACY = str(ROOT / "scenarios/phase0/happy/pharmacy_text_happy_path.yaml")
CLI = [sys.executable, "-m", "simulators.commands.cli"]
SIM = ["simulate", "--clients", "200", "--vendors", "30", "--hours", "1", "--seed", "3", "--profile", "phase3",
       "--no-plots"]
GREEN_JUNIT = ('<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" '
               'failures="0" skipped="0" tests="1710"></testsuite></testsuites>\n')


def _cli(*args: str, env: dict[str, str] | None = None, fsize: int | None = None, **kw):
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, preexec_fn=limit,
                          env={**os.environ, **(env or {})}, timeout=300, **kw)


def _one_line_harness_error(proc, *words: str) -> None:
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    line = [x for x in proc.stderr.splitlines() if "harness error" in x]
    assert len(line) == 1, proc.stderr
    for word in words:
        assert word in line[0], line[0]


# --- 1. the gate judges only this run's unit tests ---------------------------------------------
def test_gate_unit_tests_fail_when_pytest_refuses_its_arguments_despite_a_green_junit_left_behind(
        tmp_path, monkeypatch):
    from simulators.commands.gate import unit_tests

    (tmp_path / "unit-tests.xml").write_text(GREEN_JUNIT)  # what an earlier gate left
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PYTEST_ADDOPTS", "--no-such-flag")
    criterion = unit_tests(argparse.Namespace(report_dir=str(tmp_path), unit_junit=None))
    assert criterion["verdict"] == "fail"
    assert "exit 4" in criterion["summary"] and "no junit" in criterion["summary"]


# --- 2. one writer per output folder -----------------------------------------------------------
def test_a_second_writer_of_a_report_folder_is_refused_with_exit_3(tmp_path, capsys):
    reports = tmp_path / "reports"
    with FileLock(tmp_path / ".reports.lock", timeout=0):  # another concierge-sim is writing it
        code = main(["run", HAPPY, "--report-dir", str(reports)])
    assert code == 3
    err = capsys.readouterr().err
    assert str(reports) in err and "another concierge-sim process is writing it" in err
    assert not reports.exists()
    assert main(["run", HAPPY, "--report-dir", str(reports)]) == 0  # the lock is free again


def test_a_second_simulate_into_one_run_folder_is_refused_and_the_first_run_kept(tmp_path, capsys):
    out = tmp_path / "p2"
    assert main([*SIM, "--out", str(out)]) == 0
    before = (out / "metrics.json").read_bytes()
    with FileLock(tmp_path / ".p2.lock", timeout=0):
        assert main([*SIM, "--seed", "4", "--out", str(out)]) == 3
    assert "another concierge-sim process" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before


def test_two_runs_started_together_never_leave_a_mixed_report_folder(tmp_path):
    from simulators.outputs import verify

    reports = tmp_path / "reports"
    runs = [subprocess.Popen([*CLI, "run", HAPPY, "--seed", str(seed), "--report-dir", str(reports)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for seed in (5, 6)]
    codes = sorted(p.wait(timeout=120) for p in runs)
    assert codes in ([0, 0], [0, 3])  # one after the other, or the second refused: never both at once
    manifest = verify(reports)
    report = json.loads((reports / "report.json").read_text())
    assert report["seed"] == manifest["seed"] and f"--seed {manifest['seed']}" in manifest["command"]


# --- 3. a cut-off file is never judged ---------------------------------------------------------
def test_run_under_a_file_size_limit_is_a_harness_error_and_publishes_no_cut_report(tmp_path):
    reports = tmp_path / "reports"
    proc = _cli("run", HAPPY, "--report-dir", str(reports), fsize=1024)  # report.json is larger
    _one_line_harness_error(proc, "file-size limit")
    assert not (reports / "report.json").exists()
    assert not list(tmp_path.glob(".reports.partial-*"))  # the staging folder went with the error


def test_gate_refuses_a_run_folder_whose_file_was_cut_off(tmp_path):
    run = tmp_path / "run"
    assert main([*SIM, "--out", str(run)]) == 0
    tally = run / "tally.json"
    tally.write_bytes(tally.read_bytes()[:100])  # what a full disk leaves
    proc = _cli("gate", "phase2", "--run", str(run))
    _one_line_harness_error(proc, "tally.json", "does not match run.json")


def test_gate_refuses_a_run_folder_without_a_manifest_or_that_did_not_complete(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"error_rate": 0.0}))  # no run.json: a stopped run
    _one_line_harness_error(_cli("gate", "phase2", "--run", str(run)), "no run.json")
    run_folder(run, metrics="{}")
    manifest = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**manifest, "complete": False}))
    _one_line_harness_error(_cli("gate", "phase2", "--run", str(run), "--baseline", str(run)),
                            "did not complete")


# --- 4. no stale evidence ----------------------------------------------------------------------
def test_a_killed_full_run_leaves_no_earlier_k_report_behind(tmp_path):
    reports = tmp_path / "reports"
    assert main(["run", HAPPY, "-k", "pharmacy", "--report-dir", str(reports)]) == 0
    assert (reports / "report.json").exists()
    full = subprocess.Popen([*CLI, "run", str(ROOT / "scenarios"), "--report-dir", str(reports)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # A backstop, not a timing: the wait ends when the partial folder appears, which on a loaded
        # machine (the child imports everything first) took more than the 20 s once allowed.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(tmp_path.glob(".reports.partial-*")):
            time.sleep(0.05)
        assert full.poll() is None, "the full run ended before it could be killed"
    finally:
        full.send_signal(signal.SIGKILL)
        full.wait()
    assert not (reports / "report.json").exists()  # the -k report is not taken for the full run's
    # The next writer clears what the killed one left, and publishes a whole set.
    assert main(["run", HAPPY, "--report-dir", str(reports)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".reports.lock", "reports"]
    manifest = json.loads((reports / "run.json").read_text())
    assert manifest["complete"] is True and manifest["command"].startswith("concierge-sim run ")
    assert set(manifest["files"]) == {"report.json", "report.md", "junit.xml", "report.html"}


def test_a_file_of_another_run_mixed_into_a_run_folder_is_refused(tmp_path):
    run = tmp_path / "run"
    assert main([*SIM, "--out", str(run)]) == 0
    assert _cli("gate", "phase2", "--run", str(run)).returncode in (0, 1)  # a verdict, in the run's set
    assert "gate-phase2.json" in json.loads((run / "run.json").read_text())["files"]
    (run / "time_to_shortlist.png").write_bytes(b"\x89PNG an older run's plot")
    _one_line_harness_error(_cli("gate", "phase2", "--run", str(run)), "time_to_shortlist.png",
                            "not in run.json")


def test_simulate_keeps_its_run_description_in_the_manifest(tmp_path):
    run = tmp_path / "run"
    assert main([*SIM, "--out", str(run)]) == 0
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["config"]["clients"] == 200 and manifest["seed"] == 3 and manifest["complete"] is True
    assert set(manifest["files"]) == {"metrics.json", "tally.json", "samples.json", "run.html", "review.html"}


# --- 5. harness errors are exit 3, one line ----------------------------------------------------
def test_an_output_path_that_is_a_file_is_a_harness_error_naming_it(tmp_path):
    taken = tmp_path / "report"
    taken.write_text("not a folder")
    proc = _cli("run", HAPPY, "--report-dir", str(taken))
    _one_line_harness_error(proc, str(taken), "not a folder")
    assert taken.read_text() == "not a folder"


def test_a_folder_of_other_files_is_never_replaced_by_a_report(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["run", HAPPY, "--report-dir", str(tmp_path)]) == 3
    assert "notes.txt" in capsys.readouterr().err and (tmp_path / "notes.txt").read_text() == "mine"


def test_memory_error_is_exit_3_and_debug_shows_the_traceback(tmp_path, monkeypatch, capsys):
    import simulators.replay.reports as reports

    def no_memory(*_a, **_k):
        raise MemoryError()

    monkeypatch.setattr(reports, "write_reports", no_memory)
    assert main(["run", HAPPY, "--report-dir", str(tmp_path / "r")]) == 3
    err = capsys.readouterr().err
    assert "harness error: out of memory" in err and "Traceback" not in err
    assert main(["--debug", "run", HAPPY, "--report-dir", str(tmp_path / "r")]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_openblas_dying_for_memory_while_plotting_is_exit_3_with_a_clear_line(tmp_path):
    # numpy's OpenBLAS, short of memory at import, prints this and exits 1 from C: nothing in Python
    # can catch it. A stand-in numpy does exactly that, at any memory size.
    fake = tmp_path / "fake" / "numpy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import os, sys\nsys.stderr.write('OpenBLAS error: Memory allocation still failed after 10 "
        "retries, giving up.\\n')\nos._exit(1)\n")
    env = {"PYTHONPATH": f"{tmp_path / 'fake'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    sim = [a for a in SIM if a != "--no-plots"]
    proc = _cli(*sim, "--out", str(tmp_path / "run"), env=env)
    _one_line_harness_error(proc, str(tmp_path / "run"), "OpenBLAS error", "out of memory")
    assert not (tmp_path / "run").exists()


def test_ocr_eval_json_into_a_folder_path_is_a_harness_error(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in ("invoice_clean_1.json", "invoice_clean_1.png"):
        (samples / name).write_bytes((ROOT / "fixtures/images" / name).read_bytes())
    taken = tmp_path / "taken"
    taken.mkdir()
    proc = _cli("ocr-eval", str(samples), "--json", str(taken))
    _one_line_harness_error(proc, str(taken), "is a folder")


# --- 6. a ledger that outlives its process -----------------------------------------------------
def test_a_file_backed_ledger_is_wal_and_fully_synchronous(tmp_path):
    from concierge.ledger import Ledger

    ledger = Ledger(str(tmp_path / "l.sqlite"))
    try:
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        ledger.close()


def test_a_simulated_worlds_ledger_file_skips_only_the_power_cut_fsync(tmp_path):
    from concierge.ledger import Ledger

    ledger = Ledger(str(tmp_path / "l.sqlite"), power_safe=False)
    try:
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: survives a kill
    finally:
        ledger.close()


def test_run_with_ledger_keeps_each_scenarios_ledger_and_the_same_report(tmp_path):
    assert main(["run", PHARMACY, "--report-dir", str(tmp_path / "mem")]) == 0
    assert main(["run", PHARMACY, "--report-dir", str(tmp_path / "file"), "--ledger", str(tmp_path / "led")]) == 0
    db = sqlite3.connect(tmp_path / "led" / "pharmacy_text_happy_path.sqlite")
    try:
        assert db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 4  # the scenario's ledger: inbound 4
        assert db.execute("SELECT state FROM requests").fetchone()[0] == "closed"
    finally:
        db.close()

    def verdicts(folder: str) -> dict:
        report = json.loads((tmp_path / folder / "report.json").read_text())
        return {"scenarios": [{**s, "duration_s": 0} for s in report["scenarios"]], "metrics": report["metrics"]}

    assert verdicts("mem") == verdicts("file")


def test_simulate_with_ledger_gives_the_same_metrics_byte_for_byte(tmp_path):
    assert main([*SIM, "--out", str(tmp_path / "mem")]) == 0
    assert main([*SIM, "--out", str(tmp_path / "file"), "--ledger", str(tmp_path / "led")]) == 0
    assert (tmp_path / "mem" / "metrics.json").read_bytes() == (tmp_path / "file" / "metrics.json").read_bytes()
    assert (tmp_path / "led" / "shard-0.sqlite").stat().st_size > 0
    # The ledger the user keeps is no scratch ledger: WAL (readable while it runs), a journal on disk.
    db = sqlite3.connect(tmp_path / "led" / "shard-0.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


@pytest.fixture(autouse=True)
def _no_stray_addopts(monkeypatch):
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
