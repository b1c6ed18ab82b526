"""Calling with mocks: consent lifecycle, the call gates, the fake provider on the wire, callbacks.

Each test drives a real SimWorld (signed webhooks in, Graph API and call-provider HTTP out) and
checks what the provider actually placed, not only what the concierge says it did.
"""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import ai_world, latest_request, pharmacy, texts_to

from concierge import calling
from concierge.policy import Caps
from concierge.texts import text_for
from simulators.adapters.call_provider import HttpCallProvider
from simulators.calling import CALLBACK_URL, CALLS_HOST, FakeCallProvider
from simulators.invariants import no_call_without_consent
from simulators.world import CALL_API_KEY, CALL_SECRET, SimWorld

CLIENT = "+250780000001"
FALLBACK = "Call didn't go through; continuing via chat."
URGENT_NEED = "I need Amoxicillin 500mg urgently near Kimironko"


VENDORS = [pharmacy("pharma_plus", "+250788000101"), pharmacy("kimironko_meds", "+250788000102"),
           pharmacy("remera_pharmacy", "+250788000103")]


def make_world(*, calling_on: bool = True, caps: Caps | None = None) -> SimWorld:
    return ai_world(VENDORS, clients={CLIENT: ("Kimironko", "en")}, caps=caps, seed=3, calling=calling_on)


@pytest.fixture
def world():
    w = make_world()
    yield w
    w.close()


def say(world: SimWorld, text: str) -> None:
    world.message_from(CLIENT, kind="text", text=text)


def tap(world: SimWorld, button_id: str, title: str) -> None:
    world.message_from(CLIENT, kind="interactive", button_id=button_id, button_title=title)


def vendor_says(world: SimWorld, phone: str, text: str) -> None:
    world.message_from(phone, kind="text", text=text)


def request_id(world: SimWorld) -> str:
    return latest_request(world, CLIENT).id


def client_texts(world: SimWorld) -> list[str]:
    return texts_to(world, CLIENT)


def refusals(world: SimWorld) -> list[str]:
    return [e["data"]["gate"] for e in world.ledger.audit_events("call.refused")]


def start_call(world: SimWorld, target: str = "vendor", vendor_id: str | None = "pharma_plus",
               key: str = "k1") -> dict:
    return world.concierge.tools.call(
        "marketplace.start_call",
        {"request_id": request_id(world), "idempotency_key": key, "actor": "admin", "target": target,
         "vendor_id": vendor_id},
        world.clock.now(),
    )


def grant(world: SimWorld, scope: str) -> None:
    now = world.clock.now()
    calling.request_consent(world.concierge, {"request_id": request_id(world), "scope": scope}, now)
    assert calling.answer_consent(world.concierge, request_id(world), True, now) == "granted"


# --- parsing the client's words -------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("YES", True), ("yes please", True), ("Oui", True), ("oui merci", True), ("YEGO", True), ("ego", True),
    # A phone's apostrophe (iOS smart punctuation, the modifier letter U+02BC) is an apostrophe.
    ("d'accord", True), ("D\u2019accord", True), ("d\u2019accord merci", True), ("d\u02bcaccord", True),
    ("NO", False), ("non", False), ("Oya", False), ("no thanks", False), ("NON!", False),
    ("yes no", None), ("maybe", None), ("yes I need paracetamol too", None), ("", None), ("ok", None),
])
def test_consent_answer_words(text, expected):
    assert calling.consent_answer(text) is expected


def test_consent_buttons_decide_whatever_the_title():
    assert calling.consent_answer("Sawa", calling.YES_BUTTON) is True
    assert calling.consent_answer("Yes", calling.NO_BUTTON) is False


@given(st.one_of(st.none(), st.text(max_size=60)), st.one_of(st.none(), st.text(max_size=20)))
def test_consent_answer_never_raises(text, button):
    assert calling.consent_answer(text, button) in (True, False, None)


