"""The world's direct Graph API client sends the very requests httpx's client sends and gets the
same answers, faults included: only the client machinery in between is left out."""

from __future__ import annotations

import httpx
import pytest

from simulators.adapters.graph_api import GraphApiTransport
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
