"""A SIGKILLed black-box harness cannot remove its run folder, and on a RAM filesystem nothing else
would: the next run removes the folders of runs that are provably gone (their ``.owner`` lock is
free), never a live run's, nor a folder without the lock file (docs/black-box.md)."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from simulators.blackbox import run
from simulators.run_folder import BLACKBOX as PREFIX
from simulators.run_folder import RunFolder, sweep_stale

# A run's life, as far as its folder goes: make it, write into it, and wait (until stdin closes).
OWNER = """import sys
from simulators.run_folder import BLACKBOX, RunFolder
folder = RunFolder(BLACKBOX, sys.argv[1])
(folder.path / "target-1").mkdir()
(folder.path / "target-1" / "ledger.sqlite").write_bytes(b"rows")
print(folder.path, flush=True)
sys.stdin.read()
"""


def _run_owning_a_folder(root: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", OWNER, str(root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    assert line, f"the owner process died first (exit {proc.wait()})"
    return proc, Path(line)


def _sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL


def test_a_killed_runs_folder_goes_and_a_live_runs_stays(tmp_path):
    killed, killed_folder = _run_owning_a_folder(tmp_path)
    live, live_folder = _run_owning_a_folder(tmp_path)
    older = tmp_path / f"{PREFIX}made-without-a-lock"  # an older harness's: its owner cannot be proved gone
    older.mkdir()
    try:
        _sigkill(killed)
        assert (killed_folder / "target-1" / "ledger.sqlite").exists()  # nothing cleaned up after it
        assert sweep_stale(PREFIX, tmp_path) == [killed_folder]
        assert not killed_folder.exists()
        assert (live_folder / "target-1" / "ledger.sqlite").exists()
        assert older.is_dir()
        assert sweep_stale(PREFIX, tmp_path) == []  # a second sweep finds nothing more
    finally:
        live.stdin.close()  # type: ignore[union-attr]
        assert live.wait(60) == 0
    # The live run has ended now without calling remove: its folder went at the interpreter's exit.
    assert not live_folder.exists()
    assert sweep_stale(PREFIX, tmp_path) == []
    assert older.is_dir()


def test_a_folder_is_locked_before_it_has_its_name_and_removes_itself(tmp_path):
    folder = RunFolder(PREFIX, tmp_path)
    assert folder.path.name.startswith(PREFIX) and (folder.path / ".owner").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [folder.path.name]  # no hidden pending folder left
    assert sweep_stale(PREFIX, tmp_path) == []  # held by this process
    folder.remove()
    assert list(tmp_path.iterdir()) == []
    folder.remove()  # twice is harmless


def test_a_new_black_box_session_sweeps_before_it_makes_its_own(tmp_path, monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(run, "RAM_DIRS", (str(tmp_path),))
    killed, killed_folder = _run_owning_a_folder(tmp_path)
    _sigkill(killed)
    session = run.Session(run.TargetSpec(webhook_url="http://127.0.0.1:1/webhook", app_secret="s" * 16,
                                         verify_token="v"))
    try:
        assert not killed_folder.exists()
        assert [p for p in tmp_path.iterdir()] == [session.workdir]
    finally:
        session.emulator._sock.close()
        session.emulator.http.close()
        session.folder.remove()
    assert list(tmp_path.iterdir()) == []
