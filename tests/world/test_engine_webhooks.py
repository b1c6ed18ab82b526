"""What reaches the concierge through its webhook door, and what never does."""

from __future__ import annotations

import json

from concierge.flags import Flags
from simulators.vendors import load_vendor_fixtures
from simulators.world import SimWorld, WorldConfig

CLIENT = "+250780000001"


def _world(**flags) -> SimWorld:
    return SimWorld(WorldConfig(vendors=load_vendor_fixtures("fixtures/vendors"),
                                flags=Flags.from_mapping(flags)))


def test_unsigned_or_forged_webhooks_are_refused_audited_and_never_processed():
    world = _world(FEATURE_AI_CONCIERGE=True)
    hook = world.whatsapp.message_webhook(CLIENT, text="I need paracetamol near Remera")
    for signature in (None, "sha256=" + "0" * 64, "sha1=abc", "garbage"):
        result = world.concierge.on_webhook(hook.body, signature, world.clock.now())
        assert not result.accepted
    tampered = hook.body.replace(b"paracetamol", b"morphine!!!")
    assert not world.concierge.on_webhook(tampered, hook.headers["X-Hub-Signature-256"], 0.0).accepted
    assert world.ledger.inbound_count() == 0
    assert world.ledger.requests() == []
    assert world.whatsapp.sent == []
    assert len(world.ledger.audit_events("webhook.signature_invalid")) == 5
    world.close()


def test_malformed_but_signed_json_is_refused_with_the_reason():
    world = _world()
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": {"messages": [{"from": "250780000001", "type": "text"}]}}]}]}).encode()
    result = world.concierge.on_webhook(body, world.whatsapp.sign(body), 0.0)
    assert not result.accepted and "malformed" in result.reason
    assert world.ledger.audit_events("webhook.malformed")
    assert world.ledger.inbound_count() == 0
    world.close()


def test_vendor_facing_text_never_carries_the_client_phone():
    world = _world(FEATURE_AI_CONCIERGE=True)
    world.message_from(CLIENT, kind="text",
                       text="I need paracetamol near Remera, call me on 0780000001 or +250 780 000 001")
    to_vendors = [m for m in world.whatsapp.sent if world.directory.by_phone(m.to)]
    assert to_vendors, "the request should have reached vendors"
    for message in to_vendors:
        digits = "".join(ch for ch in message.text if ch.isdigit())
        assert "780000001" not in digits
    world.close()


def test_flags_off_serves_the_coded_workflow_end_to_end():
    world = _world()
    world.message_from(CLIENT, kind="text", text="I need paracetamol near Kimironko")
    request = world.ledger.latest_request(CLIENT)
    assert request.data["handled_by"] == "coded"
    assert request.data["brain_calls"] == 0 and world.brain.calls == 0
    assert request.state == "awaiting_vendor_replies"
    world.close()
