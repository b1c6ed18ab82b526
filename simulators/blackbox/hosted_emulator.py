"""The Cloud API emulator served from this process on a free loopback port, its clock the harness's.

The harness holds the time (``now``): with a target whose clock it controls, webhooks and the
emulator's records carry the scenario's virtual time, as in the in-process world; without, the wall
clock. What people do (messages, redeliveries, faults) goes over HTTP, as it would to an emulator
in another process. What the harness only reads after every step (webhooks on their way, messages
sent) it reads on the emulator's own event loop, the one place the fake may be touched: over HTTP
those reads were most of a black-box run's round trips, each a request served by this very process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

from ..emulator.app import create_app
from ..emulator.config import EmulatorConfig
from ..serving import bind, url_of

# Meta redelivers a failed webhook; here quickly, so that a target restarted by the harness gets what
# it missed within a second or two, as the in-process world posts it again at once.
RETRY_SCHEDULE = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8)


class _Server(uvicorn.Server):
    """A uvicorn server that keeps its event loop at hand, for reads on it from other threads."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: Any = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


class HostedEmulator:
    def __init__(self, *, app_secret: str, verify_token: str, access_token: str, phone_number_id: str,
                 now: Callable[[], float], timeout_hang_s: float = 15.0, crash: Callable[[], None] | None = None):
        self.config = EmulatorConfig(
            app_secret=app_secret, verify_token=verify_token, access_token=access_token,
            phone_number_id=phone_number_id, retry_schedule=RETRY_SCHEDULE, delivery_timeout_s=10.0,
            statuses=("sent",),  # the in-process fake's: a "sent" status for each accepted message
            timeout_hang_s=timeout_hang_s,
        )
        self._sock = bind("127.0.0.1", 0)
        self.url = url_of(self._sock)
        self._server = _Server(uvicorn.Config(
            create_app(self.config, base_url=self.url, now=now, crash=crash), log_level="warning", access_log=False,
            lifespan="on", timeout_graceful_shutdown=1))
        self._app = self._server.config.app
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="emulator", daemon=True)
        self.http = httpx.Client(base_url=self.url, timeout=30.0)

    def start(self, timeout: float = 10.0) -> HostedEmulator:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10.0)
        self.http.close()
        self._sock.close()

    # --- over HTTP ------------------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"emulator {method} {path}: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def subscribe(self, webhook_url: str) -> None:
        self.call("POST", "/sim/subscription", json={"webhook_url": webhook_url, "handshake": True})

    def reset(self, seed: int) -> None:
        self.call("POST", "/sim/reset", json={"seed": seed})

    # --- read on the emulator's loop ------------------------------------------------------------
    def _on_loop(self, read: Callable[[Any], Any], timeout: float = 70.0) -> Any:
        async def on_loop() -> Any:
            return await read(self._app.state.emulator)

        assert self._server.loop is not None, "the emulator is not started"
        return asyncio.run_coroutine_threadsafe(on_loop(), self._server.loop).result(timeout)

    def pending(self) -> int:
        return self.traffic()[0]

    def traffic(self, idle_wait: float = 0.0) -> tuple[int, int]:
        """(webhooks on their way, messages the business sent so far); ``idle_wait``: once no webhook
        is on its way (or after that many seconds), as ``GET /sim/health?idle_wait=`` answers."""
        async def read(emulator: Any) -> tuple[int, int]:
            pending = await emulator.deliveries.until_idle(idle_wait) if idle_wait else emulator.deliveries.pending
            return pending, len(emulator.fake.sent)

        return self._on_loop(read)

    def sent(self, since: int = 0) -> list[Any]:
        """The messages the business sent (``SentMessage``, frozen), from the ``since``-th on."""
        async def read(emulator: Any) -> list[Any]:
            return emulator.fake.sent[since:]

        return self._on_loop(read)

    def inbound(self) -> list[dict[str, Any]]:
        """Every person's message, each with its delivery."""
        found = self.call("GET", "/sim/conversations")["conversations"]
        return [m for messages in found.values() for m in messages if m["direction"] == "in"]
