"""A rollout shard's scratch ledger lives in the temporary folder (1.3 GB for a 100,000-request
market). A shard killed by SIGKILL cannot remove it, so each new shard removes the scratch folders
of shards that are provably gone (their ``.owner`` lock is free), never a live shard's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from simulators.rollout.run_config import RunConfig
from simulators.rollout.shard import ShardRun
from simulators.run_folder import SCRATCH_LEDGER

# A shard as far as its scratch folder goes: opened (the real ShardRun), then waiting on stdin.
SHARD = """import sys
from simulators.rollout.run_config import RunConfig
from simulators.rollout.shard import ShardRun
run = ShardRun(RunConfig(clients=2, vendors=3, hours=1, seed=1, profile="phase1"), 0)
print(run._scratch.path, flush=True)
sys.stdin.read()
"""


def _shard_process(tmp: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", SHARD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "TMPDIR": str(tmp)})
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    assert line, f"the shard process died first (exit {proc.wait()})"
    return proc, Path(line)


def test_a_killed_shards_scratch_ledger_goes_and_a_live_shards_stays(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    killed, killed_folder = _shard_process(tmp_path)
    live, live_folder = _shard_process(tmp_path)
    try:
        assert killed_folder.name.startswith(SCRATCH_LEDGER) and any(killed_folder.glob("*.sqlite*"))
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(60) == -signal.SIGKILL
        assert killed_folder.is_dir()  # SIGKILL: nothing removed it

        run = ShardRun(RunConfig(clients=2, vendors=3, hours=1, seed=1, profile="phase1"), 0)
        assert not killed_folder.exists()  # the new shard removed the dead one's
        assert live_folder.is_dir() and any(live_folder.glob("*.sqlite*"))  # a live shard's stays
        mine = run._scratch.path  # type: ignore[union-attr]
        run.run(lambda _: None)
        assert not mine.exists()  # a shard that finishes removes its own
    finally:
        live.stdin.close()  # type: ignore[union-attr]
        assert live.wait(60) == 0
    assert not live_folder.exists()  # a process that exits without finishing still removes its own
    assert not list(tmp_path.glob(SCRATCH_LEDGER + "*"))