@given(st.one_of(st.none(), st.text(max_size=80)))
def test_call_me_never_raises(text):
    assert calling.is_call_me(text) in (True, False)


@pytest.mark.parametrize("text,expected", [
    ("call me", True), ("Can you call me please", True), ("appelez-moi", True), ("Appelle moi svp", True),
    ("Mpamagara", True), ("I need a phone charger", False), ("calling card", False), ("yes", False),
])
def test_call_me_phrases(text, expected):
    assert calling.is_call_me(text) is expected


# --- consent lifecycle ------------------------------------------------------------------------
def test_urgent_silence_asks_consent_with_text_and_buttons_then_calls_first_silentpharmacy(world):
    say(world, URGENT_NEED)
    world.advance(179)
    assert calling.consent(world.concierge, request_id(world), world.clock.now())["status"] == "not_requested"
    world.advance(1)
    state = calling.consent(world.concierge, request_id(world), world.clock.now())
    assert (state["status"], state["scope"]) == ("requested", "call_vendor")
    prompt = world.whatsapp.sent[-1]
    assert prompt.to == CLIENT and "Reply YES or NO" in prompt.text
    assert [b[0] for b in prompt.buttons] == [calling.YES_BUTTON, calling.NO_BUTTON]
    assert world.calls.placed == []
    tap(world, calling.YES_BUTTON, "Yes")
    first = min(world.ledger.outreach(request_id=request_id(world)), key=lambda o: (o.batch, o.sent_at, o.id))
    assert [c["to"] for c in world.calls.placed] == [world.directory.by_id(first.vendor_id).phone]
    assert client_texts(world)[-1] == text_for("consent_granted", "en")
    assert no_call_without_consent(world, None) == []


def test_a_reply_within_three_minutes_means_no_prompt(world):
    say(world, URGENT_NEED)
    world.advance(60)
    vendor_says(world, "+250788000102", "1. yes 2. 3,500 3. Kimironko market")
    world.advance(180)
    assert calling.consent(world.concierge, request_id(world), world.clock.now())["status"] == "not_requested"
    assert not any("May I call" in t for t in client_texts(world))


def test_non_urgent_request_has_no_silence_trigger(world):
    say(world, "I need Amoxicillin 500mg near Kimironko")
    world.advance(200)
    assert world.ledger.audit_events("call.triggered") == []


def test_no_denies_and_nothing_is_ever_called(world):
    say(world, URGENT_NEED)
    world.advance(180)
    say(world, "no")
    assert calling.consent(world.concierge, request_id(world), world.clock.now())["status"] == "denied"
    vendor_says(world, "+250788000102", "maybe, let me check")
    assert world.calls.placed == []
    assert refusals(world) == ["consent"]
    assert sum("May I call" in t for t in client_texts(world)) == 1  # never asked twice


def test_grant_expires_after_the_ttl(world):
    say(world, URGENT_NEED)
    world.advance(180)
    say(world, "YES")
    rid = request_id(world)
    world.advance(24 * 3600 - 1)
    assert calling.consent(world.concierge, rid, world.clock.now())["status"] == "granted"
    world.advance(1)
    assert calling.consent(world.concierge, rid, world.clock.now())["status"] == "expired"


def test_yes_is_not_a_consent_answer_when_another_question_is_newer(world):
    say(world, "I need Amoxicillin 500mg")  # no place: the concierge asks where
    rid = request_id(world)
    calling.request_consent(world.concierge, {"request_id": rid, "scope": "call_client"}, world.clock.now())
    world.concierge.tell_client(world.ledger.get_request(rid), "question", "Where are you?", world.clock.now(),
                                key_suffix=":q9")
    say(world, "yes")
    assert calling.consent(world.concierge, rid, world.clock.now())["status"] == "requested"


