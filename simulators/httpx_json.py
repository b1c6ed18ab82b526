"""JSON bodies as httpx encodes them, and JSON responses built without httpx's generic path.

``httpx.Response(status, json=payload)`` encodes the body, merges its content headers into the
given ones one look-up at a time, then loads the body through the streaming machinery (decoder,
chunkers, request contexts) that a body already in memory does not need; the Cloud API fake answers
every send with such a response. Here the same response (status, headers in httpx's order, body
bytes, and the state reading leaves: loaded, stream consumed and closed) is built from a header list
made in one go and the body it already holds. Both the body encoding and the response, every
attribute of it, are checked against httpx's own once a process: should a version of httpx build
them otherwise (httpx before 0.28 encoded JSON with spaces), httpx's own path is used.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

from concierge.json_text import json_writer

# Non-ASCII, a line separator, an astral character, floats, nesting: what an encoding could differ on.
_PROBE = {"a": [1, 2.5, None, True, {}], "é": "ü\u2028\U0001f600\"\\", "s": "x y"}


# json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False): httpx's text, written
# by concierge/json_text.py (orjson where its text is sure to be json's).
_HTTPX_JSON = json_writer(ensure_ascii=False, allow_nan=False)


def encode(value: Any) -> bytes:
    """``value`` as httpx encodes a ``json=`` body (compact, UTF-8, no NaN)."""
    return _HTTPX_JSON(value).encode("utf-8")


@functools.cache
def encodes_as_httpx() -> bool:
    return httpx.Request("POST", "https://example.org/", json=_PROBE).content == encode(_PROBE)


def response(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """``httpx.Response(status, json=payload, headers=headers)``, header for header and byte for byte
    (the given headers hold no content header)."""
    if payload is None or not _responds_as_httpx():  # httpx sends no body for json=None
        return httpx.Response(status, json=payload, headers=headers)
    return _response(status, payload, headers)


def _response(status: int, payload: Any, headers: dict[str, str] | None) -> httpx.Response:
    body = encode(payload)
    raw = [*(headers.items() if headers else ()), ("Content-Length", str(len(body))),
           ("Content-Type", "application/json")]
    made = httpx.Response(status, headers=raw, stream=httpx.ByteStream(body))
    # What Response.read() leaves on a response built with its content (state() compares them all).
    made._content = body
    made._decoder = made._get_content_decoder()
    made.is_stream_consumed = made.is_closed = True
    return made


def state(message: httpx.Response | httpx.Request) -> dict[str, Any]:
    """Everything a response (or request) holds, objects by what they carry (headers by their raw
    list, a stream by its bytes, a decoder by its type): two with equal states answer every read alike."""
    out: dict[str, Any] = {}
    for name, value in vars(message).items():
        if isinstance(value, httpx.Headers):
            value = value.raw
        elif isinstance(value, httpx.ByteStream):
            value = (type(value), b"".join(value))
        elif name == "_decoder":
            value = type(value)
        out[name] = value
    return out


@functools.cache
def _responds_as_httpx() -> bool:
    if not encodes_as_httpx():
        return False
    expected = httpx.Response(429, json=_PROBE, headers={"Retry-After": "1"})
    return state(_response(429, _PROBE, {"Retry-After": "1"})) == state(expected)
