"""The emulator's endpoints for a harness: redeliver, the ordered send log, reset, and waiting for
idle. A real emulator process and a real webhook receiver on loopback."""

from __future__ import annotations

import httpx

from .emulator_proc import SECRETS

PNID = SECRETS["phone_number_id"]
AUTH = {"Authorization": f"Bearer {SECRETS['access_token']}"}


def test_redeliver_sends_the_same_bytes_again(emulator, webhook_receiver):
    emulator.subscribe(webhook_receiver.url)
    said = emulator.say("+250780000011", "I need paracetamol", wait=10)
    assert httpx.post(f"{emulator.url}/sim/redeliver", json={"wamid": said["wamid"]}).status_code == 202
    first, again = webhook_receiver.wait_for(2)[:2]
    assert first.body == again.body  # same bytes: same wamid, same signature
    missing = httpx.post(f"{emulator.url}/sim/redeliver", json={"wamid": "wamid.unknown"})
    assert missing.status_code == 404 and "no inbound message" in missing.json()["error"]


def test_sent_lists_every_phone_in_order_and_health_counts_them(emulator):
    for phone, text in (("250780000021", "one"), ("250788000101", "two"), ("250780000021", "three")):
        body = {"messaging_product": "whatsapp", "to": phone, "type": "text", "text": {"body": text}}
        assert httpx.post(f"{emulator.url}/v21.0/{PNID}/messages", json=body, headers=AUTH).status_code == 200
    sent = httpx.get(f"{emulator.url}/sim/sent").json()["messages"]
    assert [(m["to"], m["text"]) for m in sent] == [
        ("+250780000021", "one"), ("+250788000101", "two"), ("+250780000021", "three")]
    assert httpx.get(f"{emulator.url}/sim/health").json()["messages_sent"] == 3


def test_reset_waits_for_webhooks_then_empties_the_world(emulator, webhook_receiver):
    # The subscriber stalls, then fails: the webhook is still on its way when reset is asked for, on
    # a loaded machine too (two quick 500s alone could be retried away before the reset arrived).
    webhook_receiver.script.extend([2.0, 500])
    emulator.subscribe(webhook_receiver.url)
    emulator.say("+250780000031", "hello")
    refused = httpx.post(f"{emulator.url}/sim/reset", json={"seed": 3})
    assert refused.status_code == 409 and "still on their way" in refused.json()["error"]
    idle = httpx.get(f"{emulator.url}/sim/health", params={"idle_wait": 20}, timeout=30).json()
    assert idle["pending_webhooks"] == 0
    assert httpx.post(f"{emulator.url}/sim/reset", json={"seed": 3}).json() == {"reset": True, "seed": 3}
    assert httpx.get(f"{emulator.url}/sim/conversations").json() == {"conversations": {}}
    assert httpx.get(f"{emulator.url}/sim/deliveries").json() == {"deliveries": []}
    assert httpx.get(f"{emulator.url}/sim/health").json()["subscribed"] is True  # the subscription stays
    assert httpx.post(f"{emulator.url}/sim/reset", json={"seed": "x"}).status_code == 400
