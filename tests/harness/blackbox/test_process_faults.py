"""A ``process`` fault on the wire: the hosted emulator calls the harness's kill inside the target's
next send of a text or buttons, before recording the message (``crash_before_send``) or after
(``crash_after_send``); other Graph API calls (a mark-as-read) do not set it off."""

from __future__ import annotations

import httpx
import pytest

from simulators.blackbox.hosted_emulator import HostedEmulator

TOKEN = "EAAG-process-fault-token"
PNID = "106540352242922"


@pytest.fixture
def emulator():
    kills: list[int] = []
    hosted = HostedEmulator(app_secret="process-fault-secret", verify_token="v", access_token=TOKEN,
                            phone_number_id=PNID, now=lambda: 1_772_431_200.0,
                            crash=lambda: kills.append(len(hosted.sent()))).start()
    try:
        yield hosted, kills
    finally:
        hosted.stop()


def _send(hosted: HostedEmulator, body: dict) -> httpx.Response:
    return httpx.post(f"{hosted.url}/v21.0/{PNID}/messages", json={"messaging_product": "whatsapp", **body},
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def test_a_crash_before_the_send_kills_first_and_records_nothing(emulator):
    hosted, kills = emulator
    hosted.call("POST", "/sim/faults", json={"target": "process", "kind": "crash_before_send"})
    answer = _send(hosted, {"to": "250780000001", "type": "text", "text": {"body": "hello"}})
    assert answer.status_code == 500
    assert kills == [0] and hosted.sent() == []
    assert _send(hosted, {"to": "250780000001", "type": "text", "text": {"body": "again"}}).status_code == 200
    assert kills == [0] and [m.text for m in hosted.sent()] == ["again"]  # armed once: spent


def test_a_crash_after_the_send_records_it_then_kills(emulator):
    hosted, kills = emulator
    hosted.call("POST", "/sim/faults", json={"target": "process", "kind": "crash_after_send", "times": 2})
    first = _send(hosted, {"to": "250780000001", "type": "text", "text": {"body": "first"}})
    assert first.status_code == 200 and kills == [1]
    read = _send(hosted, {"status": "read", "message_id": first.json()["messages"][0]["id"]})
    assert kills == [1], read.text  # not a send of a text or buttons: the fault waits
    buttons = {"type": "button", "body": {"text": "May I call?"},
               "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}
    assert _send(hosted, {"to": "250780000001", "type": "interactive", "interactive": buttons}).status_code == 200
    assert kills == [1, 2]
    hosted.call("POST", "/sim/faults", json={"target": "process", "kind": "crash_after_send"})
    hosted.call("DELETE", "/sim/faults")  # a cleared fault goes off no more
    _send(hosted, {"to": "250780000001", "type": "text", "text": {"body": "third"}})
    assert kills == [1, 2]
