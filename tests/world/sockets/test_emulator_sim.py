"""The simulation endpoints (acting as a person) and their CLI, the bearer-token check on every Graph
route, and the Cloud API limits on lists, over real HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from simulators.commands.cli import main

from .emulator_proc import SECRETS

PNID = SECRETS["phone_number_id"]
AUTH = {"Authorization": f"Bearer {SECRETS['access_token']}"}


@pytest.fixture
def emu(shared_emulator, webhook_receiver):
    shared_emulator.clear_faults()
    shared_emulator.subscribe(webhook_receiver.url)
    return shared_emulator


def send(emu, phone: str, **message) -> httpx.Response:
    body = {"messaging_product": "whatsapp", "to": phone.lstrip("+"), **message}
    return httpx.post(f"{emu.url}/v21.0/{PNID}/messages", json=body, headers=AUTH, timeout=5)


def test_every_graph_route_refuses_a_missing_or_wrong_token(emu):
    said = emu.call("POST", "/sim/messages", data={"from": "+250788000501"},
                    files={"file": ("a.png", b"\x89PNG fake", "image/png")}).json()
    media_id = emu.conversation("+250788000501")[0]["media_id"]
    url = httpx.get(f"{emu.url}/v21.0/{media_id}", headers=AUTH).json()["url"]
    routes = [("POST", f"/v21.0/{PNID}/messages"), ("GET", f"/v21.0/{media_id}"), ("GET", f"/v21.0/{PNID}"),
              ("GET", url.removeprefix(emu.url))]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRETS["access_token"]}):
        for method, path in routes:
            answer = httpx.request(method, emu.url + path, headers=headers, json={})
            assert (answer.status_code, answer.json()["error"]["code"]) == (401, 190), (method, path, headers)
    assert httpx.get(url, headers=AUTH).content == b"\x89PNG fake" and said["wamid"].startswith("wamid.")
    unknown = httpx.get(f"{emu.url}/v21.0/{PNID}/nothing/here", headers=AUTH)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, 2500)


def test_list_limits_are_the_cloud_apis(emu):
    rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]
    too_many = send(emu, "+250788000502", type="interactive", interactive={
        "type": "list", "body": {"text": "Pick"}, "action": {"button": "Open", "sections": [{"title": "A", "rows": rows}]}})
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == 131009
    assert "at most 10 rows" in too_many.json()["error"]["error_data"]["details"]
    untitled = send(emu, "+250788000502", type="interactive", interactive={
        "type": "list", "body": {"text": "Pick"}, "action": {"button": "Open", "sections": [
            {"rows": rows[:1]}, {"rows": rows[1:2]}]}})
    assert "title is required when a list has several sections" in untitled.json()["error"]["error_data"]["details"]
    unknown_read = send(emu, "+250788000502", status="read", message_id="wamid.never-received")
    assert unknown_read.status_code == 400
    assert emu.conversation("+250788000502") == []


def test_a_person_sends_a_rendered_prescription(emu, webhook_receiver):
    spec = {"render": "prescription", "items": [{"drug": "Amoxicillin", "dose": "500mg", "quantity": 21}]}
    said = emu.say("+250788000503", image=spec, caption="my prescription")
    (entry,) = emu.conversation("+250788000503")
    assert (entry["type"], entry["mime_type"], entry["caption"]) == ("image", "image/png", "my prescription")
    image = httpx.get(httpx.get(f"{emu.url}/v21.0/{entry['media_id']}", headers=AUTH).json()["url"], headers=AUTH)
    assert image.content.startswith(b"\x89PNG") and len(image.content) > 5000
    (got,) = webhook_receiver.wait_for(1)
    message = json.loads(got.body)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert (message["id"], message["image"]["id"]) == (said["wamid"], entry["media_id"])


@pytest.mark.parametrize(("message", "words"), [
    ({"text": "hi"}, "from: a phone number is required"),
    ({"from": "12", "text": "hi"}, "from: not a phone number: '12'"),
    ({"from": "+250788000504", "text": "hi", "button": "Yes"}, "exactly one of text, button, list or image"),
    ({"from": "+250788000504", "button": "Maybe"}, "no reply button titled 'Maybe' was sent to +250788000504"),
    ({"from": "+250788000504", "txt": "hi"}, "unknown field 'txt'"),
    ({"from": "+250788000504", "image": {"render": "poster"}}, "image render spec: render: expected one of"),
    ({"from": "+250788000504", "image": "rx.png"}, "upload a file as multipart/form-data"),
])
def test_a_message_no_person_could_send_is_refused_with_the_field_named(emu, message, words):
    answer = emu.call("POST", "/sim/messages", ok=False, json=message)
    assert answer.status_code == 400 and words in answer.json()["error"], answer.text
    assert emu.conversation("+250788000504") == []


def test_uploads_of_the_wrong_type_or_size_are_refused(emu):
    wrong = emu.call("POST", "/sim/messages", ok=False, data={"from": "+250788000505"},
                     files={"file": ("a.exe", b"MZ", "application/x-msdownload")})
    assert wrong.status_code == 400 and "'application/x-msdownload' is not a type" in wrong.json()["error"]
    big = emu.call("POST", "/sim/messages", ok=False, data={"from": "+250788000505"},
                   files={"file": ("big.jpg", b"\xff" * (6 * 1024 * 1024), "image/jpeg")})
    assert big.status_code == 400 and "a file must have 1 byte to 5 MB" in big.json()["error"]
    assert emu.conversation("+250788000505") == []


def test_a_reply_marks_what_the_person_read_and_phones_can_report_statuses(emu):
    phone = "+250788000506"
    first = send(emu, phone, type="text", text={"body": "Your shortlist"}).json()["messages"][0]["id"]
    second = send(emu, phone, type="text", text={"body": "Anything else?"}).json()["messages"][0]["id"]
    emu.call("POST", "/sim/statuses", json={"wamid": second, "status": "failed"})
    emu.say(phone, "thanks")
    out = {m["wamid"]: [s["status"] for s in m["statuses"]] for m in emu.conversation(phone) if m["direction"] == "out"}
    assert out == {first: ["sent", "delivered", "read"], second: ["sent", "delivered", "failed"]}
    missing = emu.call("POST", "/sim/statuses", ok=False, json={"wamid": "wamid.nope", "status": "read"})
    assert missing.status_code == 404
    assert phone in emu.call("GET", "/sim/conversations").json()["conversations"]


def echo_bot(emu):
    """A business that answers every text with an echo, through the Graph API (from the webhook)."""
    def on_webhook(body: bytes, _headers) -> int:
        value = json.loads(body)["entry"][0]["changes"][0]["value"]
        for message in value.get("messages", []):
            if message["type"] == "text":
                send(emu, message["from"], type="text", text={"body": f"echo: {message['text']['body']}"})
        return 200
    return on_webhook


def test_cli_send_prints_the_delivery_and_the_businesss_answer_then_log_shows_both(emu, webhook_receiver, capsys):
    webhook_receiver.on_webhook = echo_bot(emu)
    phone = "+250788000507"
    assert main(["emulate", "send", "--emulator", emu.url, "--from", phone, "I need panadol",
                 "--reply-wait", "0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{phone} -> business: wamid.") and out[0].endswith("delivered (HTTP 200, 1 attempt)")
    assert out[1:] == [f"business -> {phone}: echo: I need panadol"]
    assert main(["emulate", "log", "--emulator", emu.url, "--phone", "0788000507"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == [
        f"{phone} -> business: I need panadol  [delivered (HTTP 200, 1 attempt)]",
        f"business -> {phone}: echo: I need panadol  [sent, delivered]"]
    assert main(["emulate", "log", "--emulator", emu.url, "--phone", phone, "--json"]) == 0
    assert [m["direction"] for m in json.loads(capsys.readouterr().out)["messages"]] == ["in", "out"]


def test_cli_send_a_file_and_arm_a_fault(emu, tmp_path, capsys):
    photo = tmp_path / "rx.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg")
    assert main(["emulate", "send", "--emulator", emu.url, "--from", "+250788000508", "--image", str(photo),
                 "--caption", "ordonnance", "--reply-wait", "0"]) == 0
    (entry,) = emu.conversation("+250788000508")
    assert (entry["type"], entry["mime_type"], entry["caption"]) == ("image", "image/jpeg", "ordonnance")
    assert main(["emulate", "fault", "--emulator", emu.url, '{"target": "whatsapp_send", "status": 503}']) == 0
    assert emu.call("GET", "/sim/faults").json()["armed"] == [{"target": "whatsapp_send", "status": 503}]
    assert send(emu, "+250788000508", type="text", text={"body": "x"}).status_code == 503
    capsys.readouterr()
    assert main(["emulate", "fault", "--emulator", emu.url, '{"target": "whatsapp_send", "status": 200}']) == 2
    assert "fault status must be 4xx or 5xx" in capsys.readouterr().err


def test_cli_says_so_when_no_emulator_runs_or_the_input_is_wrong(capsys, tmp_path):
    assert main(["emulate", "log", "--emulator", "http://127.0.0.1:9", "--phone", "+250788000509"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("concierge-sim emulate log: no emulator at http://127.0.0.1:9 (ConnectError)")
    assert main(["emulate", "send", "--emulator", "http://127.0.0.1:9", "--from", "+250788000509",
                 "--image", str(tmp_path / "missing.jpg")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"concierge-sim emulate send: --image {tmp_path / 'missing.jpg'}: no such file")
