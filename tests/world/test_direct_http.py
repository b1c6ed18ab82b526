"""The world's direct Graph API client sends the very requests httpx's client sends and gets the
same answers, faults included: only the client machinery in between is left out."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators import httpx_json
from simulators.adapters.graph_api import GraphApiTransport
from simulators.direct_http import DirectClient
from simulators.whatsapp import FakeWhatsAppCloud

PNID = "106540352242922"
TOKEN = "EAAG-test-token"


def _fake() -> FakeWhatsAppCloud:
    return FakeWhatsAppCloud(phone_number_id=PNID, access_token=TOKEN, app_secret="s", now=lambda: 1.75e9, seed=3)


def _exchange(make_client) -> tuple[list, list]:
    fake = _fake()
    with make_client(fake) as http:
        transport = GraphApiTransport(http, phone_number_id=PNID, access_token=TOKEN)
        outcomes = [
            transport.send_text("+250788000101", "Muraho é", idempotency_key="k1"),
            transport.send_buttons("+250788000102", "Yes?", [("yes", "Yes"), ("no", "No")], idempotency_key="k2"),
        ]
        fake.inject_fault("whatsapp_send", status=503, retry_after=7)
        outcomes.append(transport.send_text("+250788000101", "again", idempotency_key="k3"))
        fake.inject_fault("whatsapp_send", kind="timeout")
        outcomes.append(transport.send_text("+250788000101", "late", idempotency_key="k4"))
        outcomes.append(GraphApiTransport(http, phone_number_id=PNID, access_token="wrong")
                        .send_text("+250788000101", "x", idempotency_key="k5"))
    wire = [(r.method, str(r.url), sorted(r.headers.multi_items()), r.content) for r in fake.requests]
    return wire, outcomes


def test_direct_client_sends_the_same_bytes_and_reads_the_same_answers():
    wire, outcomes = _exchange(lambda fake: fake.direct_client())
    assert (wire, outcomes) == _exchange(lambda fake: fake.client())
    assert [o.status for o in outcomes] == ["sent", "sent", "retry", "retry", "failed"]
    assert len(wire) == 5 and all(h for _, _, h, _ in wire)


def test_direct_client_refuses_to_send_once_closed():
    client = _fake().direct_client()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.post(f"/v21.0/{PNID}/messages", json={})
    assert isinstance(client, httpx.Client)


# --- the request builder's shortcut: every request must be the one httpx's builder makes -----------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_HEADER_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=14)
_HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=24)
_BASE = "https://graph.facebook.com"


def _wire(request: httpx.Request) -> tuple:
    """Everything the request holds (headers by their raw list, the stream by its bytes)."""
    return request.method, str(request.url), request.headers.raw, request.content, request.extensions, \
        httpx_json.state(request)


def _clients(**kwargs) -> tuple[httpx.Client, DirectClient]:
    return httpx.Client(base_url=_BASE, **kwargs), DirectClient(base_url=_BASE, **kwargs)


# Made once for the property below (a client's TLS context is costly); the header tables persist.
_PAIR = httpx.Client(base_url=_BASE), DirectClient(base_url=_BASE, transport=httpx.MockTransport(lambda _: httpx.Response(204)))


@settings(max_examples=200, deadline=None)
@given(body=_JSON.filter(lambda j: j is not None),
       headers=st.none() | st.dictionaries(_HEADER_NAME, _HEADER_VALUE, max_size=3),
       path=st.sampled_from(["/v21.0/106540352242922/messages", "/v19.0/2/messages", "/x"]),
       method=st.sampled_from(["POST", "post", "PUT"]),
       host=st.sampled_from([_BASE, "http://127.0.0.1:8080", "https://lookaside.fbsbx.com"]))
def test_a_json_send_is_the_request_httpx_builds(body, headers, path, method, host):
    """Method, URL, every header in httpx's order, body bytes and the timeout extension; twice, the
    second time from the header list the first one left."""
    real, direct = _PAIR
    url = httpx.URL(host + path)
    for _ in range(2):
        expected = _wire(real.build_request(method, url, json=body, headers=headers))
        assert _wire(direct.build_request(method, url, json=body, headers=headers)) == expected
        assert _wire(direct.request(method, url, json=body, headers=headers).request) == expected


def test_the_shortcut_is_taken_once_httpx_has_built_the_headers(monkeypatch):
    """Else the property above would hold trivially: the second send of a body length must not call
    httpx's builder."""
    direct = DirectClient(base_url=_BASE)
    url = httpx.URL(_BASE + "/v21.0/1/messages")
    direct.build_request("POST", url, json={"a": 1}, headers={"Authorization": "Bearer t"})
    calls = []
    monkeypatch.setattr(httpx.Client, "build_request", lambda *a, **k: calls.append(a))
    direct.build_request("POST", url, json={"b": 2}, headers={"Authorization": "Bearer t"})
    direct.build_request("POST", url, json={"b": "another length"}, headers={"Authorization": "Bearer t"})
    assert calls == []


