"""A server started as a child process that announces itself in a ready file: started, awaited
until its health endpoint answers, and stopped (SIGTERM, then SIGKILL if it hangs) or killed.

For tests, benchmarks and supervisors that need a real process (one that can die of SIGKILL),
not an in-process app: the concierge service (``service.spawn``) and the Cloud API emulator.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from .run_folder import RunFolder, sweep_stale


class DidNotStart(RuntimeError):
    pass


class ChildServer:
    def __init__(self, url: str, proc: subprocess.Popen, log_path: str, *, folder: RunFolder | None = None):
        """``folder``: the one made for this child (``scratch_folder``), which goes with this object
        (or at the interpreter's exit): its log stays readable after ``stop`` for as long as the
        caller holds the object. (Each start once left one in /tmp for good: ~1,200 in a day.)"""
        self.url, self.proc, self.log_path = url, proc, log_path
        self._folder = folder
        self.scratch = folder.path if folder else None

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, and wait for a graceful stop (SIGKILL after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: a real process death, nothing finishes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def log_text(self) -> str:
        return Path(self.log_path).read_text("utf-8", errors="replace")


def scratch_folder(prefix: str) -> RunFolder:
    """A new child's folder (``run_folder``'s kind ``prefix``); first the folders of children whose
    parent is gone (a SIGKILLed test run), which nothing else would remove."""
    sweep_stale(prefix)
    return RunFolder(prefix)


def spawn_until_ready(name: str, args: Sequence[str], *, ready_file: Path, log_path: str,
                      health_path: str, env: Mapping[str, str] | None = None,
                      timeout: float = 20.0) -> tuple[str, subprocess.Popen]:
    """Start ``args`` (which writes ``{"url": ...}`` to ``ready_file`` once serving) with its
    output in ``log_path``; return (url, process) once ``GET url+health_path`` answers 200."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(list(args), env=None if env is None else dict(env),
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = Path(log_path).read_text("utf-8", errors="replace")[-2000:]
            raise DidNotStart(f"the {name} exited with {proc.returncode}: {tail}")
        if ready_file.exists():
            url = json.loads(ready_file.read_text("utf-8"))["url"]
            try:
                if httpx.get(f"{url}{health_path}", timeout=5).status_code == 200:
                    return url, proc
            except httpx.TimeoutException:
                pass  # serving, but too slow to answer on a loaded machine: ask again until the deadline
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise DidNotStart(f"the {name} was not ready after {timeout:.0f}s")
