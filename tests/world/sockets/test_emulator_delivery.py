"""Webhook delivery over real HTTP: Meta's redelivery (same bytes, same wamid) on a 500 or a timeout,
giving up when the schedule is spent, per-phone order, and the subscription handshake at start."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

import pytest

from simulators.commands.cli import main

from .emulator_proc import FAST_RETRIES, SECRETS
from .webhook_receiver import WebhookReceiver


@pytest.fixture
def subscribed(shared_emulator, webhook_receiver):
    shared_emulator.clear_faults()
    shared_emulator.subscribe(webhook_receiver.url)
    return shared_emulator


def wamid_of(body: bytes) -> str:
    value = json.loads(body)["entry"][0]["changes"][0]["value"]
    return (value.get("messages") or value.get("statuses"))[0]["id"]


def test_a_500_is_redelivered_with_the_same_signed_bytes_after_each_backoff(subscribed, webhook_receiver):
    webhook_receiver.script.extend([500, 503])
    said = subscribed.say("+250788000301", "I need panadol")
    got = webhook_receiver.wait_for(3)
    assert [r.answered for r in got] == [500, 503, 200]
    assert len({r.body for r in got}) == 1 and wamid_of(got[0].body) == said["wamid"]
    signature = "sha256=" + hmac.new(SECRETS["app_secret"].encode(), got[0].body, hashlib.sha256).hexdigest()
    assert {r.headers["X-Hub-Signature-256"] for r in got} == {signature}
    waits = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    schedule = [float(s) for s in FAST_RETRIES.split(",")]
    assert waits[0] >= schedule[0] and waits[1] >= schedule[1]
    (delivery,) = subscribed.deliveries(said["wamid"])
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [500, 503, 200]


def test_a_timeout_is_redelivered(subscribed, webhook_receiver):
    webhook_receiver.script.append(1.6)  # stall past the emulator's 1 s delivery timeout
    said = subscribed.say("+250788000302", "hello?")
    got = webhook_receiver.wait_for(2)
    assert [r.answered for r in got] == ["stalled", 200] and got[0].body == got[1].body
    (delivery,) = subscribed.deliveries(said["wamid"])
    assert [a.get("error") or a["status"] for a in delivery["attempts"]] == ["timeout", 200]


def test_given_up_after_the_schedule_and_the_phones_next_webhook_still_goes(subscribed, webhook_receiver):
    retries = len(FAST_RETRIES.split(","))
    webhook_receiver.script.extend([500] * (retries + 1))
    first = subscribed.say("+250788000303", "one")
    second = subscribed.say("+250788000303", "two")
    got = webhook_receiver.wait_for(retries + 2)
    # The second message waited behind every attempt of the first: one phone, one lane, in order.
    assert [wamid_of(r.body) for r in got] == [first["wamid"]] * (retries + 1) + [second["wamid"]]
    assert subscribed.wait_for(lambda: subscribed.deliveries(first["wamid"])[0]["state"] == "given_up")
    assert subscribed.deliveries(second["wamid"])[0]["state"] == "delivered"


def test_a_subscription_whose_handshake_fails_is_refused_at_run_time(shared_emulator):
    wrong = WebhookReceiver("another-token").start()
    try:
        before = shared_emulator.call("GET", "/sim/health").json()["webhook_url"]
        answer = shared_emulator.call("POST", "/sim/subscription", ok=False, json={"webhook_url": wrong.url})
        assert answer.status_code == 502
        assert "refused the subscription handshake: HTTP 403" in answer.json()["error"]
        assert shared_emulator.call("GET", "/sim/health").json()["webhook_url"] == before
    finally:
        wrong.stop()


def emulate(capsys, *args: str) -> tuple[int, str]:
    """``concierge-sim emulate`` in this process: a refused start never gets as far as serving."""
    code = main(["emulate", "--port", "0", "--app-secret", SECRETS["app_secret"],
                 "--verify-token", SECRETS["verify_token"], *args])
    return code, capsys.readouterr().err


def test_start_is_refused_when_the_target_fails_the_handshake(capsys):
    wrong = WebhookReceiver("another-token").start()
    try:
        code, err = emulate(capsys, "--webhook-url", wrong.url)
    finally:
        wrong.stop()
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"concierge-sim emulate: the webhook target {wrong.url} refused the subscription "
                           "handshake: HTTP 403")
    assert "--no-handshake" in line and wrong.handshakes[0]["hub.verify_token"] == SECRETS["verify_token"]


def test_start_is_refused_when_nothing_listens_at_the_target(capsys):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, err = emulate(capsys, "--webhook-url", f"http://127.0.0.1:{port}/webhook", "--handshake-wait", "0.3")
    assert code == 2
    assert f"no webhook target at http://127.0.0.1:{port}/webhook: could not connect (retried for 0.3 s)" in err
    assert "Traceback" not in err


def test_start_after_a_good_handshake_delivers_to_the_target(emulator_factory, webhook_receiver):
    emulator = emulator_factory(webhook_url=webhook_receiver.url, handshake=True)
    (check,) = webhook_receiver.handshakes
    assert check["hub.mode"] == "subscribe" and check["hub.challenge"].isdigit()
    said = emulator.say("+250788000304", "after the handshake")
    assert wamid_of(webhook_receiver.wait_for(1)[0].body) == said["wamid"]


def test_bad_settings_are_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.delenv("WHATSAPP_APP_SECRET", raising=False)
    assert main(["emulate", "--port", "0", "--verify-token", "v"]) == 2
    assert capsys.readouterr().err.strip() == ("concierge-sim emulate: --app-secret (or WHATSAPP_APP_SECRET) "
                                               "is required: webhooks are signed with it")
    code, err = emulate(capsys, "--retry-schedule", "1,soon")
    assert code == 2 and "--retry-schedule: expected comma-separated seconds" in err
    code, err = emulate(capsys, "--statuses", "sent,seen")
    assert code == 2 and "--statuses: unknown status 'seen'" in err
