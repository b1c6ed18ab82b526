"""The whole path through real HTTP, with the concierge service and the Cloud API emulator as two
processes: a client's need, the outreach, the vendors' replies, the shortlist with wa.me links.
Every message crosses loopback sockets: emulator -> signed webhook -> service -> Graph API send ->
emulator (and its status webhooks back)."""

from __future__ import annotations

from .service_proc import ledger_rows

ALICE = "+250780000001"
VENDORS = {"pharma_plus": "+250788000101", "kimironko_meds": "+250788000102",
           "remera_pharmacy": "+250788000103"}
REPLIES = {"pharma_plus": "1. yes 2. 3,500 3. Kimironko market",
           "remera_pharmacy": "1. Yes 2. 3000-4000 3. Near Remera bus park",
           "kimironko_meds": "yes available 4000"}


def _failed(emulator):
    return [d for d in emulator.deliveries() if any("error" in a for a in d["attempts"])]


def _outbound(emulator, phone):
    return [m for m in emulator.conversation(phone) if m["direction"] == "out"]


def test_client_need_to_shortlist_over_real_http(emulator, service_factory):
    service = service_factory(emulator.url)
    emulator.subscribe(f"{service.url}/webhook")  # the emulator's handshake against the service
    emulator.say(ALICE, "I need Amoxicillin 500mg, 21 capsules, near Kimironko")
    for phone in VENDORS.values():
        emulator.wait_for(lambda p=phone: _outbound(emulator, p), what=f"the outreach to {phone}")
    asked = _outbound(emulator, VENDORS["pharma_plus"])
    assert len(asked) == 1 and "Amoxicillin" in asked[0]["text"]
    assert "780000001" not in asked[0]["text"]  # the client's number never goes to a vendor
    for vendor, text in REPLIES.items():
        emulator.say(VENDORS[vendor], text)
    shortlist = emulator.wait_for(
        lambda: [m for m in _outbound(emulator, ALICE) if "https://wa.me/" in (m.get("text") or "")],
        timeout=15, what="the shortlist")
    assert len(shortlist) == 1
    text = shortlist[0]["text"]
    assert "https://wa.me/250788000101" in text and "https://wa.me/250788000102" in text
    assert text.index("wa.me/250788000101") < text.index("wa.me/250788000102")  # best first
    for phone in VENDORS.values():
        assert len(_outbound(emulator, phone)) == 1  # each vendor asked once, whatever redelivers


def test_a_prescription_photo_is_downloaded_from_the_emulator_and_read(emulator, service_factory):
    """The media path over HTTP: the emulator's media object, its http URL on the API's own origin,
    the bytes downloaded with the bearer token, real Tesseract reading them in the service."""
    service = service_factory(emulator.url, env={
        "FEATURE_AI_CONCIERGE": "true", "FEATURE_AI_CONCIERGE_OCR": "true",
        "AI_CONCIERGE_ALLOWLIST_PHONES": ALICE}, extra_args=("--time-scale", "10"))  # OCR's 5 s wait
    emulator.subscribe(f"{service.url}/webhook")
    emulator.say(ALICE, image={"render": "prescription", "items": [
        {"drug": "Amoxicillin", "dose": "500mg", "form": "capsules", "quantity": 21,
         "instructions": "1 capsule 3 times a day"}]}, caption="Please find this near Kimironko")
    asked = emulator.wait_for(lambda: _outbound(emulator, VENDORS["pharma_plus"]), timeout=30,
                              what="the outreach for the drug read from the photo")
    assert "Amoxicillin" in asked[0]["text"]


def test_meta_redelivers_while_the_service_is_down_and_it_is_handled_once(emulator_factory, service_factory):
    """SIGKILL the service; a vendor's reply comes while it is down: the emulator's deliveries
    (the reply, and the status webhooks queued before it for that phone) fail and are retried, the
    same bytes each time (a short flat backoff here). The service comes back on the same port and
    ledger file: the reply is recorded once, and nothing already sent is sent again."""
    emulator = emulator_factory(retry_schedule=",".join(["0.2"] * 40))
    first = service_factory(emulator.url)
    emulator.subscribe(f"{first.url}/webhook")
    emulator.say(ALICE, "I need Amoxicillin 500mg, 21 capsules, near Kimironko")
    for phone in VENDORS.values():
        emulator.wait_for(lambda p=phone: _outbound(emulator, p), what=f"the outreach to {phone}")
    first.kill()
    reply = emulator.say(VENDORS["pharma_plus"], REPLIES["pharma_plus"])
    # Deliveries to one phone keep their order: the reply may wait behind the outreach's status
    # webhooks, which fail the same way. Whichever fails first, the service comes back now.
    emulator.wait_for(lambda: _failed(emulator), what="a failed delivery attempt")
    port = int(first.url.rsplit(":", 1)[1])
    second = service_factory(emulator.url, db_path=first.db_path, port=port)
    assert second.url == first.url
    for vendor in ("remera_pharmacy", "kimironko_meds"):
        emulator.say(VENDORS[vendor], REPLIES[vendor])
    shortlist = emulator.wait_for(
        lambda: [m for m in _outbound(emulator, ALICE) if "https://wa.me/" in (m.get("text") or "")],
        timeout=20, what="the shortlist after the restart")
    assert len(shortlist) == 1 and "https://wa.me/250788000101" in shortlist[0]["text"]
    for delivery in _failed(emulator):  # each refused one was redelivered to the restarted service
        assert delivery["state"] == "delivered" and delivery["attempts"][-1]["status"] == 200
    inbound = [r for r in ledger_rows(first.db_path, "inbound") if r["wamid"] == reply["wamid"]]
    assert len(inbound) == 1
    for phone in VENDORS.values():
        assert len(_outbound(emulator, phone)) == 1
    assert len([m for m in _outbound(emulator, ALICE) if "asking nearby vendors" in (m.get("text") or "")]) == 1
