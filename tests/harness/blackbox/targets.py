"""Targets for the black-box tests: our service (with or without its probe) and the careless
double, each started by the harness on a free loopback port (and always stopped by it)."""

from __future__ import annotations

import secrets
import socket
import sys
from pathlib import Path

from simulators.blackbox.target import TargetSpec

ROOT = Path(__file__).resolve().parents[3]
DOUBLE = Path(__file__).with_name("careless_concierge.py")
# Without a probe the harness can only wait for quiet; the tests run beside others on two shared cores.
QUIET_S = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def our_service(*, probe: bool, require_probe: bool = False) -> TargetSpec:
    port = free_port()
    command = (f"{sys.executable} -m service --port {port} --db {{workdir}}/ledger.sqlite --log-level warning"
               + (" --probe" if probe else ""))
    return TargetSpec(webhook_url=f"http://127.0.0.1:{port}/webhook", app_secret=secrets.token_hex(16),
                      verify_token=secrets.token_hex(8), command=command,
                      probe_secret=secrets.token_hex(16) if probe else None, require_probe=require_probe,
                      quiet_s=QUIET_S)


def careless_double(flaw: str) -> TargetSpec:
    port = free_port()
    return TargetSpec(webhook_url=f"http://127.0.0.1:{port}/webhook", app_secret=secrets.token_hex(16),
                      verify_token=secrets.token_hex(8), command=f"{sys.executable} {DOUBLE} {port}",
                      env={"CARELESS_FLAW": flaw}, quiet_s=QUIET_S)
