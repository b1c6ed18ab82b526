"""Faults armed over HTTP (POST /sim/faults), as scenario files arm them: 429/5xx/timeouts on sends,
broken media, delayed and duplicated webhooks, and sends that fail to reach the phone."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from .emulator_proc import SECRETS

PNID = SECRETS["phone_number_id"]


@pytest.fixture
def emu(shared_emulator, webhook_receiver):
    shared_emulator.clear_faults()
    shared_emulator.subscribe(webhook_receiver.url)
    return shared_emulator


@pytest.fixture
def graph(emu):
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {SECRETS['access_token']}"},
                      timeout=5.0) as client:
        yield client


def text_to(phone: str, body: str = "hi") -> dict:
    return {"messaging_product": "whatsapp", "to": phone.lstrip("+"), "type": "text", "text": {"body": body}}


def statuses_in(bodies: list[bytes]) -> list[dict]:
    out = []
    for body in bodies:
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        out += value.get("statuses", [])
    return out


def test_rate_limit_and_server_errors_on_sends_answer_with_metas_bodies(emu, graph):
    emu.fault(target="whatsapp_send", status=429, retry_after=7)
    emu.fault(target="whatsapp_send", status=500, times=2)
    limited = graph.post(f"/v21.0/{PNID}/messages", json=text_to("+250788000401"))
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert limited.json()["error"]["code"] == 130429
    broken = [graph.post(f"/v21.0/{PNID}/messages", json=text_to("+250788000401")) for _ in range(2)]
    assert [(b.status_code, b.json()["error"]["code"]) for b in broken] == [(500, 131000)] * 2
    assert graph.post(f"/v21.0/{PNID}/messages", json=text_to("+250788000401")).status_code == 200
    assert len(emu.conversation("+250788000401")) == 1  # only the one Meta accepted


def test_a_send_timeout_hangs_past_the_client_and_the_message_was_still_delivered(emu, graph):
    emu.fault(target="whatsapp_send", kind="timeout")  # delivered: true, the ambiguous case
    emu.fault(target="whatsapp_send", kind="timeout", delivered=False)
    with pytest.raises(httpx.ReadTimeout):
        graph.post(f"/v21.0/{PNID}/messages", json=text_to("+250788000402", "first"), timeout=0.5)
    with pytest.raises(httpx.ReadTimeout):
        graph.post(f"/v21.0/{PNID}/messages", json=text_to("+250788000402", "second"), timeout=0.5)
    (accepted,) = emu.conversation("+250788000402")
    assert accepted["text"] == "first"  # Meta accepted it although its answer was lost
    emu.wait_for(lambda: [s["status"] for s in emu.conversation("+250788000402")[0]["statuses"]]
                 == ["sent", "delivered"], what="the sent and delivered statuses")


def test_broken_media_status_truncated_and_timeout(emu, graph):
    photo = bytes(range(256)) * 8
    said = emu.call("POST", "/sim/messages", data={"from": "+250788000403"},
                    files={"file": ("rx.png", photo, "image/png")}).json()
    media_id = next(m for m in emu.conversation("+250788000403") if m["wamid"] == said["wamid"])["media_id"]
    emu.fault(target="media_download", status=500)
    assert graph.get(f"/v21.0/{media_id}").status_code == 500
    info = graph.get(f"/v21.0/{media_id}").json()
    assert info["file_size"] == len(photo)
    emu.fault(target="media_download", kind="truncated")
    assert graph.get(info["url"]).content == photo[: len(photo) // 2]
    emu.fault(target="media_download", kind="timeout")
    with pytest.raises(httpx.ReadTimeout):
        graph.get(info["url"], timeout=0.5)
    assert graph.get(info["url"]).content == photo  # faults are used up: the next download is whole


def test_a_duplicated_webhook_arrives_twice_with_the_same_bytes(emu, webhook_receiver):
    emu.fault(target="webhook", kind="duplicate")
    said = emu.say("+250788000404", "say it twice")
    first, second = webhook_receiver.wait_for(2)
    assert first.body == second.body and said["wamid"].encode() in first.body
    (delivery,) = emu.deliveries(said["wamid"])
    assert [a.get("duplicate", False) for a in delivery["attempts"]] == [False, True]


def test_a_delayed_webhook_is_held_back(emu, webhook_receiver):
    emu.fault(target="webhook", kind="delay", seconds=0.6)
    posted = time.monotonic()
    emu.say("+250788000405", "later")
    (got,) = webhook_receiver.wait_for(1)
    assert got.at - posted >= 0.6


def test_a_send_that_fails_to_reach_the_phone_gets_a_failed_status(emu, graph, webhook_receiver):
    emu.fault(target="message_status", kind="failed")
    sent = graph.post(f"/v21.0/{PNID}/messages", json=text_to("+250788000406")).json()
    (got,) = webhook_receiver.wait_for(1)
    (status,) = statuses_in([got.body])
    assert (status["id"], status["status"], status["errors"][0]["code"]) == (
        sent["messages"][0]["id"], "failed", 131026)
    assert "contacts" not in json.loads(got.body)["entry"][0]["changes"][0]["value"]


def test_a_bad_fault_is_refused_with_the_key_named(emu):
    cases = {
        json.dumps({"target": "printer"}): "target: expected one of whatsapp_send, media_download, webhook",
        json.dumps({"target": "whatsapp_send", "status": 200}): "fault status must be 4xx or 5xx",
        json.dumps({"target": "whatsapp_send", "kind": "truncated"}): "faults of kind 'truncated' are not simulated",
        json.dumps({"target": "webhook", "kind": "drop"}): "kind must be one of delay, duplicate",
        json.dumps({"target": "webhook", "kind": "delay", "sconds": 1}): "unknown key 'sconds'",
        json.dumps({"target": "whatsapp_send", "status": 500, "times": 0}): "times: must be >= 1",
        # only a harness that started the business's process can kill it (simulators/blackbox)
        json.dumps({"target": "process", "kind": "crash_before_send"}): "cannot kill the business's process",
        "not json": "body: not JSON",
    }
    for body, words in cases.items():
        answer = emu.call("POST", "/sim/faults", ok=False, content=body)
        assert answer.status_code == 400 and words in answer.json()["error"], (body, answer.text)
    assert emu.call("GET", "/sim/faults").json()["armed"] == []
