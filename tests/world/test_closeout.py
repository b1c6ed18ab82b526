"""Shortlist closeout: persist -> shortlist_ready -> send -> handed_off -> pending outreach excluded.

Every step is idempotent: a closeout retried (a second proposal, a crash half-way then the
closeout check timer) sends nothing twice and delivers the shortlist that was persisted first.
"""

from __future__ import annotations

import re

import pytest
from support import ai_world, latest_request, pharmacy, texts_to

from concierge.closeout import CLOSEOUT_CHECK_S
from concierge.ports import Vendor
from concierge.texts import SHORTLIST
from simulators.world import SimWorld

CLIENT = "+250780000401"
NEED = "I need Amoxicillin 500mg near Kimironko"


def _vendor(vid: str, name: str, phone: str, area: str = "Kimironko") -> Vendor:
    return pharmacy(vid, phone, name=name, area=area)


VENDORS = [_vendor("kim_1", "Pharmacie Umoja", "+250788700001"),
           _vendor("kim_2", "Kimironko Care", "+250788700002"),
           _vendor("kim_3", "Silent Pharmacy", "+250788700003"),
           _vendor("kim_4", "Quiet Chemist", "+250788700004", area="Kibagabaga")]
PHONES = {v.id: v.phone for v in VENDORS}
PLAN = {
    "type": "vendor_outreach_plan", "category": "pharmacy", "normalized_need": "Amoxicillin 500mg",
    "batch_size": 4, "vendor_questions": ["Do you have it in stock? (yes/no)", "Price range in RWF?"],
    "stop_conditions": {"max_vendors": 4, "min_replies": 2}, "calling_allowed": False,
}
REPLIES = {"kim_1": "1. yes 2. 3,500 3. Kimironko market", "kim_2": "1. yes 2. 3000-4000 3. near the bus park"}


def make_world(language: str = "en") -> SimWorld:
    return ai_world(VENDORS, clients={CLIENT: (None, language)}, seed=9)


@pytest.fixture
def world():
    w = make_world()
    yield w
    w.close()


def req(world: SimWorld):
    return latest_request(world, CLIENT)


def client_texts(world: SimWorld) -> list[str]:
    return texts_to(world, CLIENT)


def shortlist_texts(world: SimWorld) -> list[str]:
    return [t for t in client_texts(world) if "wa.me/" in t]


def start(world: SimWorld, text: str = NEED) -> str:
    world.brain.push(PLAN)
    world.message_from(CLIENT, kind="text", text=text)
    world.advance(30)
    return req(world).id


def reply_all(world: SimWorld) -> None:
    for vid, text in REPLIES.items():
        world.message_from(PHONES[vid], kind="text", text=text)


def event_index(world: SimWorld, rid: str, event: str, **match) -> int:
    for i, e in enumerate(world.ledger.audit_events(request_id=rid)):
        if e["event"] == event and all(e["data"].get(k) == v for k, v in match.items()):
            return i
    raise AssertionError(f"no {event} {match}")


def test_closeout_runs_its_steps_in_order(world):
    rid = start(world)
    reply_all(world)
    request = req(world)
    assert request.state == "handed_off"
    shortlist = world.ledger.shortlist(rid)
    assert shortlist is not None and shortlist["delivered_at"] is not None
    ready = event_index(world, rid, "state.changed", dest="shortlist_ready")
    sent = event_index(world, rid, "message.sent", purpose="shortlist")
    handed = event_index(world, rid, "state.changed", dest="handed_off")
    excluded = event_index(world, rid, "shortlist.outreach_excluded")
    assert shortlist["created_at"] <= world.ledger.audit_events(request_id=rid)[ready]["at"]
    assert ready < sent < handed < excluded
    status = {o.vendor_id: o.status for o in world.ledger.outreach(request_id=rid)}
    assert status == {"kim_1": "replied", "kim_2": "replied", "kim_3": "excluded", "kim_4": "excluded"}
    # Both transitions went through the audited state tool.
    moved = [r for r in world.ledger.tool_calls("marketplace.update_request_state") if r["request_id"] == rid]
    assert [r["idem_key"].rsplit(":", 1)[-1] for r in moved] == ["shortlist_ready", "handed_off"]


