"""A report folder that cannot be written is an environment problem: exit 3 and one line naming it,
no traceback, and nothing half-written published.

The full disk and the read-only file system are real: the command runs in its own mount namespace
(``unshare -m``, root only) on a small tmpfs, so nothing outside the test sees the mount.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.commands.cli import main

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios/phase0/happy"
ONE = str(ROOT / "scenarios/phase0/happy/pharmacy_text_happy_path.yaml")
CLI = [sys.executable, "-m", "simulators.commands.cli"]


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_run_report_dir_under_a_file_is_exit_3_naming_the_path(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["run", str(HAPPY), "--report-dir", str(blocker / "r")]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if str(blocker) in line]
    assert len(lines) == 1


def test_a_report_dir_two_levels_under_a_file_names_the_file(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["run", ONE, "--report-dir", str(blocker / "deeper" / "r")]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"concierge-sim: harness error: {blocker / 'deeper'}: a part of the path is a file, not a folder "
        "(Not a directory)")
    assert blocker.read_text() == "not a folder"


def test_a_report_dir_that_is_a_file_is_refused_and_the_file_kept(tmp_path, capsys):
    target = tmp_path / "report.html"
    target.write_text("someone's page")
    assert main(["run", ONE, "--report-dir", str(target)]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"concierge-sim: harness error: {target}: exists and is not a folder; choose another output folder")
    assert target.read_text() == "someone's page"


def test_a_report_dir_name_longer_than_the_file_system_allows(tmp_path, capsys):
    name = "r" * 300  # ext4 and tmpfs allow 255 bytes a name
    assert main(["run", ONE, "--report-dir", str(tmp_path / name)]) == 3
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"concierge-sim: harness error: {tmp_path}/.{name}")
    assert line.endswith(": a name in the path is longer than the file system allows (File name too long)")


def test_simulate_and_gate_pages_under_a_file_are_exit_3(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["simulate", "--clients", "5", "--vendors", "5", "--hours", "1", "--seed", "1", "--no-plots",
                 "--out", str(blocker / "run")]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"concierge-sim: harness error: {blocker}: is a file where a folder is needed (File exists)")
    run = tmp_path / "run"
    assert main(["simulate", "--clients", "5", "--vendors", "5", "--hours", "1", "--seed", "1", "--no-plots",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["gate", "phase2", "--run", str(run), "--out", str(blocker / "gate")]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"concierge-sim: harness error: {blocker}: is a file where a folder is needed (File exists)")


def test_a_file_size_limit_that_report_html_outgrows_is_named(tmp_path):
    """report.json and the others are under 2 KB for one scenario; the page is about 15 KB."""
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    reports = tmp_path / "reports"
    proc = subprocess.run([*CLI, "run", ONE, "--report-dir", str(reports)], cwd=ROOT, capture_output=True,
                          text=True, preexec_fn=limit, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert one_line(proc.stderr) == (f"concierge-sim: cannot write report.html in {reports}: the file grew past "
                                     "the file-size limit (ulimit -f) (File too large)")
    assert not reports.exists()  # the cut page was never published
    assert not list(tmp_path.glob(".reports.partial-*"))


def run_on_tmpfs(tmp_path: Path, options: str) -> tuple[Path, subprocess.CompletedProcess]:
    """``run ONE --report-dir DISK/reports`` with a fresh tmpfs (``options``) on DISK, seen by that
    process only; DISK's listing afterwards is stdout's last line."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to mount a tmpfs in a private mount namespace")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = 'mount -t tmpfs -o "$1" tmpfs "$0" || exit 99; shift; "$@"; c=$?; echo; ls -A "$0" | tr "\\n" " "; exit $c'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, str(disk), options, *CLI, "run", ONE,
                           "--report-dir", str(disk / "reports")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode not in (99, 0, 1), proc.stderr
    return disk, proc


def test_a_full_disk_while_writing_the_page_is_exit_3_and_publishes_nothing(tmp_path):
    # 16 KB: report.json, report.md and junit.xml take a 4 KB page each; report.html needs four.
    disk, proc = run_on_tmpfs(tmp_path, "size=16k")
    assert proc.returncode == 3, proc.stderr
    assert one_line(proc.stderr) == (f"concierge-sim: cannot write report.html in {disk / 'reports'}: "
                                     "the disk is full (No space left on device)")
    assert proc.stdout.splitlines()[-1].split() == [".reports.lock"]  # no report folder, no staging left


def test_a_read_only_file_system_is_exit_3_naming_the_path(tmp_path):
    disk, proc = run_on_tmpfs(tmp_path, "ro")
    assert proc.returncode == 3, proc.stderr
    assert one_line(proc.stderr) == (f"concierge-sim: harness error: {disk}/.reports.lock: the file system is "
                                     "read-only (Read-only file system)")
