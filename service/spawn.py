"""Start the service as a child process and wait until it is ready (``/readyz``): for tests,
benchmarks and supervisors that need a real process, one that can be SIGKILLed."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

from simulators.child_process import ChildServer, DidNotStart, scratch_folder, spawn_until_ready
from simulators.run_folder import SERVICE_START, RunFolder

ServiceDidNotStart = DidNotStart


class ServiceProcess(ChildServer):
    def __init__(self, url: str, proc, log_path: str, db_path: str, *, folder: RunFolder | None = None):
        super().__init__(url, proc, log_path, folder=folder)
        self.db_path = db_path

    def log_lines(self) -> list[str]:
        return self.log_text().splitlines()


def start_service(
    api_url: str, db_path: str, *, env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (), host: str = "127.0.0.1", port: int = 0, timeout: float = 20.0,
    log_path: str | None = None,
) -> ServiceProcess:
    """``python -m service`` with ``env`` (the WHATSAPP_* secrets and flags) added to this process's
    environment and ``WHATSAPP_API_URL`` set to ``api_url``. Its JSON-line logs go to ``log_path``
    (default: next to the ledger file)."""
    folder = scratch_folder(SERVICE_START)
    ready = folder.path / "ready.json"
    log_path = log_path or f"{db_path}.log"
    args = [sys.executable, "-m", "service", "--host", host, "--port", str(port), "--db", db_path,
            "--ready-file", str(ready), *extra_args]
    try:
        url, proc = spawn_until_ready("concierge service", args, ready_file=ready, log_path=log_path,
                                      health_path="/readyz", timeout=timeout,
                                      env={**os.environ, **(env or {}), "WHATSAPP_API_URL": api_url})
    except BaseException:
        folder.remove()
        raise
    return ServiceProcess(url, proc, log_path, db_path, folder=folder)
