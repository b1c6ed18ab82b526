"""simulators.http_json builds the very request and response httpx builds from ``json=``.

The Graph API adapter's sends and the Cloud API fake's answers use it: the method, URL, every header
in order (raw bytes) and the body must be httpx's own, for any JSON-like value (and the same
exception for a value httpx refuses: NaN, a type json cannot write).
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from simulators.http_json import json_body

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, categories=None), max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
).filter(lambda value: value is not None)  # httpx reads json=None as no body at all
# Headers httpx accepts (it refuses a non-ASCII value before it writes the body; json_body writes the
# body first, so for a value and headers that are both refused the first error would differ).
header_sets = st.sampled_from([None, {}, {"Authorization": "Bearer t0ken"}, {"Retry-After": "30", "X-A": "b"}])


# One client for every example (building one loads the system's certificates: ~0.2 s); it never
# sends, so it holds no connection.
_CLIENT = httpx.Client(base_url="http://graph.test/v21.0", headers={"User-Agent": "sim"})


def built(build: Any) -> tuple[str, Any]:
    try:
        message = build()
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)
    head = (message.method, str(message.url)) if isinstance(message, httpx.Request) else message.status_code
    return "ok", (head, message.headers.raw, message.content)


@given(value=values, headers=header_sets)
@example(value={"to": "250788000001", "text": {"body": "Muraho 😀 é"}, "n": 1e-05}, headers={"Authorization": "Bearer x"})
@example(value={"x": float("nan")}, headers=None)
def test_a_client_request_is_httpx_own(value: Any, headers: dict[str, str] | None) -> None:
    # A client's request: its default headers merged first, as the adapter's sends are built.
    client = _CLIENT
    expected = built(lambda: client.build_request("POST", "/123/messages", json=value, headers=headers))
    assert built(lambda: client.build_request("POST", "/123/messages", **json_body(value, headers))) == expected


@given(value=values, headers=header_sets, status=st.sampled_from([200, 400, 429]))
def test_a_response_is_httpx_own(value: Any, headers: dict[str, str] | None, status: int) -> None:
    expected = built(lambda: httpx.Response(status, json=value, headers=headers))
    assert built(lambda: httpx.Response(status, **json_body(value, headers))) == expected