def test_the_message_names_price_stock_location_and_link_per_vendor(world):
    start(world)
    reply_all(world)
    texts = shortlist_texts(world)
    assert 1 <= len(texts) <= 2
    body = "\n\n".join(texts)
    blocks = re.split(r"\n\n(?=\d\. )", body)[1:]
    assert len(blocks) == 2
    for block, (name, price, phone) in zip(
        blocks, [("Pharmacie Umoja", "3,500 RWF", "250788700001"), ("Kimironko Care", "3,000–4,000 RWF", "250788700002")],
        strict=True,
    ):
        assert name in block and price in block and "Stock: in stock" in block
        assert "Location: " in block and f"https://wa.me/{phone}" in block
    assert "Kimironko market" in blocks[0] and "near the bus park" in blocks[1]


@pytest.mark.parametrize("language", ["en", "fr", "rw"])
def test_the_shortlist_speaks_the_clients_language(language):
    world = make_world(language)
    try:
        start(world, {"en": NEED, "fr": "Je cherche de l'amoxicilline à Kimironko",
                      "rw": "Ndashaka amoxicillin i Kimironko"}[language])
        reply_all(world)
        (text,) = shortlist_texts(world)
        t = SHORTLIST[language]
        assert t["intro_need"].split("{")[0] in text and t["outro"] in text
        assert f"{t['stock']}: {t['in_stock']}" in text
    finally:
        world.close()


def test_a_retried_closeout_sends_nothing_and_keeps_the_first_shortlist(world):
    rid = start(world)
    reply_all(world)
    sent = len(world.whatsapp.sent)
    first = world.ledger.shortlist(rid)
    changes = len(world.ledger.state_changes(rid))
    other = {"type": "shortlist", "summary_text": "again", "handoff": {"type": "wa_link"},
             "items": [{"vendor_id": "kim_2", "vendor_name": "x", "vendor_phone": PHONES["kim_2"],
                        "response_summary": "in stock"}]}
    for action in (other, other):
        world.concierge.execute(rid, action, world.clock.now())
    assert len(world.whatsapp.sent) == sent
    assert world.ledger.shortlist(rid) == first
    assert len(world.ledger.state_changes(rid)) == changes
    assert len(world.ledger.audit_events("shortlist.already_persisted", rid)) == 2
    assert len(world.ledger.audit_events("shortlist.delivered", rid)) == 1


class Crash(RuntimeError):
    pass


