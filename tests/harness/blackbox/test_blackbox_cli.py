"""``concierge-sim run --target``: the command line, its bad flags, and its reports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .targets import ROOT, free_port

CLI = [sys.executable, "-m", "simulators.commands.cli"]


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "line"), [
    (["--target-cmd", "x"], "concierge-sim: --target-cmd needs --target URL"),
    (["--require-probe"], "concierge-sim: --require-probe needs --target URL"),
    (["--target", "localhost:8080"], "concierge-sim: --target 'localhost:8080': expected http://HOST:PORT/PATH"),
    (["--target", "http://127.0.0.1:9/webhook"],
     "concierge-sim: --target without --target-cmd needs --target-secret and --target-verify-token (the target's own)"),
    (["--target", "http://127.0.0.1:9/webhook", "--target-cmd", "x", "--probe-secret", "short"],
     "concierge-sim: --probe-secret: at least 16 characters"),
    (["--target", "http://127.0.0.1:9/webhook", "--target-cmd", "x", "--repeat", "3"],
     "concierge-sim: --repeat is for in-process runs; a --target run uses the target's own"),
    (["--target", "http://127.0.0.1:9/webhook", "--target-cmd", "x", "--target-quiet", "0"],
     "concierge-sim: --target-wait and --target-quiet must be > 0 seconds"),
])
def test_bad_target_flags_are_one_line_and_exit_2(args, line, tmp_path):
    done = run("run", "scenarios/phase0/happy", "--report-dir", str(tmp_path / "r"), *args)
    assert done.returncode == 2
    assert done.stderr.strip() == line
    assert not (tmp_path / "r").exists()


def test_a_target_command_that_never_gets_ready_is_a_harness_error(tmp_path):
    port = free_port()
    done = run("run", "scenarios/phase0/happy", "--report-dir", str(tmp_path / "r"),
               "--target", f"http://127.0.0.1:{port}/webhook", "--target-cmd", f"{sys.executable} -c 'print(1)'")
    assert done.returncode == 3
    assert "--target-cmd exited with 0 before it was ready" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_against_our_service_writes_the_reports(tmp_path):
    port = free_port()
    out = tmp_path / "r"
    done = run("run", "scenarios/phase0/happy", "scenarios/phase0/calling/call_me_asks_consent.yaml",
               "--report-dir", str(out), "--target", f"http://127.0.0.1:{port}/webhook",
               "--probe-secret", "a-probe-secret-for-the-cli-test",
               "--target-cmd", f"{sys.executable} -m service --port {port} --db {{workdir}}/l.sqlite --probe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 0 failed, 0 errors, 1 not runnable" in done.stdout
    assert "NOT RUNNABLE scenarios/phase0/calling/call_me_asks_consent.yaml" in done.stdout
    report = json.loads((out / "report.json").read_text("utf-8"))
    verdicts = {s["id"]: s["verdict"] for s in report["scenarios"]}
    assert verdicts["calling_call_me_asks_consent"] == "not_runnable"
    assert report["metrics"]["passed"] == 2 and report["metrics"]["not_runnable"] == 1
