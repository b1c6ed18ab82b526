"""Apply a scenario's `initial_state:`: a request already under way, written as the concierge writes it.

Everything goes through the concierge's and the ledger's own methods: the request is opened and
moved along allowed transitions (so its state timeline is a real one), the outreach plan is the
coded workflow's, outreach rows are inserted under their idempotency keys, replies are parsed by the
concierge's reply parser and recorded through its tool, a shortlist is ranked and delivered by its
closeout, consent is asked and answered through the calling module, and the request's clock (its
4-, 6- and 10-minute timers) is armed on the durable scheduler. The seeded outreach counts as sent
before the scenario starts: the WhatsApp fake did not carry those messages.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from concierge.calling import answer_consent, request_consent
from concierge.coded import CodedWorkflow
from concierge.lifecycle import RequestState
from concierge.outreach import outreach_key
from concierge.ports import Timer
from concierge.replies import parse_vendor_reply

from .model import Scenario

S = RequestState


def apply_seed(world: Any, scenario: Scenario, clients: dict[str, str], vendors: dict[str, str]) -> list[str]:
    """Seed the world; returns what could not be seeded as the scenario says (empty when all was)."""
    seed = scenario.initial_state or {}
    spec = seeded_client(scenario)
    problems = seed_concierge(world.concierge, seed, clients[spec.id], spec.language, vendors, world.clock.now())
    world._pump()  # the delivery receipts of anything the seed sent (a delivered shortlist)
    return problems


def seeded_client(scenario: Scenario) -> Any:
    """The client whose request `initial_state:` seeds: its `client:`, else the first client."""
    client_id = (scenario.initial_state or {}).get("client") or scenario.clients[0].id
    return next(s for s in scenario.clients if s.id == client_id)


def seed_concierge(c: Any, seed: dict[str, Any], phone: str, language: str | None,
                   vendors: dict[str, str], now: float) -> list[str]:
    """Write `initial_state:` (``seed``) for the client on ``phone`` into a concierge's ledger, at
    ``now``: the in-process world's, or the service's through the harness probe (``POST /seed``).
    ``vendors``: vendor id to phone. Returns what could not be seeded (empty when all was)."""
    ledger = c.ledger
    request = seed.get("request")
    problems: list[str] = []
    with ledger.unit_of_work():
        rid = None
        if request is not None:
            rid = c._open_request(phone, request.get("language") or language or "en", now).id
            c.update(rid, now, requirements=dict(request.get("requirements") or {}))
        for turn in seed.get("conversation") or []:
            direction = "in" if turn["from"] == "client" else "out"
            ledger.add_transcript(rid, direction, "client", phone, str(turn["text"]), now)
        if request is not None:
            state = request.get("state", S.COLLECTING_REQUIREMENTS.value)
            if state == S.COLLECTING_REQUIREMENTS.value:
                c.desk.arm_idle_close(rid, now)
            else:
                _seed_outreach(c, rid, request, vendors, now)
            consent = seed.get("consent")
            if consent:
                request_consent(c, {"request_id": rid, "scope": consent.get("scope", "either")}, now)
                if consent["status"] in ("granted", "denied"):
                    answer_consent(c, rid, consent["status"] == "granted", now)
            got = c.request(rid).state
            if got != state:
                problems.append(f"the concierge could not reach {state} from this seed (it is in {got}); "
                                "e.g. a shortlist of replies it refuses to rank, such as a flagged reply")
    return problems


def _seed_outreach(c: Any, rid: str, request: dict[str, Any], vendors: dict[str, str], now: float) -> None:
    requirements = dict(request.get("requirements") or {})
    action = CodedWorkflow()._plan(requirements, dataclasses.asdict(c.caps))
    stop, filters = action["stop_conditions"], action["vendor_filters"]
    plan = {  # the shape OutreachFlow.plan stores for the coded workflow's plan
        "category": action["category"], "need": action["normalized_need"],
        "batch_size": min(int(action["batch_size"]), c.caps.batch_size_max),
        "questions": list(action["vendor_questions"]),
        "max_vendors": min(int(stop["max_vendors"]), c.caps.max_vendors_per_request),
        "min_replies": int(stop["min_replies"]),
        "radius_km": min(float(filters["location_radius_km"]), c.caps.radius_max_km),
        "min_rating": 0.0, "tags": [], "calling_allowed": False,
    }
    c.update(rid, now, plan=plan, first_outreach_at=now)
    c.move(rid, S.VENDOR_OUTREACH, now, "requirements_complete")
    for name, delay in (("still_waiting", c.caps.still_waiting_s), ("target", c.caps.target_s),
                        ("hard_limit", c.caps.hard_limit_s)):
        c.ports.scheduler.schedule(Timer(name, rid, now + delay))
    batches = 1
    for row in request.get("outreach") or []:
        vendor_id, batch = row["vendor"], int(row.get("batch", 1))
        batches = max(batches, batch)
        c.ledger.insert_outreach(rid, vendor_id, outreach_key(rid, vendor_id), batch, now)
        c.ledger.set_outreach_status(rid, vendor_id, "sent", now)
        if row.get("status", "sent") not in ("sent", "replied"):
            c.ledger.set_outreach_status(rid, vendor_id, row["status"], now)
    c.update(rid, now, batches=batches, last_batch_at=now)
    c.move(rid, S.AWAITING_VENDOR_REPLIES, now, "batch_sent")
    c.ports.scheduler.schedule(Timer("batch_silence", rid, now + c.caps.batch_silence_s, {"batch": batches}))
    for i, reply in enumerate(request.get("replies") or [], 1):
        vendor_id, text = reply["vendor"], str(reply["text"])
        parsed = parse_vendor_reply(text, vendor_phone=vendors[vendor_id]).to_dict()
        parsed["suspicious"] = bool(parsed.get("suspicious"))
        wamid = f"seed:{rid}:reply:{i}"
        c.ledger.add_transcript(rid, "in", "vendor", vendors[vendor_id], text, now, vendor_id=vendor_id, wamid=wamid)
        c.tools.call("marketplace.record_vendor_reply",
                     {"request_id": rid, "idempotency_key": f"reply:{wamid}", "actor": "vendor",
                      "vendor_id": vendor_id, "wamid": wamid, "text": text, "parsed": parsed}, now)
        c.update(rid, now, last_reply_at=now)
    if request.get("shortlist"):
        shortlist = request["shortlist"]
        items = [shortlist] if isinstance(shortlist, str) else shortlist
        c.closeout.shortlist(rid, {"items": [{"vendor_id": v} for v in items]}, now)
