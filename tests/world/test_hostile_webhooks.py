"""Bad webhooks end to end: what the client gets and what is audited, for each case of
docs/hostile-input.md (the parser side is tests/unit/test_webhooks.py)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ai_world

from concierge.texts import text_for
from simulators.invariants import Context, check_all
from simulators.vendors import load_vendor_fixtures
from simulators.world import SimWorld

CLIENT = "+250780000001"
VENDOR = "+250788000101"  # pharma_plus
NEED = "I need paracetamol near Kimironko"
VENDORS = load_vendor_fixtures("fixtures/vendors")
UNSUPPORTED = text_for("unsupported_type", "en")
# C0/C1 controls other than newline and tab, and the bidi/zero-width formatting characters.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _world() -> SimWorld:
    return ai_world(VENDORS, clients={CLIENT: ("Kimironko", "en")})


@pytest.fixture
def world():
    w = _world()
    yield w
    w.close()


def _events(world: SimWorld, name: str) -> list[dict]:
    return world.ledger.audit_events(name)


def _signed(world: SimWorld, body: dict) -> tuple[bytes, str]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return raw, world.whatsapp.sign(raw)


def _assert_clean(world: SimWorld) -> None:
    assert check_all(world, Context(client_phones=(CLIENT,))) == []
    for message in world.whatsapp.sent:
        assert 0 < len(message.text) <= 4096
        assert not _CONTROL.search(message.text), repr(message.text[:120])


# --- signatures and bodies: refused and audited, nothing else -------------------------------------

@pytest.mark.parametrize(("signature", "reason"), [
    (None, "missing"), ("", "missing"), ("sha1=abc", "malformed"), ("sha256=zz", "malformed"),
    ("sha256=" + "0" * 64, "mismatch"),
])
def test_bad_signature_is_refused_audited_and_nothing_happens(world, signature, reason):
    hook = world.whatsapp.message_webhook(CLIENT, text=NEED)
    result = world.concierge.on_webhook(hook.body, signature, world.clock.now())
    assert not result.accepted and reason in result.reason
    audited = _events(world, "webhook.signature_invalid")
    assert len(audited) == 1 and reason in audited[0]["data"]["reason"]
    assert world.ledger.inbound_count() == 0 and world.ledger.requests() == [] and world.whatsapp.sent == []


def test_a_signature_of_another_body_is_refused(world):
    hook = world.whatsapp.message_webhook(CLIENT, text=NEED)
    other = world.whatsapp.message_webhook(CLIENT, text="something else")
    result = world.concierge.on_webhook(hook.body, other.headers["X-Hub-Signature-256"], 0.0)
    assert not result.accepted and "mismatch" in result.reason
    assert world.ledger.inbound_count() == 0


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe", b"[]", b'{"object":"page","entry":[]}',
                                 b'{"object":"whatsapp_business_account"}', b"9" * 5000])
def test_signed_but_malformed_body_is_refused_and_audited(world, raw):
    result = world.concierge.on_webhook(raw, world.whatsapp.sign(raw), 0.0)
    assert not result.accepted and result.reason.startswith("malformed")
    assert len(_events(world, "webhook.malformed")) == 1
    assert world.ledger.inbound_count() == 0 and world.whatsapp.sent == []


# --- message types we do not read ---------------------------------------------------------------

def _typed(world: SimWorld, phone: str, kind: str) -> tuple[bytes, str, str]:
    hook = world.whatsapp.message_webhook(phone, text="x")
    body = json.loads(hook.body)
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    del message["text"]
    message["type"] = kind
    message[kind] = {
        "audio": {"id": "111", "mime_type": "audio/ogg; codecs=opus", "voice": True},
        "sticker": {"id": "222", "mime_type": "image/webp", "animated": False},
        "location": {"latitude": -1.95, "longitude": 30.06, "name": "Kimironko market"},
        "reaction": {"message_id": "wamid.x", "emoji": "\U0001f44d"},
        "contacts": [{"name": {"formatted_name": "Bob"}, "phones": [{"phone": "+250788999888"}]}],
        "system": {"body": "User changed number", "type": "user_changed_number"},
        "order": {"catalog_id": "1", "product_items": []},
    }.get(kind, {})
    raw, signature = _signed(world, body)
    return raw, signature, message["id"]


TYPES = ["audio", "sticker", "location", "reaction", "contacts", "system", "unsupported", "order"]
SILENT = ["reaction", "system"]  # a 👍 or "user changed number" is not a request


@pytest.mark.parametrize("kind", SILENT)
def test_client_reaction_or_system_notice_is_recorded_and_never_answered(world, kind):
    raw, signature, wamid = _typed(world, CLIENT, kind)
    for _ in range(2):
        world.deliver(raw, {"X-Hub-Signature-256": signature}, wamid)
    assert world.ledger.inbound_count(wamid) == 1
    assert world.whatsapp.sent == [] and world.ledger.requests() == []
    assert len(_events(world, "inbound.ignored")) == 1
    _assert_clean(world)


@pytest.mark.parametrize("kind", [k for k in TYPES if k not in SILENT])
def test_client_message_of_an_unread_type_gets_the_unsupported_reply_once(world, kind):
    raw, signature, wamid = _typed(world, CLIENT, kind)
    for _ in range(2):  # Meta redelivers: still one row, one reply
        world.deliver(raw, {"X-Hub-Signature-256": signature}, wamid)
    assert world.ledger.inbound_count(wamid) == 1
    assert [m.text for m in world.whatsapp.sent] == [UNSUPPORTED]
    assert len(_events(world, "inbound.unsupported")) == 1
    assert len(_events(world, "inbound.duplicate_suppressed")) == 1
    assert world.ledger.latest_request(CLIENT).state == "collecting_requirements"
    _assert_clean(world)


@pytest.mark.parametrize("kind", TYPES)
def test_vendor_message_of_an_unread_type_is_recorded_and_never_answered(world, kind):
    world.message_from(CLIENT, kind="text", text=NEED)
    sent_before = len(world.whatsapp.sent)
    raw, signature, wamid = _typed(world, VENDOR, kind)
    world.deliver(raw, {"X-Hub-Signature-256": signature}, wamid)
    assert world.ledger.inbound_count(wamid) == 1
    assert len(world.whatsapp.sent) == sent_before  # nobody is told anything
    request = world.ledger.latest_request(CLIENT)
    assert request.state == "awaiting_vendor_replies"
    assert not any(r["availability"] == "in_stock" for r in world.concierge.outreach.replies_summary(request.id))
    _assert_clean(world)


# --- status updates -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed"])
def test_status_for_an_unknown_message_is_audited_and_changes_nothing(world, status):
    hook = world.whatsapp.status_webhook("wamid.unknown", status, CLIENT, callback_data="request:nope:to:x")
    result = world.deliver(hook.body, hook.headers, "")
    assert result.result.accepted and result.result.statuses == 1
    assert [e["data"]["status"] for e in _events(world, "status.unknown")] == [status]
    assert world.whatsapp.sent == [] and world.ledger.requests() == []


@pytest.mark.parametrize("status", ["sent", "delivered", "read", "failed"])
def test_status_for_a_known_message_never_resends_it(world, status):
    world.message_from(CLIENT, kind="text", text=NEED)
    message = world.whatsapp.sent[0]
    sent_before = len(world.whatsapp.sent)
    for _ in range(2):
        hook = world.whatsapp.status_webhook(message.wamid, status, message.to, callback_data=message.callback_data)
        world.deliver(hook.body, hook.headers, "")
    row = world.ledger.get_outbound(message.callback_data)
    assert row["status"] == ("failed" if status == "failed" else "sent")
    assert len(world.whatsapp.sent) == sent_before
    assert len(_events(world, "message.failed")) == (1 if status == "failed" else 0)
    assert world.whatsapp.deliveries(message.callback_data) == 1
    _assert_clean(world)


# --- text: empty, long, control characters, scripts -------------------------------------------------

@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_recorded_audited_and_not_answered(world, text):
    world.message_from(CLIENT, kind="text", text=text)
    assert world.ledger.inbound_count() == 1
    assert len(_events(world, "inbound.empty")) == 1
    assert world.whatsapp.sent == []


def test_text_over_4096_characters_is_served_and_every_reply_fits(world):
    text = NEED + " " + "please hurry " * 400
    assert len(text) > 4096
    world.message_from(CLIENT, kind="text", text=text)
    assert world.ledger.latest_request(CLIENT).state == "awaiting_vendor_replies"
    transcript = world.ledger.transcript(world.ledger.latest_request(CLIENT).id)
    assert transcript[0]["text"] == text.strip()  # stored whole (only trimmed), never cut at 4096
    _assert_clean(world)


@pytest.mark.parametrize("text", [
    "I need paracetamol\x00\x07\x1b[31m near Kimironko\x7f",
    "I need \u202eparacetamol\u202c near Kimironko\u200b",
    "أحتاج باراسيتامول near Kimironko",
    "I need a 📱 charger 🔌 near Remera 😀👍🏽",
    "Je cherche du paracétamol парацетамол 扑热息痛 à Kimironko",
    "Ndashaka paracetamol i Kimironko \U0001f64f",
])
def test_odd_characters_are_served_and_never_echoed_as_controls(world, text):
    world.message_from(CLIENT, kind="text", text=text)
    assert world.ledger.inbound_count() == 1
    assert world.whatsapp.sent, "the client must get an answer (a question or the search)"
    _assert_clean(world)


@settings(max_examples=40)
@given(st.text(min_size=0, max_size=600))
def test_any_client_text_is_served_without_a_crash(text):
    world = _world()
    try:
        item = world.message_from(CLIENT, kind="text", text=text)
        world.redeliver(item)
        world.advance(11 * 60)
        assert world.ledger.inbound_count(item.wamid) == 1
        _assert_clean(world)
    finally:
        world.close()
