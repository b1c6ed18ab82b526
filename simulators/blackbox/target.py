"""The concierge under test: its webhook URL and secrets, and, with ``--target-cmd``, its process.

A command is run with the environment a Cloud API client needs (``WHATSAPP_API_URL`` the emulator,
the access token, app secret, verify token and phone number id it checks) plus the scenario's
flags under the rollout runbook's names, and is ready once it passes Meta's subscription handshake
on the webhook URL. It is always stopped (SIGTERM, then SIGKILL); a ``process`` fault kills it with
SIGKILL and starts the same command again on the same files.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class TargetDidNotStart(RuntimeError):
    pass


@dataclass(frozen=True)
class TargetSpec:
    webhook_url: str
    app_secret: str
    verify_token: str
    command: str | None = None  # --target-cmd: the harness starts (and restarts) the target
    probe_secret: str | None = None
    require_probe: bool = False
    ready_timeout_s: float = 30.0
    quiet_s: float = 1.0  # without the probe: the target is taken to be done once nothing was sent this long
    env: Mapping[str, str] = field(default_factory=dict)


class TargetProcess:
    """``--target-cmd``: started with ``env`` on top of this process's environment, its output in
    ``log_path``."""

    def __init__(self, spec: TargetSpec, env: Mapping[str, str], log_path: str):
        self.spec, self.env, self.log_path = spec, dict(env), log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, extra_env: Mapping[str, str] | None = None) -> None:
        assert self.spec.command is not None
        env = {**os.environ, **self.env, **(extra_env or {})}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(shlex.split(self.spec.command), env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        self._wait_ready()

    def _wait_ready(self) -> None:
        # One client for every poll of this start: a new one per poll would load the CA bundle each
        # time, CPU taken from the target that is starting (a restart's wall time).
        with httpx.Client(timeout=2.0) as http:
            self._poll_handshake(http)

    def _poll_handshake(self, http: httpx.Client) -> None:
        deadline = time.monotonic() + self.spec.ready_timeout_s
        params = {"hub.mode": "subscribe", "hub.verify_token": self.spec.verify_token, "hub.challenge": "1234567"}
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = Path(self.log_path).read_text("utf-8", errors="replace")[-600:]
                raise TargetDidNotStart(f"--target-cmd exited with {self.proc.returncode} before it was ready: {tail}")
            try:
                answer = http.get(self.spec.webhook_url, params=params)
                if answer.status_code == 200 and answer.text.strip() == "1234567":
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.01)
        self.kill()
        raise TargetDidNotStart(f"--target-cmd did not pass the webhook handshake at {self.spec.webhook_url} "
                                f"within {self.spec.ready_timeout_s:g} s (see {self.log_path})")

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)  # its own session: a shell's children go too
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL: the process dies at once, nothing finishes."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self, extra_env: Mapping[str, str] | None = None) -> None:
        self.kill()
        self.start(extra_env)