def test_call_me_asks_for_consent_and_is_not_a_call(world):
    say(world, "I need Amoxicillin 500mg near Kimironko")
    say(world, "call me")
    state = calling.consent(world.concierge, request_id(world), world.clock.now())
    assert (state["status"], state["scope"]) == ("requested", "call_client")
    assert world.calls.placed == []
    say(world, "call me")  # asking twice does not prompt twice
    assert sum("May I call you" in t for t in client_texts(world)) == 1
    say(world, "oui")
    assert [c["to"] for c in world.calls.placed] == [CLIENT]


def test_call_me_after_a_vendor_prompt_widens_the_scope(world):
    say(world, URGENT_NEED)
    world.advance(180)
    say(world, "call me")
    state = calling.consent(world.concierge, request_id(world), world.clock.now())
    assert (state["status"], state["scope"]) == ("requested", "either")


# --- the gates ------------------------------------------------------------------------------
def test_flag_off_every_call_answers_disabled_but_consent_requests_work():
    world = make_world(calling_on=False)
    try:
        say(world, "I need Amoxicillin 500mg near Kimironko")
        result = start_call(world)
        assert result["success"] is False and result["reason"] == "disabled"
        consent = world.concierge.tools.call(
            "marketplace.request_call_consent",
            {"request_id": request_id(world), "idempotency_key": "c1", "actor": "system", "scope": "either"},
            world.clock.now(),
        )
        assert consent == {"success": True, "status": "requested"}
        calling.answer_consent(world.concierge, request_id(world), True, world.clock.now())
        assert start_call(world, key="k2")["reason"] == "disabled"  # granted consent does not matter
        assert world.calls.placed == [] and refusals(world) == ["disabled", "disabled"]
    finally:
        world.close()


def test_gate_consent_then_scope_then_cooldown():
    world = make_world(caps=Caps(call_cooldown_s=240))
    say(world, "I need Amoxicillin 500mg near Kimironko")
    assert start_call(world, key="a")["reason"] == "consent"
    grant(world, "call_client")
    assert start_call(world, key="b")["reason"] == "scope"
    assert start_call(world, target="client", vendor_id=None, key="c")["success"] is True
    world.advance(239)
    assert start_call(world, target="client", vendor_id=None, key="d")["reason"] == "cooldown"
    world.advance(1)
    assert start_call(world, target="client", vendor_id=None, key="e")["success"] is True
    assert refusals(world) == ["consent", "scope", "cooldown"]
    assert len(world.calls.placed) == 2
    assert no_call_without_consent(world, None) == []
    world.close()


def test_gate_request_state_after_handoff(world):
    say(world, "I need Amoxicillin 500mg near Kimironko")
    grant(world, "either")
    for phone in ("+250788000101", "+250788000102", "+250788000103"):
        vendor_says(world, phone, "1. yes 2. 3,500 3. Kimironko market")
    assert world.ledger.get_request(request_id(world)).state == "handed_off"
    result = start_call(world)
    assert result == {"success": False, "reason": "request_state", "gate": "request_state", "call_id": None}
    assert world.calls.placed == []


def test_only_vendors_this_request_contacted_can_be_called():
    world = make_world()
    try:
        say(world, "I need a phone charger near Kimironko")  # electronics: no pharmacy was asked
        grant(world, "call_vendor")
        assert start_call(world)["reason"] == "vendor_not_contacted"
        assert start_call(world, vendor_id="nobody", key="k2")["reason"] == "unknown_vendor"
        assert world.calls.placed == []
    finally:
        world.close()


def test_same_idempotency_key_is_one_call(world):
    say(world, "I need Amoxicillin 500mg near Kimironko")
    grant(world, "call_vendor")
    first = start_call(world, key="same")
    again = start_call(world, key="same")
    assert first == again and first["success"] is True
    assert len(world.calls.placed) == 1


