"""concierge.webhooks: signature checks, every message kind, statuses, bad shapes, and a fuzz."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from concierge.errors import SignatureInvalid, WebhookMalformed
from concierge.webhooks import InboundMessage, StatusUpdate, parse_webhook, verify_signature
from simulators.whatsapp import FakeWhatsAppCloud

SECRET = "test-app-secret"
T0 = 1_750_000_000


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(value: dict) -> dict:
    base = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "250788999000", "phone_number_id": "106540352242922"},
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {**base, **value}}]}],
    }


def message_payload(kind: str, content: dict | None = None, **extra) -> dict:
    msg = {"from": "250788000101", "id": "wamid.ABC", "timestamp": str(T0), "type": kind, **extra}
    if content is not None:
        msg[kind] = content
    return envelope({
        "contacts": [{"profile": {"name": "Aline"}, "wa_id": "250788000101"}],
        "messages": [msg],
    })


def parse(payload: dict | bytes) -> list:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_webhook(body, sign(body), SECRET)


def parse_one(payload: dict) -> InboundMessage | StatusUpdate:
    (item,) = parse(payload)
    return item


@pytest.fixture
def fake() -> FakeWhatsAppCloud:
    return FakeWhatsAppCloud(
        phone_number_id="106540352242922", access_token="tok", app_secret=SECRET, now=lambda: T0 + 0.75
    )


# --- signatures ----------------------------------------------------------------------------------


BODY = json.dumps(message_payload("text", {"body": "hi"})).encode()


def test_good_signature_verifies_and_parses():
    verify_signature(BODY, sign(BODY), SECRET)
    assert parse_one(message_payload("text", {"body": "hi"})).text == "hi"


def test_uppercase_hex_digest_is_the_same_signature():
    verify_signature(BODY, "sha256=" + sign(BODY)[7:].upper(), SECRET)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(), "malformed"),
        ("sha256=", "malformed"),
        ("sha256=xyz", "malformed"),
        ("sha256=" + "0" * 63, "malformed"),
        (sign(BODY)[7:], "malformed"),  # the digest without its "sha256=" prefix
        ("sha256=" + "0" * 64, "mismatch"),
        (sign(BODY, "another-secret"), "mismatch"),
        (sign(BODY + b" "), "mismatch"),
    ],
)
def test_bad_signatures_are_refused_with_a_reason(header, reason):
    with pytest.raises(SignatureInvalid) as info:
        parse_webhook(BODY, header, SECRET)
    assert str(info.value) == reason


def test_wrong_app_secret_refuses_a_genuine_webhook():
    with pytest.raises(SignatureInvalid, match="mismatch"):
        parse_webhook(BODY, sign(BODY), "not-" + SECRET)


def test_an_empty_app_secret_never_verifies_anything():
    with pytest.raises(SignatureInvalid, match="no_secret"):
        parse_webhook(BODY, sign(BODY, ""), "")


def test_signature_is_checked_before_the_body_is_read():
    garbage = b"\xff\xfe not json"
    with pytest.raises(SignatureInvalid):
        parse_webhook(garbage, "sha256=" + "a" * 64, SECRET)
    with pytest.raises(WebhookMalformed, match="not JSON"):
        parse_webhook(garbage, sign(garbage), SECRET)


# --- every message kind ----------------------------------------------------------------------------


def test_text_message():
    msg = parse_one(message_payload("text", {"body": "Ndashaka amoxicillin"}))
    assert msg == InboundMessage(
        wamid="wamid.ABC", from_phone="+250788000101", timestamp=T0, kind="text",
        text="Ndashaka amoxicillin", profile_name="Aline",
    )


def test_image_message_with_caption():
    msg = parse_one(message_payload(
        "image", {"id": "1037543291543636", "mime_type": "image/jpeg", "sha256": "ab" * 32, "caption": "rx"}
    ))
    assert (msg.kind, msg.media_id, msg.mime_type, msg.caption, msg.text) == (
        "image", "1037543291543636", "image/jpeg", "rx", None)


def test_document_message_keeps_its_filename():
    msg = parse_one(message_payload(
        "document", {"id": "55", "mime_type": "application/pdf", "sha256": "00", "filename": "ordonnance.pdf"}
    ))
    assert (msg.kind, msg.media_id, msg.filename) == ("document", "55", "ordonnance.pdf")


@pytest.mark.parametrize("kind", ["audio", "video", "sticker"])
def test_other_media_kinds_carry_their_media_id(kind):
    msg = parse_one(message_payload(kind, {"id": "77", "mime_type": "x/y"}))
    assert (msg.kind, msg.media_id, msg.mime_type) == (kind, "77", "x/y")


def test_template_quick_reply_button():
    msg = parse_one(message_payload(
        "button", {"payload": "consent:yes", "text": "Yes"}, context={"from": "250788999000", "id": "wamid.OUT1"}
    ))
    assert (msg.kind, msg.button_id, msg.text, msg.context_wamid) == ("button", "consent:yes", "Yes", "wamid.OUT1")


def test_interactive_button_reply():
    msg = parse_one(message_payload(
        "interactive", {"type": "button_reply", "button_reply": {"id": "opt-2", "title": "Kigali"}},
        context={"from": "250788999000", "id": "wamid.OUT2"},
    ))
    assert (msg.kind, msg.button_id, msg.text, msg.context_wamid) == ("interactive", "opt-2", "Kigali", "wamid.OUT2")


def test_interactive_list_reply_and_flows():
    msg = parse_one(message_payload(
        "interactive", {"type": "list_reply", "list_reply": {"id": "row-1", "title": "Pharmacy", "description": "x"}}
    ))
    assert (msg.button_id, msg.text) == ("row-1", "Pharmacy")
    flow = parse_one(message_payload("interactive", {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}))
    assert (flow.kind, flow.button_id, flow.text) == ("interactive", None, None)


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("location", {"latitude": -1.94, "longitude": 30.06}),
        ("reaction", {"message_id": "wamid.X", "emoji": "👍"}),
        ("contacts", [{"name": {"formatted_name": "A"}}]),
        ("system", {"body": "changed number", "type": "user_changed_number"}),
    ],
)
def test_contentless_kinds_parse_with_their_kind(kind, content):
    msg = parse_one(message_payload(kind, content))
    assert msg.kind == kind and msg.text is None and msg.from_phone == "+250788000101"


def test_unsupported_and_unknown_types_are_not_errors():
    unsupported = parse_one(message_payload(
        "unsupported", None, errors=[{"code": 131051, "title": "Message type unknown"}]))
    assert unsupported.kind == "unsupported"
    future = parse_one(message_payload("hologram", {"whatever": 1}))
    assert future.kind == "unknown" and future.wamid == "wamid.ABC"


def test_sender_falls_back_to_the_contact_wa_id():
    payload = message_payload("text", {"body": "hi"})
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    assert parse_one(payload).from_phone == "+250788000101"


def test_international_senders_keep_their_country():
    payload = message_payload("text", {"body": "hi"})
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"] = value["contacts"][0]["wa_id"] = "16505551234"
    msg = parse_one(payload)
    assert (msg.from_phone, msg.profile_name) == ("+16505551234", "Aline")


def test_several_entries_changes_and_messages_come_out_in_order():
    one = message_payload("text", {"body": "one"})
    two = copy.deepcopy(one)
    two["entry"][0]["changes"][0]["value"]["messages"][0].update(id="wamid.B", text={"body": "two"})
    one["entry"].append(two["entry"][0])
    one["entry"][0]["changes"].insert(0, {"field": "message_template_status_update", "value": {"x": 1}})
    assert [m.text for m in parse(one)] == ["one", "two"]


# --- statuses ----------------------------------------------------------------------------------------


def test_status_update_echoes_the_callback_data():
    status = parse_one(envelope({"statuses": [{
        "id": "wamid.OUT", "status": "delivered", "timestamp": str(T0), "recipient_id": "250788000101",
        "biz_opaque_callback_data": "request:r1:to:+250788000101:hash:ab12",
    }]}))
    assert status == StatusUpdate(
        wamid="wamid.OUT", status="delivered", recipient="+250788000101", timestamp=T0,
        callback_data="request:r1:to:+250788000101:hash:ab12",
    )


def test_failed_status_carries_its_errors():
    errors = [{"code": 131026, "title": "Message undeliverable"}]
    status = parse_one(envelope({"statuses": [{
        "id": "wamid.OUT", "status": "failed", "timestamp": T0, "recipient_id": "250788000101", "errors": errors,
    }]}))
    assert status.status == "failed" and status.errors == tuple(errors) and status.callback_data is None


def test_status_to_a_bsuid_keeps_the_raw_recipient():
    status = parse_one(envelope({"statuses": [{
        "id": "wamid.OUT", "status": "read", "timestamp": str(T0), "recipient_user_id": "RW.1234567",
    }]}))
    assert status.recipient == "RW.1234567"


# --- malformed bodies name what is wrong -------------------------------------------------------------


def _without(payload: dict, *path):
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


MSG = ("entry", 0, "changes", 0, "value", "messages", 0)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (b"", "body: not JSON"),
        (b"{\"object\": ", "body: not JSON"),
        (b"[" * 100_000, "body: not JSON"),
        (b"\xff\xfe\x00", "body: not JSON"),
        (b"[]", "body: expected an object, got array"),
        ({"object": "page", "entry": []}, "body.object"),
        ({"object": "whatsapp_business_account"}, "body: missing 'entry'"),
        ({"object": "whatsapp_business_account", "entry": {}}, "body.entry: expected an array"),
        ({"object": "whatsapp_business_account", "entry": [7]}, "entry[0]: expected an object, got number"),
        (_without(message_payload("text", {"body": "x"}), *MSG, "id"),
         "entry[0].changes[0].value.messages[0]: missing 'id'"),
        (_without(message_payload("text", {"body": "x"}), *MSG, "type"),
         "entry[0].changes[0].value.messages[0]: missing 'type'"),
        (_without(message_payload("text", {"body": "x"}), *MSG, "timestamp"),
         "entry[0].changes[0].value.messages[0]: missing 'timestamp'"),
        (_without(message_payload("text", {"body": "x"}), *MSG, "text", "body"),
         "entry[0].changes[0].value.messages[0].text: missing 'body'"),
        (message_payload("text", None), "entry[0].changes[0].value.messages[0]: missing 'text'"),
        (message_payload("image", {"mime_type": "image/png"}),
         "entry[0].changes[0].value.messages[0].image: missing 'id'"),
        (message_payload("text", {"body": 42}), "entry[0].changes[0].value.messages[0].text.body: expected a string"),
        (message_payload("text", {"body": "x"}, timestamp="yesterday"),
         "entry[0].changes[0].value.messages[0].timestamp"),
        (message_payload("text", {"body": "x"}, **{"from": "not-a-phone"}),
         "entry[0].changes[0].value.messages[0].from: not a phone number"),
        (message_payload("text", {"body": "x"}, context="wamid.X"),
         "entry[0].changes[0].value.messages[0].context: expected an object"),
        (envelope({"statuses": [{"id": "w", "status": "sent", "timestamp": "1"}]}),
         "entry[0].changes[0].value.statuses[0]: missing 'recipient_id'"),
        (envelope({"statuses": "sent"}), "entry[0].changes[0].value.statuses: expected an array"),
    ],
)
def test_malformed_webhooks_name_the_path(payload, where):
    with pytest.raises(WebhookMalformed) as info:
        parse(payload)
    assert where in str(info.value)


def test_sender_without_any_phone_is_malformed():
    payload = message_payload("text", {"body": "hi"})
    value = payload["entry"][0]["changes"][0]["value"]
    del value["messages"][0]["from"]
    value["contacts"] = [{"profile": {"name": "x"}, "user_id": "RW.99"}]
    with pytest.raises(WebhookMalformed, match=r"messages\[0\]: missing 'from'"):
        parse(payload)


# --- text survives the round trip from the fake ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "x" * 5000, "a\x00b\x07c\x1b[31m\r\n\t", "مرحبا بالعالم", "שלום \u202e evil", "👋🏽 Muraho! 🇷🇼", "\ud7ff\ue000"],
)
def test_awkward_texts_survive(fake, text):
    hook = fake.message_webhook("+250788000101", text=text)
    (msg,) = parse_webhook(hook.body, hook.headers["X-Hub-Signature-256"], SECRET)
    assert msg.text == text and msg.wamid == hook.wamid


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_round_trips_through_the_fake(text):
    fake = FakeWhatsAppCloud(phone_number_id="1", access_token="t", app_secret=SECRET, now=lambda: T0)
    hook = fake.message_webhook("0788000101", text=text, profile_name=text or None)
    (msg,) = parse_webhook(hook.body, hook.headers["X-Hub-Signature-256"], SECRET)
    assert (msg.text, msg.timestamp, msg.from_phone) == (text, T0, "+250788000101")
    assert msg.profile_name == (text or None)


# --- fuzz ------------------------------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

SEEDS = [
    message_payload("text", {"body": "hi"}),
    message_payload("image", {"id": "1", "mime_type": "image/png", "caption": "c"}),
    message_payload("document", {"id": "2", "filename": "f.pdf"}),
    message_payload("interactive", {"type": "button_reply", "button_reply": {"id": "a", "title": "A"}},
                    context={"from": "250788999000", "id": "wamid.C"}),
    message_payload("button", {"payload": "p", "text": "t"}),
    envelope({"statuses": [{"id": "wamid.O", "status": "sent", "timestamp": "1", "recipient_id": "250788000101",
                            "biz_opaque_callback_data": "k", "errors": [{"code": 1}]}]}),
]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _paths(child, (*prefix, i))


@st.composite
def mutated_payloads(draw):
    payload = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(payload) if p]
        deep = [p for p in paths if len(p) >= 7]  # inside a message or status, where parsing is richest
        if deep and draw(st.integers(0, 3)):
            paths = deep
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return json.dumps(payload).encode()


bodies = st.one_of(
    mutated_payloads(),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, signed=st.booleans(), header=st.none() | st.text(max_size=80))
def test_fuzz_only_the_documented_errors_escape(body, signed, header):
    signature = sign(body) if signed else header
    try:
        items = parse_webhook(body, signature, SECRET)
    except SignatureInvalid:
        assert not signed
        return
    except WebhookMalformed as exc:
        assert signed
        event(f"malformed: {str(exc).split(':')[0]}")
        return
    # Anything that parsed was genuinely signed, and is made only of well-typed facts.
    assert signed
    event(f"parsed {len(items)} item(s)")
    for item in items:
        assert isinstance(item, (InboundMessage, StatusUpdate))
        assert isinstance(item.wamid, str) and item.wamid and isinstance(item.timestamp, int)
        if isinstance(item, InboundMessage):
            assert item.from_phone.startswith("+") and item.from_phone[1:].isdigit()
            assert item.text is None or isinstance(item.text, str)