def crash_once(monkeypatch, owner, name: str, when=lambda *a, **k: True) -> list[int]:
    real = getattr(owner, name)
    fired: list[int] = []

    def wrapper(*args, **kwargs):
        if not fired and when(*args, **kwargs):
            fired.append(1)
            raise Crash(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return fired


@pytest.mark.parametrize("where", ["after_persist", "before_send", "after_send", "before_exclude"])
def test_a_closeout_stopped_half_way_is_resumed_and_sends_once(world, monkeypatch, where):
    rid = start(world)
    c = world.concierge
    if where == "after_persist":
        fired = crash_once(monkeypatch, c.closeout, "_move")
    elif where == "before_send":
        fired = crash_once(monkeypatch, c.desk, "tell_client", lambda request, purpose, *a, **k: purpose == "shortlist")
    elif where == "after_send":
        fired = crash_once(monkeypatch, c.ledger, "mark_shortlist_delivered")
    else:
        fired = crash_once(monkeypatch, c.ledger, "exclude_pending_outreach")
    world.message_from(PHONES["kim_1"], kind="text", text=REPLIES["kim_1"])
    with pytest.raises(Crash):
        world.message_from(PHONES["kim_2"], kind="text", text=REPLIES["kim_2"])
    assert fired and world.ledger.shortlist(rid) is not None
    halfway = req(world).state
    assert halfway == {"after_persist": "awaiting_vendor_replies", "before_send": "shortlist_ready",
                       "after_send": "shortlist_ready", "before_exclude": "handed_off"}[where]
    assert len(shortlist_texts(world)) == (0 if where in ("after_persist", "before_send") else 1)
    world.advance(CLOSEOUT_CHECK_S)
    assert req(world).state == "handed_off"
    assert len(shortlist_texts(world)) == 1
    assert world.ledger.shortlist(rid)["delivered_at"] is not None
    assert {o.vendor_id: o.status for o in world.ledger.outreach(request_id=rid)}["kim_3"] == "excluded"
    assert len(world.ledger.audit_events("shortlist.delivered", rid)) == 1
    if where != "before_exclude":
        assert world.ledger.audit_events("shortlist.closeout_resumed", rid)
    world.advance(600)  # and nothing more happens later
    assert len(shortlist_texts(world)) == 1 and req(world).state == "closed"


def test_a_later_proposal_resumes_with_the_persisted_shortlist(world, monkeypatch):
    rid = start(world)
    crash_once(monkeypatch, world.concierge.desk, "tell_client", lambda request, purpose, *a, **k: purpose == "shortlist")
    world.message_from(PHONES["kim_1"], kind="text", text=REPLIES["kim_1"])
    with pytest.raises(Crash):
        world.message_from(PHONES["kim_2"], kind="text", text=REPLIES["kim_2"])
    only_kim_2 = {"type": "shortlist", "summary_text": "x", "handoff": {"type": "wa_link"},
                  "items": [{"vendor_id": "kim_2", "vendor_name": "x", "vendor_phone": PHONES["kim_2"],
                             "response_summary": "in stock"}]}
    world.concierge.execute(rid, only_kim_2, world.clock.now())
    (text,) = shortlist_texts(world)
    assert "wa.me/250788700001" in text and "wa.me/250788700002" in text
    world.advance(CLOSEOUT_CHECK_S)
    assert len(shortlist_texts(world)) == 1 and req(world).state == "handed_off"


def test_the_closeout_check_is_a_no_op_after_a_clean_closeout(world):
    rid = start(world)
    reply_all(world)
    sent = len(world.whatsapp.sent)
    world.advance(CLOSEOUT_CHECK_S)
    assert len(world.whatsapp.sent) == sent
    assert world.ledger.audit_events("shortlist.closeout_resumed", rid) == []


def test_a_deposit_asking_vendor_is_flagged_kept_out_and_never_forwarded(world):
    rid = start(world)
    world.message_from(PHONES["kim_3"], kind="text", text="yes 2500, send deposit via MoMo to 0788555666 first")
    flagged = world.ledger.audit_events("injection.flagged", rid)
    assert len(flagged) == 1 and "payment_request" in flagged[0]["data"]["kinds"]
    reply_all(world)
    # kim_3 answered first, so nobody else earns the first-responder points: the tie on score and
    # confidence goes to the lower price.
    assert [i["vendor_id"] for i in world.ledger.shortlist(rid)["items"]] == ["kim_2", "kim_1"]
    everything = "\n".join(client_texts(world))
    assert "MoMo" not in everything and "555666" not in everything and "Silent Pharmacy" not in everything


def test_client_phone_never_reaches_vendors_and_logs_mask_to_three_digits(world):
    # A brain that writes the client's number into the vendors' need is rejected outright...
    world.brain.push({**PLAN, "normalized_need": f"Amoxicillin for {CLIENT}, call 0780000401"})
    world.message_from(CLIENT, kind="text", text="I need Amoxicillin near Kimironko, my number is 0780000401")
    rejected = world.ledger.audit_events("brain.output_rejected")
    assert rejected and "phone" in rejected[-1]["data"]["reason"]
    assert not [m for m in world.whatsapp.sent if m.to != CLIENT]
    # ...and when the client repeats its number, the clause carrying it never becomes the need.
    world.message_from(CLIENT, kind="text", text="Amoxicillin near Kimironko please, call me on 0780000401")
    world.advance(30)
    reply_all(world)
    vendor_texts = [m.text or "" for m in world.whatsapp.sent if m.to != CLIENT]
    assert vendor_texts and not any("780000401" in re.sub(r"\D", "", t) for t in vendor_texts)
    lines = world.logs.lines()
    assert lines and world.unmasked_phone_lines() == []
    assert any("*********401" in line for line in lines)
    assert not any("780000401" in line for line in lines)
