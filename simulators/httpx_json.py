"""JSON bodies as httpx encodes them, and JSON responses built without httpx's generic path.

``httpx.Response(status, json=payload)`` encodes the body, then merges its content headers into the
given ones one look-up at a time; the Cloud API fake answers every send with such a response. Here
the same response (status, headers in httpx's order, body bytes, loaded) is built from a header list
made in one go. Both the body encoding and the response are checked against httpx's own once a
process: should a version of httpx build them otherwise (httpx before 0.28 encoded JSON with spaces),
httpx's own path is used.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx

from concierge.json_text import JsonWriter

# Non-ASCII, a line separator, an astral character, floats, nesting: what an encoding could differ on.
_PROBE = {"a": [1, 2.5, None, True, {}], "é": "ü\u2028\U0001f600\"\\", "s": "x y"}


# json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False): httpx's text, written
# by concierge/json_text.py (orjson where its text is sure to be json's).
_HTTPX_JSON = JsonWriter(ensure_ascii=False, allow_nan=False)


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
    made.read()  # loaded, as a response built with its content is
    return made


@functools.cache
def _responds_as_httpx() -> bool:
    if not encodes_as_httpx():
        return False
    expected = httpx.Response(429, json=_PROBE, headers={"Retry-After": "1"})
    made = _response(429, _PROBE, {"Retry-After": "1"})
    return (made.headers.raw, made.content) == (expected.headers.raw, expected.content)