# --- provider, callbacks and the fallback ----------------------------------------------------
def _granted_call(world: SimWorld) -> str:
    say(world, URGENT_NEED)
    world.advance(180)
    say(world, "yes")
    rows = world.ledger.db.execute("SELECT id FROM calls").fetchall()
    assert len(rows) == 1
    return rows[0]["id"]


def _status(world: SimWorld, call_id: str) -> str:
    return world.ledger.db.execute("SELECT status FROM calls WHERE id=?", (call_id,)).fetchone()[0]


@pytest.mark.parametrize("final", ["failed", "no_answer", "busy"])
def test_failed_call_sends_the_fallback_once(world, final):
    call_id = _granted_call(world)
    assert _status(world, call_id) == "ringing"
    world.calls.callback(final)
    world.calls.callback(final)
    world.calls.callback("completed")  # a late contradicting callback never reopens the call
    assert _status(world, call_id) == final
    assert client_texts(world).count(FALLBACK) == 1


def test_completed_call_sends_no_fallback(world):
    call_id = _granted_call(world)
    world.calls.callback("completed")
    world.advance(600)
    assert _status(world, call_id) == "completed" and FALLBACK not in client_texts(world)


def test_a_connected_call_is_not_failed_by_the_watchdog_while_people_talk(world):
    # Found by the rollout simulator: a 6-minute conversation was reported to the client as
    # "Call didn't go through" because the 5-minute watchdog only knew final statuses.
    call_id = _granted_call(world)
    world.calls.callback("in_progress")
    world.advance(20 * 60)
    assert _status(world, call_id) == "in_progress" and FALLBACK not in client_texts(world)
    world.calls.callback("completed")
    assert _status(world, call_id) == "completed" and FALLBACK not in client_texts(world)


def test_a_connected_call_that_never_ends_is_failed_after_the_maximum(world):
    call_id = _granted_call(world)
    world.calls.callback("in_progress")
    world.advance(Caps().call_max_s - 60)
    assert _status(world, call_id) == "in_progress"
    world.advance(120)
    assert _status(world, call_id) == "failed"
    assert len(world.ledger.audit_events("call.no_final_status")) == 1
    # The request ended long before (10-minute hard limit): no "didn't go through" to a closed chat.
    assert FALLBACK not in client_texts(world)


def test_provider_error_places_nothing_and_falls_back(world):
    say(world, URGENT_NEED)
    world.advance(180)
    world.calls.inject_fault("error", status=503)
    say(world, "yes")
    assert world.calls.placed == []
    assert world.ledger.db.execute("SELECT status FROM calls").fetchone()[0] == "failed"
    assert client_texts(world).count(FALLBACK) == 1


def test_unsigned_or_forged_callbacks_change_nothing(world):
    call_id = _granted_call(world)
    body = json.dumps({"reference": call_id, "status": "failed"}).encode()
    assert world.concierge.on_call_status(body, None, world.clock.now()) == "refused"
    assert world.concierge.on_call_status(body, calling.sign_callback(body, "wrong"), world.clock.now()) == "refused"
    signed = calling.sign_callback(body, CALL_SECRET)
    tampered = body.replace(b"failed", b"busy!!")
    assert world.concierge.on_call_status(tampered, signed, world.clock.now()) == "refused"
    assert _status(world, call_id) == "ringing" and FALLBACK not in client_texts(world)
    assert world.concierge.on_call_status(body, signed, world.clock.now()) == "updated"
    assert _status(world, call_id) == "failed"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"reference": "x"}', b'{"reference": 1, "status": "failed"}',
                                  b'{"reference": "x", "status": "exploded"}', b"\xff\xfe"])
def test_signed_garbage_is_malformed_not_a_crash(world, body):
    assert world.concierge.on_call_status(body, calling.sign_callback(body, CALL_SECRET), 0.0) == "malformed"


def test_callback_for_an_unknown_call(world):
    body = json.dumps({"reference": "req-404:call:1", "status": "completed"}).encode()
    assert world.concierge.on_call_status(body, calling.sign_callback(body, CALL_SECRET), 0.0) == "unknown"


