"""FakeWhatsAppCloud (Graph API routes, faults, media, webhooks) and the GraphApiTransport mapping."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.errors import MediaUnavailable
from concierge.ports import SendOutcome, Transport
from concierge.webhooks import InboundMessage, StatusUpdate, parse_webhook
from simulators.adapters.graph_api import GraphApiTransport
from simulators.whatsapp import FakeWhatsAppCloud, SentMessage, _authorization

PNID = "106540352242922"
TOKEN = "EAAG-test-token"
SECRET = "app-secret"
ALICE = "+250788000101"


class Clock:
    def __init__(self) -> None:
        self.t = 1_750_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock) -> FakeWhatsAppCloud:
    return FakeWhatsAppCloud(phone_number_id=PNID, access_token=TOKEN, app_secret=SECRET, now=clock, seed=7)


@pytest.fixture
def http(fake):
    with fake.client() as client:
        yield client


@pytest.fixture
def transport(http) -> GraphApiTransport:
    return GraphApiTransport(http, phone_number_id=PNID, access_token=TOKEN)


def text_body(to: str = "250788000101", body: str = "Muraho", **extra) -> dict:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body}, **extra}


def post(http, body, *, token: str | None = TOKEN, version: str = "v21.0", pnid: str = PNID) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.post(f"/{version}/{pnid}/messages", json=body, headers=headers)


# --- the send route ----------------------------------------------------------------------------------


def test_text_send_answers_like_meta_and_is_recorded(fake, http, clock):
    clock.t += 12.5
    response = post(http, text_body(biz_opaque_callback_data="key-1"))
    assert response.status_code == 200
    data = response.json()
    wamid = data["messages"][0]["id"]
    assert data["messaging_product"] == "whatsapp" and wamid.startswith("wamid.")
    assert data["contacts"] == [{"input": "250788000101", "wa_id": "250788000101"}]
    assert fake.sent == [SentMessage(to=ALICE, type="text", text="Muraho", wamid=wamid, at=clock.t,
                                     callback_data="key-1")]


def test_contacts_echo_the_recipient_as_the_request_wrote_it(http):
    data = post(http, text_body(to="+250788000101")).json()
    assert data["contacts"] == [{"input": "+250788000101", "wa_id": "250788000101"}]


@pytest.mark.parametrize("version", ["v17.0", "v21.0", "v26.0"])
def test_any_graph_version_is_served(http, version):
    assert post(http, text_body(), version=version).status_code == 200


@pytest.mark.parametrize("version", ["21.0", "v21", "latest"])
def test_a_path_without_a_proper_version_is_404(fake, http, version):
    assert post(http, text_body(), version=version).status_code == 404
    assert fake.sent == []


def test_interactive_reply_buttons_are_recorded(fake, http):
    body = {"messaging_product": "whatsapp", "to": "250788000101", "type": "interactive", "interactive": {
        "type": "button", "body": {"text": "May we call the pharmacy?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "consent:yes", "title": "Yes"}},
                               {"type": "reply", "reply": {"id": "consent:no", "title": "No"}}]}}}
    assert post(http, body).status_code == 200
    (sent,) = fake.sent
    assert (sent.type, sent.text, sent.buttons) == (
        "interactive", "May we call the pharmacy?", (("consent:yes", "Yes"), ("consent:no", "No")))


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x"])
def test_a_bad_token_is_401_with_meta_error_json(fake, http, token):
    response = post(http, text_body(), token=token)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["code"], error["type"]) == (190, "OAuthException") and error["fbtrace_id"]
    assert fake.sent == []


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b.pop("messaging_product"), 100),
        (lambda b: b.update(messaging_product="sms"), 100),
        (lambda b: b.pop("to"), 100),
        (lambda b: b.update(to="hello"), 100),
        (lambda b: b.update(type="sticker"), 100),
        (lambda b: b.update(text={"body": ""}), 100),
        (lambda b: b.update(text={"body": "x" * 4097}), 100),
        (lambda b: b.update(biz_opaque_callback_data="k" * 513), 100),
        (lambda b: b.update(type="interactive", interactive={"type": "button", "body": {"text": "q"},
                                                             "action": {"buttons": []}}), 131009),
        (lambda b: b.update(type="interactive", interactive={"type": "button", "body": {"text": "q"}, "action": {
            "buttons": [{"type": "reply", "reply": {"id": str(i), "title": f"T{i}"}} for i in range(4)]}}), 131009),
        (lambda b: b.update(type="interactive", interactive={"type": "button", "body": {"text": "q"}, "action": {
            "buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]}}), 131009),
    ],
)
def test_invalid_sends_are_400_and_not_delivered(fake, http, mutate, code):
    body = text_body()
    mutate(body)
    response = post(http, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert fake.sent == []


def test_unknown_phone_number_id_and_unknown_routes(fake, http):
    assert post(http, text_body(), pnid="999").status_code == 400
    assert http.get("/v21.0/me/whatever", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
    assert http.delete(f"/v21.0/{PNID}/messages").status_code == 404
    assert httpx.Client(transport=httpx.MockTransport(fake.handle)).get("https://example.org/").status_code == 404


def test_wamids_are_deterministic_per_seed_and_unique(clock):
    def run(seed):
        fake = FakeWhatsAppCloud(phone_number_id=PNID, access_token=TOKEN, app_secret=SECRET, now=clock, seed=seed)
        with fake.client() as http:
            return [post(http, text_body()).json()["messages"][0]["id"] for _ in range(5)]

    first = run(1)
    assert first == run(1) and len(set(first)) == 5 and first != run(2)


# --- deliveries and faults -------------------------------------------------------------------------


def test_deliveries_count_per_idempotency_key(fake, http):
    for key in ("a", "a", "b"):
        post(http, text_body(biz_opaque_callback_data=key))
    assert (fake.deliveries("a"), fake.deliveries("b"), fake.deliveries("c")) == (2, 1, 0)


def test_429_carries_retry_after_and_meta_code(fake, http):
    fake.inject_fault("whatsapp_send", status=429, retry_after=30)
    response = post(http, text_body())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert response.json()["error"]["code"] == 130429
    assert fake.sent == []
    assert post(http, text_body()).status_code == 200  # the fault was used up


@pytest.mark.parametrize("status", [500, 503, 403])
def test_status_faults_fail_the_next_n_sends(fake, http, status):
    fake.inject_fault("whatsapp_send", status=status, times=2)
    assert [post(http, text_body()).status_code for _ in range(3)] == [status, status, 200]
    assert len(fake.sent) == 1


def test_timeout_after_delivery_records_the_message(fake, http):
    fake.inject_fault("whatsapp_send", kind="timeout")
    with pytest.raises(httpx.ReadTimeout):
        post(http, text_body(biz_opaque_callback_data="k"))
    assert fake.deliveries("k") == 1
    (hook,) = fake.drain_status_webhooks()
    (status,) = parse_webhook(hook.body, hook.headers["X-Hub-Signature-256"], SECRET)
    assert (status.status, status.callback_data, status.wamid) == ("sent", "k", fake.sent[0].wamid)


def test_timeout_before_delivery_records_nothing(fake, http):
    fake.inject_fault("whatsapp_send", kind="timeout", delivered_on_timeout=False)
    with pytest.raises(httpx.ReadTimeout):
        post(http, text_body(biz_opaque_callback_data="k"))
    assert fake.deliveries("k") == 0 and fake.drain_status_webhooks() == []


@pytest.mark.parametrize(
    "kwargs",
    [dict(target="sms"), dict(target="whatsapp_send"), dict(target="whatsapp_send", status=500, kind="timeout"),
     dict(target="whatsapp_send", kind="truncated"), dict(target="media_download", status=200),
     dict(target="whatsapp_send", status=500, times=0)],
)
def test_inject_fault_refuses_what_it_cannot_simulate(fake, kwargs):
    target = kwargs.pop("target")
    with pytest.raises(ValueError):
        fake.inject_fault(target, **kwargs)


# --- media -------------------------------------------------------------------------------------------


def test_media_lookup_and_download(fake, http):
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    media_id = fake.put_media(data, "image/png")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    info = http.get(f"/v21.0/{media_id}", headers=auth).json()
    assert info == {"messaging_product": "whatsapp", "url": info["url"], "mime_type": "image/png",
                    "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data), "id": media_id}
    assert http.get(info["url"]).status_code == 401  # the download needs the token too
    download = http.get(info["url"], headers=auth)
    assert download.content == data and download.headers["Content-Type"] == "image/png"


def test_unknown_media_id_is_a_graph_error(http):
    response = http.get("/v21.0/123456", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and response.json()["error"]["error_subcode"] == 33


def test_transport_downloads_and_verifies_media(fake, transport):
    media_id = fake.put_media(b"prescription bytes", "image/jpeg")
    assert transport.download_media(media_id) == b"prescription bytes"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(dict(status=404), "http 404"), (dict(status=500), "http 500"), (dict(kind="timeout"), "timeout"),
     (dict(kind="truncated"), "truncated")],
)
def test_media_faults_become_media_unavailable(fake, transport, fault, reason):
    media_id = fake.put_media(b"x" * 1000, "image/jpeg")
    fake.inject_fault("media_download", **fault)
    with pytest.raises(MediaUnavailable, match=reason):
        transport.download_media(media_id)
    assert transport.download_media(media_id) == b"x" * 1000  # one fault, one failure


def test_truncated_bytes_fail_the_sha256_check_even_without_a_size():
    body = b"y" * 64
    routes = {
        "/v21.0/42": httpx.Response(200, json={"url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=42",
                                               "sha256": hashlib.sha256(body).hexdigest(), "id": "42"}),
        "/whatsapp_business/attachments/": httpx.Response(200, content=body[:10]),
    }
    client = httpx.Client(base_url="https://graph.facebook.com",
                          transport=httpx.MockTransport(lambda r: routes[r.url.path]))
    with pytest.raises(MediaUnavailable, match="sha256 mismatch"):
        GraphApiTransport(client, phone_number_id=PNID, access_token=TOKEN).download_media("42")


@pytest.mark.parametrize("media_id", ["", "404404", "../../me"])
def test_missing_media_is_unavailable(transport, media_id):
    with pytest.raises(MediaUnavailable):
        transport.download_media(media_id)


def test_media_url_that_is_not_https_is_never_fetched():
    seen = []

    def handler(request):
        seen.append(str(request.url))
        return httpx.Response(200, json={"url": "http://evil.example/steal", "sha256": "0", "id": "1"})

    client = httpx.Client(base_url="https://graph.facebook.com", transport=httpx.MockTransport(handler))
    with pytest.raises(MediaUnavailable, match="https"):
        GraphApiTransport(client, phone_number_id=PNID, access_token=TOKEN).download_media("1")
    assert seen == ["https://graph.facebook.com/v21.0/1"]


# --- webhooks from the factory ------------------------------------------------------------------------


def test_message_webhooks_are_signed_and_parse_back(fake, clock):
    media_id = fake.put_media(b"pdf", "application/pdf")
    hooks = [
        fake.message_webhook("0788 000 101", text="Ndashaka panadol", profile_name="Aline"),
        fake.message_webhook(ALICE, kind="document", media_id=media_id, caption="rx", filename="rx.pdf"),
        fake.message_webhook(ALICE, kind="interactive", button_id="consent:yes", button_title="Yes",
                             context_wamid="wamid.OUT"),
        fake.message_webhook(ALICE, kind="button", button_id="p1", button_title="Stop"),
        fake.message_webhook(ALICE, kind="unsupported"),
    ]
    parsed = [parse_webhook(h.body, h.headers["X-Hub-Signature-256"], SECRET)[0] for h in hooks]
    assert [p.wamid for p in parsed] == [h.wamid for h in hooks]
    assert len({h.wamid for h in hooks}) == len(hooks)
    assert parsed[0] == InboundMessage(wamid=hooks[0].wamid, from_phone=ALICE, timestamp=int(clock.t),
                                       kind="text", text="Ndashaka panadol", profile_name="Aline")
    assert (parsed[1].kind, parsed[1].media_id, parsed[1].mime_type, parsed[1].caption, parsed[1].filename) == (
        "document", media_id, "application/pdf", "rx", "rx.pdf")
    assert (parsed[2].button_id, parsed[2].text, parsed[2].context_wamid) == ("consent:yes", "Yes", "wamid.OUT")
    assert (parsed[3].kind, parsed[3].button_id, parsed[3].text) == ("button", "p1", "Stop")
    assert parsed[4].kind == "unsupported"


def test_webhook_wire_details(fake, clock):
    clock.t = 1_750_000_123.9
    hook = fake.message_webhook(ALICE, text="é", wamid="wamid.FIXED")
    payload = json.loads(hook.body)
    value = payload["entry"][0]["changes"][0]["value"]
    assert payload["object"] == "whatsapp_business_account" and payload["entry"][0]["id"] == fake.waba_id
    assert value["metadata"] == {"display_phone_number": "250788999000", "phone_number_id": PNID}
    assert value["messages"][0]["timestamp"] == "1750000123"  # Unix seconds as a string, like Meta
    assert value["contacts"][0]["wa_id"] == "250788000101" and value["contacts"][0]["user_id"].startswith("RW.")
    assert b"\\u00e9" in hook.body  # Meta escapes non-ASCII; the signature covers these exact bytes
    assert hook.wamid == "wamid.FIXED" and hook.headers["X-Hub-Signature"].startswith("sha1=")


def test_a_redelivered_webhook_is_byte_identical(fake):
    hook = fake.message_webhook(ALICE, text="hi")
    again = fake.message_webhook(ALICE, text="hi", wamid=hook.wamid)
    assert again.body == hook.body and again.headers == hook.headers


def test_status_webhooks_sent_delivered_failed(fake):
    for state in ("sent", "delivered", "read", "failed"):
        hook = fake.status_webhook("wamid.OUT", state, ALICE, callback_data="key")
        (status,) = parse_webhook(hook.body, hook.headers["X-Hub-Signature-256"], SECRET)
        assert isinstance(status, StatusUpdate)
        assert (status.wamid, status.status, status.recipient, status.callback_data) == ("wamid.OUT", state, ALICE, "key")
        assert bool(status.errors) == (state == "failed")


def test_drain_gives_one_sent_status_per_accepted_message_once(fake, http):
    post(http, text_body(biz_opaque_callback_data="k1"))
    post(http, text_body(to="250788000102", biz_opaque_callback_data="k2"))
    hooks = fake.drain_status_webhooks()
    parsed = [parse_webhook(h.body, h.headers["X-Hub-Signature-256"], SECRET)[0] for h in hooks]
    assert [(s.callback_data, s.recipient, s.wamid) for s in parsed] == [
        ("k1", ALICE, fake.sent[0].wamid), ("k2", "+250788000102", fake.sent[1].wamid)]
    assert fake.drain_status_webhooks() == []


# --- GraphApiTransport: outcomes -------------------------------------------------------------------


def test_transport_implements_the_port(transport):
    assert isinstance(transport, Transport)


def test_send_text_is_sent_with_the_key_as_callback_data(fake, transport):
    outcome = transport.send_text(ALICE, "Muraho", idempotency_key="request:r1:to:+250788000101:hash:ab")
    assert outcome == SendOutcome("sent", wamid=fake.sent[0].wamid, http_status=200)
    assert fake.sent[0].callback_data == "request:r1:to:+250788000101:hash:ab"
    assert (fake.sent[0].to, fake.sent[0].text) == (ALICE, "Muraho")


def test_send_buttons_clamps_titles_and_refuses_too_many(fake, transport):
    outcome = transport.send_buttons(ALICE, "Call?", [("yes", "Yes, call the vendor now"), ["no", "No"]],
                                     idempotency_key="k")
    assert outcome.status == "sent"
    assert fake.sent[0].buttons == (("yes", "Yes, call the vendo…"), ("no", "No"))
    too_many = transport.send_buttons(ALICE, "Pick", [(str(i), str(i)) for i in range(4)], idempotency_key="k2")
    assert too_many.status == "failed" and len(fake.sent) == 1
    assert transport.send_buttons(ALICE, "Pick", [], idempotency_key="k3").status == "failed"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (dict(status=429, retry_after=12), SendOutcome("retry", http_status=429, retry_after_s=12.0)),
        (dict(status=429), SendOutcome("retry", http_status=429, retry_after_s=1.0)),
        (dict(status=500), SendOutcome("retry", http_status=500)),
        (dict(status=503, retry_after=2.5), SendOutcome("retry", http_status=503, retry_after_s=2.5)),
        (dict(status=400), SendOutcome("failed", http_status=400)),
        (dict(status=401), SendOutcome("failed", http_status=401)),
        (dict(kind="timeout"), SendOutcome("retry")),
        (dict(kind="timeout", delivered_on_timeout=False), SendOutcome("retry")),
    ],
)
def test_transport_maps_faults_to_outcomes(fake, transport, fault, expected):
    fake.inject_fault("whatsapp_send", **fault)
    outcome = transport.send_text(ALICE, "hi", idempotency_key="k")
    assert (outcome.status, outcome.http_status, outcome.retry_after_s, outcome.wamid) == (
        expected.status, expected.http_status, expected.retry_after_s, None)
    assert outcome.error


def test_a_timed_out_send_was_delivered_once_and_its_retry_is_a_second_delivery(fake, transport):
    # The fake tells the truth: the concierge must use the status webhook (not a blind retry) to dedupe.
    fake.inject_fault("whatsapp_send", kind="timeout")
    assert transport.send_text(ALICE, "hi", idempotency_key="k").status == "retry"
    assert fake.deliveries("k") == 1
    assert transport.send_text(ALICE, "hi", idempotency_key="k").status == "sent"
    assert fake.deliveries("k") == 2


def test_rate_limit_codes_inside_a_400_are_retried():
    def handler(request):
        return httpx.Response(400, json={"error": {"message": "(#131056) pair rate limit hit", "code": 131056}})

    client = httpx.Client(base_url="https://graph.facebook.com", transport=httpx.MockTransport(handler))
    outcome = GraphApiTransport(client, phone_number_id=PNID, access_token=TOKEN).send_text(
        ALICE, "hi", idempotency_key="k")
    assert (outcome.status, outcome.http_status) == ("retry", 400) and "131056" in outcome.error


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, text="not json"), httpx.Response(502, text="<html>bad gateway</html>"),
     httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
     httpx.Response(302, headers={"Location": "https://x"})],
)
def test_odd_responses_never_raise(response):
    client = httpx.Client(base_url="https://graph.facebook.com", transport=httpx.MockTransport(lambda r: response))
    outcome = GraphApiTransport(client, phone_number_id=PNID, access_token=TOKEN).send_text(
        ALICE, "hi", idempotency_key="k")
    expected = {200: "sent", 502: "retry", 429: "retry", 302: "failed"}[response.status_code]
    assert outcome.status == expected and outcome.retry_after_s is None


def test_connection_errors_are_retried():
    def handler(request):
        raise httpx.ConnectError("no route", request=request)

    client = httpx.Client(base_url="https://graph.facebook.com", transport=httpx.MockTransport(handler))
    transport = GraphApiTransport(client, phone_number_id=PNID, access_token=TOKEN)
    assert transport.send_text(ALICE, "hi", idempotency_key="k").status == "retry"
    with pytest.raises(MediaUnavailable, match="ConnectError"):
        transport.download_media("1")


_HEADER_VALUES = st.binary(max_size=12).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))


@settings(max_examples=300, deadline=None)
@given(headers=st.lists(st.tuples(st.sampled_from([b"Authorization", b"authorization", b"AUTHORIZATION",
                                                   b"X-Other", b"Content-Type"]), _HEADER_VALUES), max_size=4))
def test_the_token_is_read_as_httpx_reads_the_header(headers):
    """The fake reads the Authorization header's raw bytes: what httpx's own look-up gives, encoded,
    whatever the header's casing, count or encoding (httpx picks ASCII, UTF-8 or Latin-1 for all)."""
    parsed = httpx.Headers(headers)
    assert _authorization(parsed) == parsed.get("Authorization", "").encode()
