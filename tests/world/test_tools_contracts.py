"""The ten ``marketplace.*`` tools at run time: validated both ways, audited, replayed by key.

These drive a real SimWorld (signed webhooks in, Graph API out) and look at what the tools did —
the fake WhatsApp's deliveries, the ledger's ``tool_calls`` rows and audit events.
"""

from __future__ import annotations

import json

import pytest
from support import ai_world, pharmacy

from concierge import contracts
from concierge.contracts import tool_names, validate_tool_args, validate_tool_result
from concierge.errors import ContractViolation
from simulators.world import SimWorld

CLIENT = "+250780000201"
NEED = "I need Amoxicillin 500mg near Kimironko"


VENDORS = [pharmacy("kim_1", "+250788500001"), pharmacy("kim_2", "+250788500002"),
           pharmacy("kim_3", "+250788500003")]


@pytest.fixture
def world():
    w = ai_world(VENDORS, seed=5)
    yield w
    w.close()


def request_id(world: SimWorld) -> str:
    row = world.ledger.latest_request(CLIENT)
    assert row is not None
    return row.id


def full_flow(world: SimWorld) -> None:
    world.message_from(CLIENT, kind="text", text=NEED)
    world.advance(30)
    for i, text in enumerate(("1. yes 2. 3,500 3. Kimironko market", "yes 3000", "yes available 4000")):
        world.message_from(VENDORS[i].phone, kind="text", text=text)


def minimal_args(tool: str, rid: str | None) -> dict:
    base = {"request_id": rid, "idempotency_key": f"test:{tool}", "actor": "system"}
    extra = {
        "marketplace.search_vendors": {"category": "pharmacy", "radius_km": 5, "limit": 3},
        "marketplace.get_request_snapshot": {},
        "marketplace.send_client_message": {"to": CLIENT, "text": "hello", "purpose": "test"},
        "marketplace.send_vendor_message": {"vendor_id": "kim_1", "text": "hello", "purpose": "test"},
        "marketplace.record_vendor_reply": {"vendor_id": "kim_1", "wamid": "wamid.TEST", "text": "yes",
                                            "parsed": {"availability": "in_stock", "confidence": 0.9}},
        "marketplace.create_ocr_job": {"media_id": "m1"},
        "marketplace.get_ocr_result": {"job_id": "j1"},
        "marketplace.request_call_consent": {"scope": "call_vendor"},
        "marketplace.start_call": {"target": "vendor"},
        "marketplace.update_request_state": {"to_state": "closed", "reason": "test"},
    }[tool]
    return {**base, **extra}


def test_every_tool_has_a_handler_and_both_schemas(world):
    assert len(tool_names()) == 10
    assert sorted(world.concierge.tools._handlers) == sorted(tool_names())
    for tool in tool_names():
        validate_tool_args(tool, minimal_args(tool, "req-1"))  # the minimal arguments are valid


@pytest.mark.parametrize("tool", tool_names())
@pytest.mark.parametrize("breakage", ["unknown_key", "bad_actor", "no_idempotency_key"])
def test_invalid_arguments_are_refused_before_the_handler_runs(world, tool, breakage):
    world.message_from(CLIENT, kind="text", text=NEED)
    rid = request_id(world)
    args = minimal_args(tool, rid)
    if breakage == "unknown_key":
        args["please_also"] = "message all vendors"
    elif breakage == "bad_actor":
        args["actor"] = "brain"
    else:
        del args["idempotency_key"]
    ran = []
    toolbox = world.concierge.tools
    toolbox._handlers[tool] = lambda a, now: ran.append(a) or {"success": True}
    sent_before, rows_before = len(world.whatsapp.sent), len(world.ledger.tool_calls(tool))
    with pytest.raises(ContractViolation):
        toolbox.call(tool, args, world.clock.now())
    assert ran == []
    assert len(world.whatsapp.sent) == sent_before
    assert len(world.ledger.tool_calls(tool)) == rows_before
    refused = world.ledger.audit_events("tool.args_rejected")
    assert refused and refused[-1]["data"]["tool"] == tool


def test_unknown_tool_is_refused(world):
    with pytest.raises(ContractViolation, match="unknown tool"):
        world.concierge.tools.call("marketplace.wire_money", {"request_id": None, "idempotency_key": "k",
                                                              "actor": "system"}, 0.0)


def test_a_result_outside_the_contract_is_refused_audited_and_never_replayed(world):
    world.message_from(CLIENT, kind="text", text=NEED)
    rid = request_id(world)
    toolbox = world.concierge.tools
    real = toolbox._handlers["marketplace.get_request_snapshot"]
    toolbox._handlers["marketplace.get_request_snapshot"] = lambda a, now: {"success": "yes", "secret": 1}
    args = minimal_args("marketplace.get_request_snapshot", rid)
    with pytest.raises(ContractViolation, match="result"):
        toolbox.call("marketplace.get_request_snapshot", args, world.clock.now())
    event = world.ledger.audit_events("tool.result_rejected")[-1]
    assert event["data"]["tool"] == "marketplace.get_request_snapshot"
    assert world.ledger.tool_result(f"marketplace.get_request_snapshot:{args['idempotency_key']}") is None
    # The broken result was not kept under the key: a retry runs the (fixed) handler again.
    toolbox._handlers["marketplace.get_request_snapshot"] = real
    result = toolbox.call("marketplace.get_request_snapshot", args, world.clock.now())
    assert result["success"] is True and result["request"]["request_id"] == rid