def test_silent_provider_is_failed_by_the_watchdog(world):
    say(world, URGENT_NEED)
    world.advance(180)
    world.calls.inject_fault("no_callback")
    say(world, "yes")
    call_id = world.ledger.db.execute("SELECT id FROM calls").fetchone()[0]
    world.advance(299)
    assert _status(world, call_id) == "initiated"
    world.advance(1)
    assert _status(world, call_id) == "failed" and client_texts(world).count(FALLBACK) == 1


def test_fake_provider_on_the_wire():
    fake = FakeCallProvider(secret="s", api_key="key", now=lambda: 100.0)
    http = fake.client()
    port = HttpCallProvider(http, api_key="key", callback_url=CALLBACK_URL)
    first = port.start_call("0788 000 101", request_id="r1", idempotency_key="r1:call:1")
    again = port.start_call("+250788000101", request_id="r1", idempotency_key="r1:call:1")
    assert first.accepted and first.call_id == again.call_id and len(fake.placed) == 1
    assert fake.placed[0]["to"] == "+250788000101"
    refused = HttpCallProvider(http, api_key="nope", callback_url=CALLBACK_URL)
    assert refused.start_call("+250788000101", request_id="r", idempotency_key="x").error == "http 401"
    assert http.get(f"https://{CALLS_HOST}/v1/other").status_code == 404
    fake.inject_fault("error", status=502, times=2)
    assert port.start_call("+250788000102", request_id="r2", idempotency_key="a").error == "http 502"
    assert port.start_call("+250788000102", request_id="r2", idempotency_key="b").error == "http 502"
    assert port.start_call("+250788000102", request_id="r2", idempotency_key="c").accepted
    ringing = fake.drain_callbacks()
    assert [json.loads(h.body)["status"] for h in ringing] == ["ringing", "ringing"]
    assert all(calling.verify_callback(h.body, h.signature, "s") for h in ringing)
    with pytest.raises(ValueError):
        fake.callback("exploded")
    with pytest.raises(ValueError):
        fake.inject_fault("meltdown")


def test_http_adapter_survives_a_transport_error():
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    port = HttpCallProvider(httpx.Client(base_url=f"https://{CALLS_HOST}", transport=httpx.MockTransport(boom)),
                            api_key=CALL_API_KEY, callback_url=CALLBACK_URL)
    outcome = port.start_call("+250788000101", request_id="r", idempotency_key="k")
    assert not outcome.accepted and outcome.error.startswith("transport")


# --- the invariant reads the provider's own record --------------------------------------------
def test_invariant_catches_a_call_placed_behind_the_concierges_back(world):
    say(world, "I need Amoxicillin 500mg near Kimironko")
    world.concierge.ports.calls.start_call("+250788000101", request_id=request_id(world), idempotency_key="rogue")
    problems = no_call_without_consent(world, None)
    assert problems and "unsolicited" in problems[0]


def test_invariant_catches_a_ledger_call_without_consent(world):
    say(world, "I need Amoxicillin 500mg near Kimironko")
    rid = request_id(world)
    world.ledger.db.execute(
        "INSERT INTO calls (id, request_id, target, to_phone, status, started_at, consent_ok, updated_at)"
        " VALUES ('x', ?, 'vendor', '+250788000101', 'initiated', ?, 1, ?)", (rid, world.clock.now(), world.clock.now()))
    assert any("without granted consent" in p for p in no_call_without_consent(world, None))


def test_invariant_judges_consent_as_it_was_when_the_call_was_placed(world):
    _granted_call(world)
    say(world, "call me")  # re-asks (scope either): the earlier call stays legitimate
    assert calling.consent(world.concierge, request_id(world), world.clock.now())["status"] == "requested"
    assert no_call_without_consent(world, None) == []
