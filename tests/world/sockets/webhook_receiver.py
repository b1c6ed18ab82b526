"""A loopback webhook subscriber for emulator tests: a real HTTP server in a thread that answers the
subscription handshake and answers each POST as scripted (a status code, or a stall longer than the
emulator's delivery timeout), recording the exact bytes and headers it was sent."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]
    at: float
    answered: int | str  # the status code, or "stalled"


class WebhookReceiver:
    def __init__(self, verify_token: str, *, on_webhook: Callable[[bytes, dict[str, str]], int] | None = None,
                 on_handshake: Callable[[dict[str, str]], tuple[str, int]] | None = None):
        self.verify_token = verify_token
        self.on_webhook = on_webhook  # decides the status when nothing is scripted (default 200)
        self.on_handshake = on_handshake or self._check_token  # (text, status) for a GET
        self.script: deque[int | float] = deque()  # int: answer this status; float: stall this long
        self.received: list[Received] = []
        self.handshakes: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified at every webhook recorded
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [r.body for r in self.received]

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Until ``count`` webhooks came: woken by each one; the bound is a backstop (a loaded
        machine delivers late, not differently)."""
        with self._arrived:
            if self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                return list(self.received)
            raise AssertionError(f"expected {count} webhooks within {timeout:g} s, got {len(self.received)}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: pytest shows failures, not access logs
                pass

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                receiver.handshakes.append(query)
                text, status = receiver.on_handshake(query)
                self._answer(status, text)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                with receiver._lock:
                    step = receiver.script.popleft() if receiver.script else None
                if isinstance(step, float):
                    receiver._record(body, headers, "stalled")
                    time.sleep(step)
                    return  # the emulator gave up waiting; nobody reads this answer
                status = step if step is not None else (
                    receiver.on_webhook(body, headers) if receiver.on_webhook else 200)
                receiver._record(body, headers, status)
                self._answer(status, "ok")

            def _answer(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _check_token(self, query: dict[str, str]) -> tuple[str, int]:
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == self.verify_token:
            return query.get("hub.challenge", ""), 200
        return "Forbidden", 403

    def _record(self, body: bytes, headers: dict[str, str], answered: int | str) -> None:
        with self._lock:
            self.received.append(Received(body, headers, time.monotonic(), answered))
            self._arrived.notify_all()
