"""The fake's JSON answers are built without httpx's generic path: each must be the response httpx
builds for ``Response(status, json=payload, headers=headers)``, header for header, byte for byte."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators import httpx_json

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_HEADERS = st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=12)
    .filter(lambda name: name.lower() not in ("content-length", "content-type", "transfer-encoding")),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20), max_size=3)


def _as_sent(response: httpx.Response) -> dict:
    return httpx_json.state(response)


@settings(max_examples=200, deadline=None)
@given(payload=_JSON, status=st.sampled_from([200, 400, 401, 404, 429, 500, 503]), headers=st.none() | _HEADERS)
def test_a_json_answer_is_the_response_httpx_builds(payload, status, headers):
    made = httpx_json.response(status, payload, headers)
    assert _as_sent(made) == _as_sent(httpx.Response(status, json=payload, headers=headers))
    if payload is not None:
        assert made.json() == payload


@settings(max_examples=100, deadline=None)
@given(payload=_JSON.filter(lambda value: value is not None))  # json=None means no body
def test_a_body_is_encoded_as_httpx_encodes_json(payload):
    assert httpx_json.encode(payload) == httpx.Request("POST", "https://example.org/", json=payload).content


def test_the_shortcut_is_taken(monkeypatch):
    """Else the property above would hold trivially."""
    assert httpx_json._responds_as_httpx()
    monkeypatch.setattr(httpx_json, "encode", lambda value: b"shortcut")
    assert httpx_json.response(200, {"a": 1}).content == b"shortcut"


def test_an_encoding_unlike_httpxs_leaves_the_answers_to_httpx(monkeypatch):
    """Should httpx encode JSON otherwise (it did before 0.28), the answers must still be httpx's."""
    monkeypatch.setattr(httpx_json, "encode", lambda value: json.dumps(value).encode())
    for check in (httpx_json.encodes_as_httpx, httpx_json._responds_as_httpx):
        check.cache_clear()
    try:
        payload = {"error": {"message": "(#130429) Rate limit hit", "code": 130429}}
        made = httpx_json.response(429, payload, {"Retry-After": "1"})
        assert _as_sent(made) == _as_sent(httpx.Response(429, json=payload, headers={"Retry-After": "1"}))
    finally:
        for check in (httpx_json.encodes_as_httpx, httpx_json._responds_as_httpx):
            check.cache_clear()


def test_a_response_unlike_httpxs_leaves_the_answers_to_httpx(monkeypatch):
    """Should httpx order or name the content headers otherwise, the answers must still be httpx's."""
    made_otherwise = httpx_json._response

    def otherwise(status, payload, headers):
        made = made_otherwise(status, payload, headers)
        return httpx.Response(status, headers=list(reversed(made.headers.raw)), content=made.content)

    monkeypatch.setattr(httpx_json, "_response", otherwise)
    httpx_json._responds_as_httpx.cache_clear()
    try:
        made = httpx_json.response(429, {"a": 1}, {"Retry-After": "1"})
        assert _as_sent(made) == _as_sent(httpx.Response(429, json={"a": 1}, headers={"Retry-After": "1"}))
    finally:
        httpx_json._responds_as_httpx.cache_clear()


def test_state_tells_apart_what_reading_a_response_changes():
    """The comparison the shortcut is checked by sees every attribute a read sets."""
    read = httpx.Response(200, json={"a": 1})
    unread = httpx.Response(200, headers=read.headers.raw, stream=httpx.ByteStream(read.content))
    assert httpx_json.state(read) != httpx_json.state(unread)
    unread.read()
    assert httpx_json.state(read) != httpx_json.state(unread)  # read() counted the bytes it streamed
    unread._num_bytes_downloaded = 0
    assert httpx_json.state(read) == httpx_json.state(unread)
    assert httpx_json.state(read) != httpx_json.state(httpx.Response(200, json={"a": 2}))


def test_a_response_left_open_leaves_the_answers_to_httpx(monkeypatch):
    """Should the shortcut leave a response in a state httpx's reading does not, httpx builds them."""
    made_otherwise = httpx_json._response

    def left_open(status, payload, headers):
        made = made_otherwise(status, payload, headers)
        made.is_closed = False
        return made

    monkeypatch.setattr(httpx_json, "_response", left_open)
    httpx_json._responds_as_httpx.cache_clear()
    try:
        made = httpx_json.response(200, {"a": 1})
        assert made.is_closed and _as_sent(made) == _as_sent(httpx.Response(200, json={"a": 1}))
    finally:
        httpx_json._responds_as_httpx.cache_clear()
