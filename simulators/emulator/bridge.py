"""A served Graph API request handed to ``FakeWhatsAppCloud.handle`` as is, and its answer sent back.

The fake routes, validates and answers exactly as it does behind ``httpx.MockTransport``; only the
host changes: a request for ``/whatsapp_business/attachments/`` is the media CDN's, any other is the
Graph API's. A timeout fault makes the fake raise ``httpx.ReadTimeout``: a served API cannot raise
into its client, so the request hangs instead, long enough for any sane client to give up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from starlette.requests import Request
from starlette.responses import Response

from ..whatsapp import GRAPH_HOST, MEDIA_HOST, FakeWhatsAppCloud

MAX_BODY = 1024 * 1024  # far above any valid send; a bigger body is refused before it is read
_DROPPED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class Hang:
    """The fake timed out: the client gets nothing for ``seconds``, then a 504."""

    seconds: float


async def forward(request: Request, fake: FakeWhatsAppCloud, hang_s: float) -> Response | Hang:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return _too_large()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return _too_large()
    path = request.url.path
    host = MEDIA_HOST if path.startswith("/whatsapp_business/attachments") else GRAPH_HOST
    query = request.url.query
    outgoing = httpx.Request(
        request.method, f"https://{host}{path}" + (f"?{query}" if query else ""),
        headers=[(k, v) for k, v in request.headers.items() if k not in _DROPPED_HEADERS],
        content=body,
    )
    try:
        answer = fake.handle(outgoing)
    except httpx.TimeoutException:
        return Hang(hang_s)
    finally:
        fake.requests.clear()  # the fake keeps every request for in-process tests; a server must not
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED_HEADERS}
    return Response(answer.content, status_code=answer.status_code, headers=headers)


async def hang(seconds: float) -> Response:
    await asyncio.sleep(seconds)
    return Response(b'{"error":{"message":"Gateway timeout (simulated)","type":"OAuthException","code":2}}',
                    status_code=504, media_type="application/json")


def _too_large() -> Response:
    return Response(b'{"error":{"message":"(#100) Request body too large","type":"OAuthException","code":100}}',
                    status_code=413, media_type="application/json")
