"""A run's scratch folder, and the sweep of folders whose run died.

A black-box run's folder usually lives on a RAM filesystem (``/dev/shm``), which nothing empties
until the machine restarts; a rollout shard's scratch ledger (about 13 KB a request: 1.3 GB for a
100,000-request market) lives in the temporary folder; a service or emulator started as a child
process (tests, benches) gets one for its ready file and log. A run that ends, fails or is interrupted
removes its own folder; a run killed by SIGKILL cannot, so each new run removes the folders (of its
own kind: one prefix each) of runs that are provably gone.

The proof is a lock the kernel keeps: every folder holds an ``.owner`` file on which its run takes
an exclusive ``flock`` before the folder appears under its name, and keeps it for its whole life.
The kernel drops that lock when the process ends, however it ends, so a sweeper that can take the
lock knows nobody owns the folder any more; a live run's lock refuses it. Nothing is guessed from
pids (which are reused) or ages (a long run is not a dead one). A folder without the file (an
older harness's, or anybody else's) or of another user is never touched.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import weakref
from pathlib import Path

BLACKBOX = "concierge-blackbox-"  # the black-box runs' folders
SCRATCH_LEDGER = "concierge-ledger-"  # a rollout shard's scratch ledger
SERVICE_START = "concierge-svc-"  # a started service's ready file (service/spawn.py)
EMULATOR_START = "concierge-emu-"  # a started emulator's ready file and default log
OWNER = ".owner"  # the locked file; it also says, for a person looking, whose folder it was


class RunFolder:
    """A new run's folder, named ``prefix`` and a random suffix, under ``root`` (default: the
    system's temporary folder), locked for as long as this object is open."""

    def __init__(self, prefix: str, root: str | Path | None = None):
        parent = Path(root or tempfile.gettempdir())
        # Made and locked under a hidden name no sweeper looks at, then renamed: a folder under its
        # real name is locked from the first moment anybody could see it.
        pending = Path(tempfile.mkdtemp(prefix="." + prefix, dir=parent))
        self._fd = os.open(pending / OWNER, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        os.write(self._fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n".encode())
        self.path = parent / (prefix + pending.name[len(prefix) + 1:])
        if self.path.exists():  # the same random suffix twice: never replace a folder that exists
            os.close(self._fd)
            shutil.rmtree(pending, ignore_errors=True)
            raise FileExistsError(self.path)
        os.rename(pending, self.path)
        # A run that ends without calling ``remove`` (an exception, the interpreter exiting) still
        # removes its folder, as ``tempfile.TemporaryDirectory`` would; only SIGKILL leaves it.
        self._removal = weakref.finalize(self, _remove, self.path, self._fd)

    def remove(self) -> None:
        """The folder and everything in it, then the lock (a sweeper meanwhile finds it held)."""
        self._removal()


def _remove(path: Path, fd: int) -> None:
    try:
        shutil.rmtree(path, ignore_errors=True)
    finally:
        os.close(fd)


def sweep_stale(prefix: str, root: str | Path | None = None) -> list[Path]:
    """Remove the ``prefix`` folders under ``root`` whose run is gone (their lock is free); the ones removed."""
    parent = Path(root or tempfile.gettempdir())
    removed = []
    for folder in sorted(parent.glob(prefix + "*")):
        if _owner_gone_then_removed(folder):
            removed.append(folder)
    return removed


def _owner_gone_then_removed(folder: Path) -> bool:
    try:
        if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
            return False
        fd = os.open(folder / OWNER, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:  # no owner file (not a folder this harness locks), or gone meanwhile
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its run is alive
            return False
        try:  # the lock taken is this folder's own (not a file another sweeper already unlinked)
            same = os.fstat(fd).st_ino == os.stat(folder / OWNER, follow_symlinks=False).st_ino
        except OSError:
            return False
        if same:
            shutil.rmtree(folder, ignore_errors=True)
        return same
    finally:
        os.close(fd)
