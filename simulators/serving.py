"""Serving an ASGI app with uvicorn on a socket bound first, so ``--port 0`` gives a free port whose
address is known before the first request, announced (a line, and a ready file) once it accepts
connections, and a requested stop (SIGTERM, SIGINT) is the clean exit it is."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from typing import Any

import uvicorn


class CannotListen(OSError):
    pass


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: uvicorn on a socket it did not bind leaves Nagle on, and a
    # response written in two parts then waits for the client's delayed ACK (~40 ms a request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(1024)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class AnnouncingServer(uvicorn.Server):
    """Says where it is once it accepts connections, not merely once it is bound."""

    def __init__(self, config: uvicorn.Config, *, name: str, url: str, ready_file: str | None = None,
                 note: str = ""):
        super().__init__(config)
        self.name, self.url, self.ready_file, self.note = name, url, ready_file, note

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(f"{self.name} listening on {self.url}{self.note}", flush=True)
            if self.ready_file:  # written whole, then renamed: a poller never reads half of it
                tmp = Path(f"{self.ready_file}.tmp")
                tmp.write_text(json.dumps({"url": self.url, "pid": os.getpid()}), "utf-8")
                tmp.replace(self.ready_file)


def run_until_stopped(app: Any, sock: socket.socket, *, name: str, ready_file: str | None = None,
                      note: str = "", log_level: str = "warning", graceful_s: float = 30.0) -> bool:
    """Serve until SIGTERM/SIGINT; False if the server never started."""
    server = AnnouncingServer(
        uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on",
                       timeout_graceful_shutdown=graceful_s),
        name=name, url=url_of(sock), ready_file=ready_file, note=note,
    )
    # uvicorn re-raises the stop signal once it has shut down gracefully, to die of it under the
    # previous handler: a no-op handler makes a requested stop the clean exit 0 it is.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: None)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return server.started
