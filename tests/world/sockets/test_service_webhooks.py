"""Meta's webhook contract over real HTTP: the handshake, each hostile body's status code, a 10 MB
body refused without being read, nothing recorded for a refused webhook, and a redelivery handled
once. One service process for the module (it is the same contract for every case)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from concierge.phones import mask_phones_in
from service.spawn import start_service

from .graph_receiver import GraphReceiver
from .service_proc import (
    ACCESS_TOKEN,
    APP_SECRET,
    ENV,
    HTTP,
    START_S,
    VERIFY_TOKEN,
    inbox_high_water,
    ledger_rows,
    signed_messages,
    wait_for_rows,
)

ALICE = "+250780000001"
LEDGER_TABLES = ("inbound", "requests", "transcript", "outbound", "audit", "timers")


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    receiver = GraphReceiver(ACCESS_TOKEN).start()
    db = str(tmp_path_factory.mktemp("svc") / "ledger.sqlite")
    service = start_service(receiver.url, db, env=ENV, timeout=START_S)
    try:
        yield service, receiver
    finally:
        service.kill()
        receiver.stop()


def _sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _counts(db: str) -> dict[str, int]:
    return {table: len(ledger_rows(db, table)) for table in LEDGER_TABLES}


def _raw_request(url: str, head: str, body: bytes = b"") -> int:
    """Send raw bytes and read the status line. The connection stays open: a server waiting for
    the rest of a body that never comes does not answer, and the read times out (60 s, a bound
    no loaded machine needs)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        sock.sendall(head.encode() + body)
        status_line = sock.makefile("rb").readline().decode()
        return int(status_line.split()[1])


def test_handshake_echoes_the_challenge_only_for_the_verify_token(running):
    service, _ = running
    ok = httpx.get(f"{service.url}/webhook", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}, **HTTP)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    for params in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"},
                   {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "x"},
                   {"hub.challenge": "x"}):
        assert httpx.get(f"{service.url}/webhook", params=params, **HTTP).status_code == 403


def test_health_and_readiness(running):
    service, _ = running
    assert httpx.get(f"{service.url}/healthz", **HTTP).json() == {"status": "ok"}
    ready = httpx.get(f"{service.url}/readyz", **HTTP)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_hostile_webhooks_get_their_status_and_nothing_is_recorded(running):
    service, receiver = running
    before, sent_before = _counts(service.db_path), len(receiver.sent)
    stored_before = inbox_high_water(service.db_path)
    hook = signed_messages(seed=7).message_webhook(ALICE, text="I need Amoxicillin 500mg near Kimironko")
    not_json = b"{not json"
    wrong_object = json.dumps({"object": "page", "entry": []}).encode()
    no_entry = json.dumps({"object": "whatsapp_business_account"}).encode()
    cases = [
        (hook.body, None, 401),                                   # missing signature
        (hook.body, "sha256=" + "0" * 64, 401),                   # wrong signature
        (hook.body, "md5=abc", 401),                              # malformed signature
        (hook.body, _sign(hook.body, "another-app"), 401),         # another app's secret
        (hook.body + b" ", _sign(hook.body), 401),                # body changed after signing
        (not_json, _sign(not_json), 400),
        (wrong_object, _sign(wrong_object), 400),
        (no_entry, _sign(no_entry), 400),
    ]
    for body, signature, expected in cases:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        answer = httpx.post(f"{service.url}/webhook", content=body, headers=headers, **HTTP)
        assert answer.status_code == expected, (signature, body[:40], answer.text)
    # Nothing was stored for the writer: what is never queued can never be handled, however slowly.
    assert inbox_high_water(service.db_path) == stored_before
    assert _counts(service.db_path) == before
    assert len(receiver.sent) == sent_before
    assert httpx.get(f"{service.url}/readyz", **HTTP).json()["inbox"] == 0


def test_a_10_mb_body_is_refused_without_being_read(running):
    service, _ = running
    before = _counts(service.db_path)
    path = urlsplit(service.url)
    ten_mb = 10 * 1024 * 1024
    # Declared 10 MB, and only 1 KB of it sent: the rest never comes, so any answer at all was
    # given without waiting for it (no stopwatch: a loaded machine answers late, not differently).
    status = _raw_request(service.url, (
        f"POST /webhook HTTP/1.1\r\nHost: {path.netloc}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={'0' * 64}\r\nContent-Length: {ten_mb}\r\n\r\n"), b"x" * 1024)
    assert status == 413
    # Chunked (no length declared): refused once the stream passes the limit, long before 10 MB.
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20))  # 1.25 MB sent
    status = _raw_request(service.url, (
        f"POST /webhook HTTP/1.1\r\nHost: {path.netloc}\r\nTransfer-Encoding: chunked\r\n\r\n"), chunks)
    assert status == 413
    assert _counts(service.db_path) == before
    assert httpx.get(f"{service.url}/healthz", **HTTP).status_code == 200  # and it still serves


def test_a_redelivered_message_is_handled_once(running):
    service, receiver = running
    hook = signed_messages(seed=8).message_webhook("+250780000009", text="hello")
    for _ in range(3):  # Meta redelivers the very same bytes
        answer = httpx.post(f"{service.url}/webhook", content=hook.body, headers=hook.headers, **HTTP)
        assert answer.status_code == 200 and answer.json() == {"received": 1}
    # The writer handles the inbox in order: once both copies are audited as duplicates, every unit
    # of work the three deliveries started is over, and whatever they sent has been sent.
    wait_for_rows(service.db_path, "audit", lambda rows: sum(
        r["event"] == "inbound.duplicate_suppressed" and hook.wamid in r["data"] for r in rows) == 2,
        "the two redeliveries handled")
    receiver.wait_until(lambda sent: any(s.to == "+250780000009" for s in sent), "the answer to the client")
    inbound = [r for r in ledger_rows(service.db_path, "inbound") if r["wamid"] == hook.wamid]
    assert len(inbound) == 1
    assert len(receiver.to("+250780000009")) == 1  # one answer to the client, not three
    duplicates = [r for r in ledger_rows(service.db_path, "audit") if r["event"] == "inbound.duplicate_suppressed"]
    assert len(duplicates) == 2


def test_logs_are_json_lines_with_phones_masked(running):
    service, receiver = running
    # Its own traffic (under xdist the module's other tests may run in another process).
    hook = signed_messages(seed=9).message_webhook("+250780000001", text="hello")
    httpx.post(f"{service.url}/webhook", content=hook.body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
               **HTTP)
    httpx.post(f"{service.url}/webhook", content=hook.body, headers=hook.headers, **HTTP)
    receiver.wait_until(lambda sent: any(s.to == "+250780000001" for s in sent), "the answer to the client")
    lines = [line for line in service.log_lines() if not line.startswith("concierge listening on")]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"ts", "level", "logger", "msg"} <= set(entries[0])
    messages = [e["msg"] for e in entries]
    assert any("webhook refused: signature mismatch" in m for m in messages)
    assert any(m.startswith("request ") and "opened for" in m for m in messages)
    assert any(e["logger"].startswith("uvicorn") for e in entries)  # the server's own lines too
    for message in messages:
        assert mask_phones_in(message) == message, message
        assert "780000009" not in message and "780000001" not in message
