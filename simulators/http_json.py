"""httpx's JSON bodies (``json=value``) written through concierge.json_text: the same bytes and headers.

httpx (0.28 and later) writes ``json=`` as ``json.dumps(value, ensure_ascii=False, separators=(",", ":"),
allow_nan=False)`` in UTF-8 and adds ``Content-Length`` then ``Content-Type: application/json`` after
the headers given. ``json_body`` returns the keyword arguments that build the very same request or
response from that text written by ``JsonWriter`` (tests/world/test_http_json.py compares the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from concierge.json_text import JsonWriter

_HTTPX_JSON = JsonWriter(ensure_ascii=False, allow_nan=False)


def json_body(value: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``content=`` and ``headers=`` for ``httpx.Request``/``Client.post``/``httpx.Response`` in
    place of ``json=value, headers=headers``; ``value`` is not None (httpx reads ``json=None`` as no
    body at all)."""
    content = _HTTPX_JSON(value).encode("utf-8")
    return {"content": content, "headers": {**(headers or {}), "Content-Length": str(len(content)),
                                            "Content-Type": "application/json"}}