def test_the_shortcut_follows_changes_to_the_clients_headers():
    real, direct = _clients()
    url = httpx.URL(_BASE + "/v21.0/1/messages")
    direct.build_request("POST", url, json={"a": 1})
    for client in (real, direct):
        client.headers["X-Trace"] = "on"
    assert _wire(direct.build_request("POST", url, json={"a": 1})) == _wire(real.build_request("POST", url, json={"a": 1}))
    for client in (real, direct):
        client.headers = {"Accept": "text/plain"}
    assert _wire(direct.build_request("POST", url, json={"a": 1})) == _wire(real.build_request("POST", url, json={"a": 1}))


@pytest.mark.parametrize("kwargs", [
    {"json": {"a": 1}},
    {"json": {"a": 1}, "params": {"q": "1"}},
    {"content": b"raw"},
    {"json": {"a": 1}, "headers": {"Content-Length": "99"}},
    {"json": {"a": 1}, "headers": {"Host": "elsewhere.example"}},
    {"json": {"a": 1}, "headers": [("Authorization", "Bearer a"), ("Authorization", "Bearer b")]},
    {"json": {"a": 1}, "timeout": 3.0},
    {"json": {"a": 1}, "extensions": {"trace": None}},
    {"data": {"a": "1"}},
])
def test_other_requests_are_built_by_httpx(kwargs):
    real, direct = _clients()
    for url in ("/v21.0/1/messages", httpx.URL("/v21.0/1/messages"), httpx.URL(_BASE + "/v21.0/1/messages")):
        assert _wire(direct.build_request("POST", url, **kwargs)) == _wire(real.build_request("POST", url, **kwargs))


def test_cookies_and_query_parameters_on_the_client_are_sent_as_httpx_sends_them():
    url = httpx.URL(_BASE + "/v21.0/1/messages")
    real, direct = _clients(params={"appsecret_proof": "p"})
    assert _wire(direct.build_request("POST", url, json={"a": 1})) == _wire(real.build_request("POST", url, json={"a": 1}))
    real, direct = _clients()
    direct.build_request("POST", url, json={"a": 1})
    for client in (real, direct):  # a cookie set after the first send travels with the next
        client.cookies.set("c", "1", domain="graph.facebook.com")
    built = direct.build_request("POST", url, json={"a": 1})
    assert _wire(built) == _wire(real.build_request("POST", url, json={"a": 1})) and "Cookie" in built.headers


def test_a_json_encoding_unlike_httpxs_turns_the_shortcut_off(monkeypatch):
    """Should httpx encode JSON otherwise (it did before 0.28), the body must still be httpx's."""
    monkeypatch.setattr(httpx_json, "encode", lambda value: json.dumps(value).encode())
    httpx_json.encodes_as_httpx.cache_clear()
    try:
        real, direct = _clients()
        url = httpx.URL(_BASE + "/v21.0/1/messages")
        body = {"to": "250788000101", "text": {"body": "Muraho é"}}
        assert _wire(direct.build_request("POST", url, json=body)) == _wire(real.build_request("POST", url, json=body))
    finally:
        httpx_json.encodes_as_httpx.cache_clear()


def test_a_jar_whose_cookies_were_cleared_still_sends_what_httpx_sends():
    """Clearing a cookie by name may leave its domain in the jar: the shortcut then leaves the send
    to httpx's builder, and either way the request is httpx's."""
    url = httpx.URL(_BASE + "/v21.0/1/messages")
    real, direct = _clients()
    for client in (real, direct):
        client.cookies.set("c", "1", domain="graph.facebook.com", path="/")
        client.cookies.jar.clear("graph.facebook.com", "/", "c")
        assert not client.cookies
    assert _wire(direct.build_request("POST", url, json={"a": 1})) == _wire(real.build_request("POST", url, json={"a": 1}))


def test_the_host_follows_each_url():
    """The URL's host is remembered for the last URL object only: another URL, another Host."""
    real, direct = _clients()
    for host in (_BASE, "http://127.0.0.1:8080", _BASE, "https://lookaside.fbsbx.com"):
        url = httpx.URL(host + "/v21.0/1/messages")
        for _ in range(2):
            expected = _wire(real.build_request("POST", url, json={"a": 1}))
            assert _wire(direct.build_request("POST", url, json={"a": 1})) == expected
