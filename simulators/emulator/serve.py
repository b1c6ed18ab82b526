"""Serve the emulator: check the webhook target first (Meta's handshake), then uvicorn until stopped."""

from __future__ import annotations

import asyncio

from ..serving import CannotListen, bind, run_until_stopped, url_of
from .app import create_app
from .config import EmulatorConfig
from .delivery import handshake

GRACEFUL_SHUTDOWN_S = 2.0  # a request hanging on a timeout fault must not hold a shutdown for long


class StartRefused(Exception):
    """The emulator cannot start; the message says why in one line."""


def serve(config: EmulatorConfig, *, host: str, port: int, handshake_first: bool, handshake_wait_s: float,
          ready_file: str | None = None, log_level: str = "warning") -> None:
    if config.webhook_url and handshake_first:
        problem = asyncio.run(handshake(config.webhook_url, config.verify_token, wait_s=handshake_wait_s))
        if problem:
            raise StartRefused(f"{problem}; start the target first, or pass --no-handshake")
    try:
        sock = bind(host, port)
    except CannotListen as exc:
        raise StartRefused(str(exc)) from None
    url = url_of(sock)
    note = f"; webhooks to {config.webhook_url or 'nothing yet (POST /sim/subscription)'}"
    started = run_until_stopped(create_app(config, base_url=url), sock, name="emulator", ready_file=ready_file,
                                note=note, log_level=log_level, graceful_s=GRACEFUL_SHUTDOWN_S)
    if not started:
        raise StartRefused("the server did not start (see the lines above)")
