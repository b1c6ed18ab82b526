"""The emulator's ASGI application: the Graph API (the fake's own routes) and the ``/sim`` endpoints.

Every endpoint is a coroutine on the one event loop, so the fake, which is not thread-safe, is only
ever touched from that loop. Rendering an image (Pillow, slow) is the one thing sent to a thread,
and it does not touch the fake.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..whatsapp import FakeWhatsAppCloud
from .bridge import Hang, forward, hang
from .config import EmulatorConfig
from .delivery import Deliveries, handshake
from .faults import FaultInvalid, Faults
from .people import MAX_MEDIA, BadMessage, People, _phone

MAX_WAIT_S = 60.0


class Emulator:
    """The served world's state: the fake, its deliveries, its people and their faults."""

    def __init__(self, config: EmulatorConfig, base_url: str, now: Callable[[], float],
                 crash: Callable[[], None] | None = None):
        self.config, self.base_url, self.now = config, base_url, now
        self.crash = crash
        self.deliveries = Deliveries(
            webhook_url=config.webhook_url, retry_schedule=config.retry_schedule,
            timeout_s=config.delivery_timeout_s, concurrency=config.concurrency, now=now,
        )
        self.reset(config.seed)

    def reset(self, seed: int) -> None:
        """An empty world again (no messages, media, faults or delivery records), its ids drawn from
        ``seed``; the subscription and the delivery workers stay. A harness calls it between
        scenarios, once no webhook is pending."""
        self.fake = FakeWhatsAppCloud(
            phone_number_id=self.config.phone_number_id, access_token=self.config.access_token,
            app_secret=self.config.app_secret, now=self.now, display_phone=self.config.display_phone,
            waba_id=self.config.waba_id, seed=seed, media_base_url=self.base_url,
        )
        self.deliveries.all.clear()
        self.deliveries.faults.clear()
        self.people = People(self.fake, self.deliveries, statuses=self.config.statuses, now=self.now)
        self.faults = Faults(self.fake, self.deliveries, self.people, self.config.timeout_hang_s,
                             can_crash=self.crash is not None)