def test_a_retry_with_the_same_key_returns_the_first_result_and_sends_nothing(world):
    world.message_from(CLIENT, kind="text", text=NEED)
    rid = request_id(world)
    toolbox = world.concierge.tools
    args = minimal_args("marketplace.send_client_message", rid)
    first = toolbox.call("marketplace.send_client_message", args, world.clock.now())
    count = len(world.whatsapp.sent)
    again = toolbox.call("marketplace.send_client_message", {**args, "text": "something else"}, world.clock.now())
    assert again == first and first["status"] == "sent"
    assert len(world.whatsapp.sent) == count
    assert world.ledger.audit_events("tool.replayed")[-1]["data"]["tool"] == "marketplace.send_client_message"


def test_every_tool_call_of_a_run_was_validated_both_ways(world, monkeypatch):
    seen_args: list[str] = []
    seen_results: list[str] = []
    check_args, check_result = contracts.ToolContract.check_args, contracts.ToolContract.check_result

    def spy_args(self, args):
        seen_args.append(self.tool)
        check_args(self, args)

    def spy_result(self, result):
        seen_results.append(self.tool)
        check_result(self, result)

    monkeypatch.setattr(contracts.ToolContract, "check_args", spy_args)
    monkeypatch.setattr(contracts.ToolContract, "check_result", spy_result)
    full_flow(world)
    rows = world.ledger.tool_calls()
    assert request_id(world) and world.ledger.latest_request(CLIENT).state == "handed_off"
    called = {r["tool"] for r in rows}
    assert {"marketplace.search_vendors", "marketplace.get_request_snapshot", "marketplace.send_client_message",
            "marketplace.send_vendor_message", "marketplace.record_vendor_reply",
            "marketplace.update_request_state"} <= called
    # Each executed call had its arguments and its result checked (replays skip the handler only).
    assert sorted(seen_results) == sorted(r["tool"] for r in rows)
    assert len(seen_args) >= len(rows)
    audited = [e["data"]["tool"] for e in world.ledger.audit_events("tool.called")]
    assert sorted(audited) == sorted(r["tool"] for r in rows)
    for row in rows:  # and what is on record still satisfies the schemas
        validate_tool_args(row["tool"], json.loads(row["args"]))
        validate_tool_result(row["tool"], json.loads(row["result"]))


def test_the_context_pack_is_built_from_the_snapshot_tool(world):
    world.message_from(CLIENT, kind="text", text=NEED)
    rid = request_id(world)
    snapshots = world.ledger.tool_calls("marketplace.get_request_snapshot")
    assert [json.loads(s["args"])["idempotency_key"] for s in snapshots] == [f"request:{rid}:snapshot:1"]
    pack = world.brain.packs[0]
    result = json.loads(snapshots[0]["result"])["request"]
    assert pack["state"] == result["state"] == "collecting_requirements"
    assert pack["requirements"] == result["requirements"] and pack["requirements"]["place"] == "Kimironko"
    assert "780000201" not in json.dumps(pack)  # the client's number is masked in the pack
    world.advance(30)
    world.message_from(VENDORS[0].phone, kind="text", text="yes 3500")
    world.message_from(VENDORS[1].phone, kind="text", text="yes 3000")
    world.message_from(VENDORS[2].phone, kind="text", text="yes 4000")
    keys = [json.loads(s["args"])["idempotency_key"]
            for s in world.ledger.tool_calls("marketplace.get_request_snapshot")]
    assert keys == [f"request:{rid}:snapshot:1", f"request:{rid}:snapshot:2"]  # fresh, never replayed
    assert world.brain.packs[-1]["state"] == "awaiting_vendor_replies"


def test_update_request_state_refuses_a_forbidden_transition(world):
    world.message_from(CLIENT, kind="text", text="hi")
    rid = request_id(world)
    result = world.concierge.tools.call(
        "marketplace.update_request_state",
        {"request_id": rid, "idempotency_key": "jump", "actor": "admin", "to_state": "handed_off",
         "reason": "skip the shortlist"},
        world.clock.now(),
    )
    assert result["success"] is False and result["from_state"] == "collecting_requirements"
    assert world.ledger.latest_request(CLIENT).state == "collecting_requirements"
    refused = world.ledger.audit_events("state.transition_refused")
    assert refused[-1]["data"]["dest"] == "handed_off"
