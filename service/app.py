"""The ASGI application: Meta's webhook contract, health and readiness.

``create_app(config, vendors)`` is the app factory (``app_from_env`` for servers that take a
factory name, e.g. ``uvicorn --factory service.app:app_from_env``). The HTTP side verifies,
stores in the durable inbox and answers; the worker (``service.worker``) does the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from concierge.errors import SignatureInvalid, WebhookMalformed
from concierge.ports import Vendor
from concierge.webhooks import parse_webhook

from .clock import ServiceClock
from .config import ServiceConfig
from .inbox import Inbox, inbox_path
from .wiring import concierge_builder, load_vendors
from .worker import Worker

log = logging.getLogger("service.http")
# Meta's webhook bodies are a few kilobytes; anything near this is not one, and is refused
# before it is read (Content-Length) or as soon as the stream passes it (chunked bodies).
MAX_BODY_BYTES = 1024 * 1024
START_TIMEOUT_S = 30.0


class BodyTooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        raise BodyTooLarge(declared)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f">{limit}")
    return bytes(body)


def create_app(config: ServiceConfig, vendors: list[Vendor] | None = None, *,
               probe_secret: str | None = None) -> Starlette:
    """``probe_secret`` turns the harness probe on (``service.probe``); without it there is none."""
    vendors = load_vendors(config.vendors_path) if vendors is None else vendors
    clock: Any = ServiceClock(config.time_scale, config.time_origin)
    extra: list[Route] = []
    build = concierge_builder(config, vendors)
    if probe_secret is not None:
        from .probe import probe_routes, start_of

        clock, saved = start_of(config, vendors)
        build = saved or build
        extra = probe_routes(config, vendors, clock, probe_secret)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.inbox = Inbox(inbox_path(config.db_path))
        worker = app.state.worker = Worker(build, inbox_path(config.db_path), clock)
        worker.start()
        await anyio.to_thread.run_sync(worker.ready.wait, START_TIMEOUT_S)
        if not worker.ready.is_set():
            app.state.inbox.close()
            raise RuntimeError(worker.failed or f"the writer was not ready after {START_TIMEOUT_S:.0f}s")
        log.info("concierge ready (flags %s)", config.flags.describe())
        try:
            yield
        finally:
            log.info("shutting down: finishing the unit of work in hand")
            await anyio.to_thread.run_sync(app.state.worker.stop)  # a probe reset may have replaced it
            app.state.inbox.close()

    async def handshake(request: Request) -> Response:
        q = request.query_params
        if q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == config.verify_token:
            log.info("webhook subscription verified")
            return PlainTextResponse(q.get("hub.challenge", ""))
        log.warning("webhook subscription refused (mode %r, wrong or missing verify token)",
                    q.get("hub.mode"))
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(request: Request) -> Response:
        try:
            body = await _read_limited(request, MAX_BODY_BYTES)
        except BodyTooLarge as exc:
            log.warning("webhook refused: body too large (Content-Length %s)", exc)
            return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
        signature = request.headers.get("x-hub-signature-256")
        try:
            updates = parse_webhook(body, signature, config.app_secret)
        except SignatureInvalid as exc:
            log.warning("webhook refused: signature %s", exc)
            return JSONResponse({"error": f"signature {exc}"}, status_code=401)
        except WebhookMalformed as exc:
            log.warning("webhook refused: not a webhook (%s)", str(exc)[:200])
            return JSONResponse({"error": f"not a webhook: {str(exc)[:200]}"}, status_code=400)
        if updates:
            request.app.state.inbox.put(body, signature, clock.now())
            request.app.state.worker.wake()
        return JSONResponse({"received": len(updates)})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        worker = getattr(request.app.state, "worker", None)
        if worker is None or not worker.ready.is_set() or not worker.is_alive():
            return JSONResponse({"status": "not ready"}, status_code=503)
        return JSONResponse({"status": "ready", "inbox": len(request.app.state.inbox),
                             "timers": len(worker.scheduler)})

    return Starlette(
        routes=[
            Route("/webhook", handshake, methods=["GET"]),
            Route("/webhook", receive, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *extra,
        ],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """The factory for servers that take one: the database and vendor file from
    ``CONCIERGE_DB`` and ``CONCIERGE_VENDORS``, everything else as for the CLI."""
    from .config import ConfigError

    db = os.environ.get("CONCIERGE_DB")
    if not db:
        raise ConfigError("missing environment variable CONCIERGE_DB (the ledger's SQLite file)")
    vendors = os.environ.get("CONCIERGE_VENDORS", "fixtures/vendors/kigali.yaml")
    return create_app(ServiceConfig.from_env(os.environ, db_path=db, vendors_path=vendors))
