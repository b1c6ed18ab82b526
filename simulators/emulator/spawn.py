"""Start the emulator as a child process on a free loopback port and talk to it: for tests and the
bench, which need the emulator in its own process (as a developer runs it), not an in-process app."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx

from ..child_process import ChildServer, DidNotStart, scratch_folder, spawn_until_ready
from ..run_folder import EMULATOR_START, RunFolder

EmulatorDidNotStart = DidNotStart


class EmulatorProcess(ChildServer):
    def __init__(self, url: str, proc, log_path: str, *, app_secret: str, verify_token: str,
                 access_token: str, phone_number_id: str, folder: RunFolder | None = None):
        super().__init__(url, proc, log_path, folder=folder)
        self.app_secret, self.verify_token = app_secret, verify_token
        self.access_token, self.phone_number_id = access_token, phone_number_id

    # --- the simulation endpoints -----------------------------------------------------------------
    def call(self, method: str, path: str, *, ok: bool = True, **kwargs: Any) -> httpx.Response:
        answer = httpx.request(method, self.url + path, timeout=kwargs.pop("timeout", 30.0), **kwargs)
        if ok and answer.status_code >= 400:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    def subscribe(self, webhook_url: str, *, handshake: bool = True) -> dict[str, Any]:
        return self.call("POST", "/sim/subscription", json={"webhook_url": webhook_url,
                                                            "handshake": handshake}).json()

    def say(self, phone: str, text: str | None = None, *, wait: float | None = None, **fields: Any) -> dict[str, Any]:
        """A person's message (``text``, or ``button=``/``list=``/``image={"render": ...}``)."""
        spec = {"from": phone, **({"text": text} if text is not None else {}), **fields}
        query = f"?wait={wait}" if wait is not None else ""
        return self.call("POST", f"/sim/messages{query}", json=spec).json()

    def conversation(self, phone: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/sim/conversations/{phone}").json()["messages"]

    def deliveries(self, wamid: str | None = None) -> list[dict[str, Any]]:
        return self.call("GET", "/sim/deliveries", params={"wamid": wamid} if wamid else None).json()["deliveries"]

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self.call("POST", "/sim/faults", json=spec).json()

    def clear_faults(self) -> None:
        self.call("DELETE", "/sim/faults")

    def wait_for(self, predicate, *, timeout: float = 60.0, what: str = "condition") -> Any:
        """Poll ``predicate()`` (the emulator is another process) until it returns something truthy;
        that value is returned. The bound is a backstop: a loaded machine is slow, not wrong."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.02)


def start_emulator(
    *, app_secret: str, verify_token: str, access_token: str, phone_number_id: str,
    webhook_url: str | None = None, handshake: bool = False, extra_args: Sequence[str] = (),
    host: str = "127.0.0.1", timeout: float = 20.0, log_path: str | None = None,
) -> EmulatorProcess:
    """``python -m simulators.emulator`` on a free port; returns once it answers ``/sim/health``."""
    folder = scratch_folder(EMULATOR_START)
    workdir = folder.path
    ready = workdir / "ready.json"
    log_path = log_path or str(workdir / "emulator.log")
    args = [sys.executable, "-m", "simulators.emulator", "--host", host, "--port", "0",
            "--app-secret", app_secret, "--verify-token", verify_token, "--access-token", access_token,
            "--phone-number-id", phone_number_id, "--ready-file", str(ready), *extra_args]
    if webhook_url:
        args += ["--webhook-url", webhook_url]
    if not handshake:
        args.append("--no-handshake")
    try:
        url, proc = spawn_until_ready("emulator", args, ready_file=ready, log_path=log_path,
                                      health_path="/sim/health", timeout=timeout)
    except BaseException:
        folder.remove()
        raise
    return EmulatorProcess(url, proc, log_path, app_secret=app_secret, verify_token=verify_token,
                           access_token=access_token, phone_number_id=phone_number_id, folder=folder)