def create_app(config: EmulatorConfig, *, base_url: str = "http://127.0.0.1:8081",
               now: Callable[[], float] = time.time, crash: Callable[[], None] | None = None) -> Starlette:
    """The app; ``base_url`` is where it is served (media objects point their downloads there);
    ``crash`` kills the business's process (a ``process`` fault; without it, refused)."""
    emulator = Emulator(config, base_url, now, crash)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await emulator.deliveries.start()
        try:
            yield
        finally:
            await emulator.deliveries.stop()

    async def graph(request: Request) -> Response:
        crash = emulator.faults.crash_for(request.method, request.url.path, await request.body())
        if crash == "crash_before_send":  # dies before Meta got the message: nothing is recorded
            await run_in_threadpool(emulator.crash)  # type: ignore[arg-type]
            return _error("the business's process was killed (simulated)", 500)
        answer = await forward(request, emulator.fake, emulator.faults.hang_s)
        emulator.people.after_graph_call()  # also after a timeout: the message may have been accepted
        if crash == "crash_after_send":  # Meta accepted it; the process dies before it hears so
            await run_in_threadpool(emulator.crash)  # type: ignore[arg-type]
        return await hang(answer.seconds) if isinstance(answer, Hang) else answer

    async def health(request: Request) -> Response:
        d = emulator.deliveries
        wait = _seconds(request.query_params.get("idle_wait"))
        if wait:  # a harness waiting for the webhooks on their way: one request, not a poll loop
            await d.until_idle(min(wait, MAX_WAIT_S))
        return JSONResponse({"status": "ok", "subscribed": d.subscribed, "webhook_url": d.webhook_url,
                             "pending_webhooks": d.pending, "phone_number_id": config.phone_number_id,
                             "messages_sent": len(emulator.fake.sent)})

    async def subscription(request: Request) -> Response:
        body = await _json(request)
        url = body.get("webhook_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _error("webhook_url: expected an http(s) URL")
        if body.get("handshake", True):
            problem = await handshake(url, config.verify_token, timeout_s=config.delivery_timeout_s)
            if problem:
                return _error(problem, 502)
        emulator.deliveries.subscribe(url)
        return JSONResponse({"subscribed": True, "webhook_url": url})

    async def messages(request: Request) -> Response:
        spec, media = await _message_request(request)
        entry = emulator.people.send(spec, media)
        delivery = entry["delivery"]
        wait = request.query_params.get("wait")
        if wait is not None:
            try:
                await asyncio.wait_for(delivery.done.wait(), timeout=min(float(wait or 10), MAX_WAIT_S))
            except (asyncio.TimeoutError, ValueError):
                pass
        return JSONResponse({"wamid": entry["wamid"], "from": _phone(spec["from"]),
                             "delivery": delivery.to_json()}, status_code=202)

    async def conversation(request: Request) -> Response:
        phone = _phone(request.path_params["phone"])
        return JSONResponse({"phone": phone, "messages": emulator.people.conversation(phone)})

    async def conversations(_request: Request) -> Response:
        people = emulator.people
        return JSONResponse({"conversations": {p: people.conversation(p) for p in people.log}})

    async def statuses(request: Request) -> Response:
        body = await _json(request)
        status = body.get("status")
        if status not in ("delivered", "read", "failed"):
            return _error("status: expected delivered, read or failed")
        try:
            delivery = emulator.people.report(str(body.get("wamid", "")), status)
        except BadMessage as exc:
            return _error(str(exc), 404)
        return JSONResponse({"delivery": delivery.to_json()}, status_code=202)

    async def deliveries(request: Request) -> Response:
        wamid = request.query_params.get("wamid")
        found = [d.to_json() for d in emulator.deliveries.all if wamid in (None, d.hook.wamid)]
        return JSONResponse({"deliveries": found})

    async def reset(request: Request) -> Response:
        body = await _json(request)
        seed = body.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            return _error("seed: expected a whole number")
        if emulator.deliveries.pending:
            return _error(f"{emulator.deliveries.pending} webhook(s) still on their way; reset once they are delivered", 409)
        emulator.reset(seed)
        return JSONResponse({"reset": True, "seed": seed})

    async def redeliver(request: Request) -> Response:
        """Meta delivers an inbound message's webhook again: the same bytes, so the same wamid."""
        wamid = (await _json(request)).get("wamid")
        found = next((d for d in emulator.deliveries.all if d.kind == "message" and d.hook.wamid == wamid), None)
        if found is None:
            return _error(f"wamid: no inbound message {str(wamid)[:60]!r} was delivered", 404)
        again = emulator.deliveries.submit(found.hook, kind="message", phone=found.phone)
        return JSONResponse({"delivery": again.to_json()}, status_code=202)

    async def sent(_request: Request) -> Response:
        """Every message the business sent, in the order Meta accepted them (all phones)."""
        return JSONResponse({"messages": [_sent_json(m) for m in emulator.fake.sent]})

    async def faults(request: Request) -> Response:
        f = emulator.faults
        if request.method == "POST":
            f.arm(await _json(request, allow_list=True))
        elif request.method == "DELETE":
            f.clear()
        return JSONResponse({"armed": f.armed, "webhook": [w.to_json() for w in emulator.deliveries.faults],
                             "failing_sends": emulator.people.failing, "hang_s": f.hang_s},
                            status_code=201 if request.method == "POST" else 200)

    routes = [
        Route("/sim/health", health, methods=["GET"]),
        Route("/sim/subscription", subscription, methods=["POST"]),
        Route("/sim/messages", messages, methods=["POST"]),
        Route("/sim/conversations", conversations, methods=["GET"]),
        Route("/sim/conversations/{phone}", conversation, methods=["GET"]),
        Route("/sim/statuses", statuses, methods=["POST"]),
        Route("/sim/deliveries", deliveries, methods=["GET"]),
        Route("/sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/sim/reset", reset, methods=["POST"]),
        Route("/sim/redeliver", redeliver, methods=["POST"]),
        Route("/sim/sent", sent, methods=["GET"]),
        # Everything else is the Graph API's (or the media CDN's): the fake routes it, 404 included.
        Route("/{path:path}", graph, methods=["GET", "POST", "DELETE", "PUT"]),
    ]
    async def refused(_request: Request, exc: Exception) -> Response:
        return _error(str(exc))

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={BadMessage: refused, FaultInvalid: refused})
    app.state.emulator = emulator
    return app


async def _message_request(request: Request) -> tuple[dict[str, Any], tuple[bytes, str] | None]:
    """A person's message as JSON, or as a multipart form whose ``file`` part is the attachment."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_MEDIA + 64 * 1024:  # refused before it is read
            raise BadMessage(f"file: the upload has {int(declared):,} bytes; a file must have 1 byte to 5 MB")
        form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_MEDIA + 1)
        upload = form.get("file")
        spec = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        if upload is None or isinstance(upload, str):
            return spec, None
        data = await upload.read()
        return spec, (data, (upload.content_type or "application/octet-stream").split(";")[0])
    spec = await _json(request)
    image = spec.pop("image", None)
    if image is None:
        return spec, None
    if not isinstance(image, dict) or "render" not in image:
        raise BadMessage("image: in JSON give a render spec {\"render\": \"prescription\", \"lines\": [...]}; "
                         "upload a file as multipart/form-data with a 'file' part")
    from ..render import render

    try:
        rendered = await run_in_threadpool(render, image, int(image.get("seed", 0) or 0))
    except (ValueError, TypeError) as exc:
        raise BadMessage(f"image render spec: {exc}") from None
    return spec, (rendered.image_bytes, rendered.mime)


async def _json(request: Request, *, allow_list: bool = False) -> dict[str, Any]:
    raw = await request.body()
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        raise BadMessage("body: not JSON") from None
    if not isinstance(value, dict) and not allow_list:
        raise BadMessage("body: expected a JSON object")
    return value


def _seconds(raw: str | None) -> float:
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        raise BadMessage(f"expected seconds, got {raw[:20]!r}") from None


def _sent_json(m: Any) -> dict[str, Any]:
    return {"to": m.to, "type": m.type, "text": m.text, "wamid": m.wamid, "at": m.at,
            "buttons": [list(b) for b in m.buttons], "rows": [list(r) for r in m.rows],
            "list_button": m.list_button, "callback_data": m.callback_data, "context_wamid": m.context_wamid}


def _error(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)
