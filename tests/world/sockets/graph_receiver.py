"""A tiny Graph API on loopback: accepts sends like Meta (a wamid per message), records them, and
can hold a send until the test lets it go (to kill the service in the middle of an outreach).

Only what the service's restart and hostile-input tests need; the full Cloud API over HTTP is the
emulator's (``simulators/emulator``)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Sent:
    to: str  # E.164 with the "+"
    text: str
    wamid: str
    key: str  # biz_opaque_callback_data: the concierge's idempotency key


class GraphReceiver:
    def __init__(self, access_token: str):
        self.access_token = access_token
        self.sent: list[Sent] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified at every accepted send
        self.hold: Callable[[dict[str, Any]], bool] = lambda _body: False
        self.held = threading.Event()  # set when a send is being held
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> GraphReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def to(self, phone: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.to == phone]

    def wait_until(self, holds: Callable[[list[Sent]], bool], what: str, timeout: float = 60.0) -> None:
        """Until ``holds(sends so far)``: woken by each send, not by polling. The bound is only a
        backstop for a service that never sends (a loaded machine is slow, not wrong)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: holds(list(self.sent)), timeout):
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; sent: "
                                     f"{[(s.to, s.text[:40]) for s in self.sent]}")

    def _accept(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.hold(body):
            self.held.set()
            self.release.wait(120)  # the test releases it; the bound only frees a forgotten hold
            # Never answered before the sender died: Meta did not take it.
            return 503, {"error": {"message": "held, then refused", "code": 2}}
        text = body.get("text", {}).get("body") or body.get("interactive", {}).get("body", {}).get("text", "")
        with self._lock:
            sent = Sent("+" + str(body["to"]), text, f"wamid.recv{next(self._ids)}",
                        str(body.get("biz_opaque_callback_data", "")))
            self.sent.append(sent)
            self._arrived.notify_all()
        return 200, {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                     "messages": [{"id": sent.wamid}]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Authorization") != f"Bearer {receiver.access_token}":
                    status, answer = 401, {"error": {"message": "Invalid OAuth access token", "code": 190}}
                elif not self.path.endswith("/messages"):
                    status, answer = 404, {"error": {"message": "unknown path", "code": 100}}
                else:
                    status, answer = receiver._accept(json.loads(raw))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:
                    pass  # the sender died waiting (the restart test kills it on purpose)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
