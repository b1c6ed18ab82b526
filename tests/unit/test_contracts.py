"""Brain output contract v1 and the ten tool schemas."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concierge.contracts import (
    BRAIN_ACTION_TYPES,
    load_schema,
    tool_names,
    validate_brain_output,
    validate_tool_args,
    validate_tool_result,
)
from concierge.errors import ContractViolation

VALID = {
    "ask_client": {"type": "ask_client", "question_text": "Where are you?", "why": "missing place"},
    "vendor_outreach_plan": {
        "type": "vendor_outreach_plan", "category": "pharmacy", "normalized_need": "Amoxicillin 500mg",
        "batch_size": 3, "vendor_questions": ["In stock?"], "stop_conditions": {"max_vendors": 10},
        "calling_allowed": False,
    },
    "shortlist": {
        "type": "shortlist", "summary_text": "1 found", "handoff": {"type": "wa_link"},
        "items": [{"vendor_id": "v1", "vendor_name": "V", "vendor_phone": "+250788000101",
                   "response_summary": "yes"}],
    },
    "escalate": {"type": "escalate", "reason": "unclear", "safe_client_message": "We'll follow up."},
}


@pytest.mark.parametrize("kind", BRAIN_ACTION_TYPES)
def test_each_valid_action_is_accepted(kind):
    assert validate_brain_output(json.dumps(VALID[kind]))["type"] == kind


BROKEN = [
    ("ask_client", {"question_text": ""}, "question_text"),
    ("ask_client", {"extra": 1}, "extra"),
    ("vendor_outreach_plan", {"batch_size": 6}, "batch_size"),
    ("vendor_outreach_plan", {"stop_conditions": {"max_vendors": 16}}, "max_vendors"),
    ("vendor_outreach_plan", {"vendor_questions": ["a", "b", "c", "d", "e"]}, "vendor_questions"),
    ("vendor_outreach_plan", {"stop_conditions": {"max_vendors": 3, "timeout_hours": 0.1}}, "timeout_hours"),
    ("shortlist", {"handoff": {"type": "email"}}, "handoff"),
    ("shortlist", {"items": []}, "items"),
    ("escalate", {"reason": ""}, "reason"),
    ("escalate", {"to": "police"}, "to"),
]


@pytest.mark.parametrize("kind,change,where", BROKEN)
def test_broken_actions_are_rejected_with_the_reason(kind, change, where):
    action = {**VALID[kind], **change}
    with pytest.raises(ContractViolation) as err:
        validate_brain_output(action)
    assert where in str(err.value)


def test_soft_limits_truncate_instead_of_rejecting():
    long = validate_brain_output({**VALID["ask_client"], "question_text": "q" * 900})
    assert len(long["question_text"]) == 500
    items = VALID["shortlist"]["items"] * 7
    assert len(validate_brain_output({**VALID["shortlist"], "items": items})["items"]) == 5


@pytest.mark.parametrize("raw", ["not json", "[1,2]", "42", '{"type": "dance"}', b"\xff\xfe", "null"])
def test_non_objects_and_unknown_types_are_rejected(raw):
    with pytest.raises(ContractViolation):
        validate_brain_output(raw)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20))
def test_validation_never_raises_anything_but_contract_violation(value):
    try:
        validate_brain_output(value)
    except ContractViolation:
        pass


def test_ten_tools_each_with_args_and_result_schemas():
    assert len(tool_names()) == 10
    assert all(name.startswith("marketplace.") for name in tool_names())
    schema = load_schema("tools.v1.json")
    for name in tool_names():
        for part in ("args", "result"):
            required = schema["tools"][name][part]["required"]
            assert ("request_id" in required) == (part == "args")


def test_tool_args_and_results_are_checked():
    good = {"request_id": "req-1", "idempotency_key": "k", "actor": "system", "to_state": "closed", "reason": "x"}
    validate_tool_args("marketplace.update_request_state", good)
    with pytest.raises(ContractViolation):
        validate_tool_args("marketplace.update_request_state", {**good, "actor": "robot"})
    with pytest.raises(ContractViolation):
        validate_tool_args("marketplace.update_request_state", {**good, "to_state": "limbo"})
    validate_tool_result("marketplace.start_call", {"success": False, "reason": "disabled", "gate": "disabled"})
    with pytest.raises(ContractViolation):
        validate_tool_result("marketplace.send_client_message", {"success": True})


# --- the compiled fast path and jsonschema agree on every payload ---------------------------------

def _json_values(max_leaves: int = 15):
    scalars = st.none() | st.booleans() | st.integers(-20, 20) | st.floats(allow_nan=False, width=32) \
        | st.sampled_from(["", "x", "ask_client", "shortlist", "wa_link", "+250788000101", "pharmacy",
                           "collecting_requirements", "system", "in_stock"])
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=max_leaves)


def _mutants(base: dict):
    keys = sorted(base)
    return st.one_of(
        st.just(base),
        st.builds(lambda k, v: {**base, k: v}, st.sampled_from(keys), _json_values(6)),
        st.builds(lambda k: {x: y for x, y in base.items() if x != k}, st.sampled_from(keys)),
        st.builds(lambda k, v: {**base, k: v}, st.text(max_size=6), _json_values(3)),
    )


@given(st.sampled_from(sorted(VALID)).flatmap(lambda kind: st.tuples(st.just(kind), _mutants(VALID[kind]))))
def test_compiled_and_reference_validators_agree_on_brain_actions(case):
    from concierge.contracts import _validator

    kind, payload = case
    check = _validator("brain_output.v1.json", kind)
    assert check.fast_ok(payload) == (not list(check.slow.iter_errors(payload)))


TOOL_EXAMPLES = {
    ("marketplace.search_vendors", "args"): {"request_id": "r", "idempotency_key": "k", "actor": "system",
                                            "category": "pharmacy", "radius_km": 5, "limit": 3, "lat": -1.9, "lng": 30.1},
    ("marketplace.send_client_message", "args"): {"request_id": "r", "idempotency_key": "k", "actor": "system",
                                                  "to": "+250780000001", "text": "hi", "purpose": "question"},
    ("marketplace.send_client_message", "result"): {"success": True, "status": "sent", "wamid": "wamid.x"},
    ("marketplace.record_vendor_reply", "args"): {"request_id": "r", "idempotency_key": "k", "actor": "vendor",
                                                  "vendor_id": "v", "wamid": "w", "text": "yes",
                                                  "parsed": {"availability": "in_stock", "confidence": 0.9,
                                                             "price_min": 1, "price_max": 2}},
    ("marketplace.start_call", "result"): {"success": False, "reason": "disabled", "gate": "disabled",
                                           "call_id": None},
}


@given(st.sampled_from(sorted(TOOL_EXAMPLES)).flatmap(
    lambda key: st.tuples(st.just(key), _mutants(TOOL_EXAMPLES[key]))))
def test_compiled_and_reference_validators_agree_on_tool_payloads(case):
    from concierge.contracts import _tool_validator

    (tool, part), payload = case
    check = _tool_validator(tool, part)
    assert check.fast_ok(payload) == (not list(check.slow.iter_errors(payload)))


def _checked_twice_cases():
    long_question = st.builds(lambda n: {**VALID["ask_client"], "question_text": "q" * n}, st.integers(1, 900))
    many_items = st.builds(lambda n: {**VALID["shortlist"], "items": VALID["shortlist"]["items"] * n},
                           st.integers(1, 9))
    mutants = st.sampled_from(sorted(VALID)).flatmap(lambda kind: _mutants(VALID[kind]))
    return long_question | many_items | mutants


@given(_checked_twice_cases())
def test_a_checked_action_checked_again_is_the_same_action(payload):
    """The brain loop executes the action ``validate_brain_output`` returned without checking it a
    second time: that is sound only if a second check would give the same action."""
    try:
        once = validate_brain_output(payload)
    except ContractViolation:
        return
    assert validate_brain_output(once) == once
