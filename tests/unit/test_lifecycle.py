"""The request lifecycle: exactly the transitions of docs/domain.md, nothing else; a stateful model check."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from concierge.errors import IllegalTransition
from concierge.lifecycle import (
    ALLOWED,
    MAY_MESSAGE_CLIENT,
    MAY_MESSAGE_VENDOR,
    ON_ENTER,
    OUTREACH_UNDER_WAY,
    PAST_HANDOFF,
    TRANSITIONS,
    RequestState,
    all_pairs,
    destination,
    fire,
    may_message_client,
    mermaid,
    trigger_between,
)

S = RequestState

# Written out by hand from docs/domain.md, independently of the table under test.
EXPECTED = {
    (S.COLLECTING_REQUIREMENTS, S.OCR_PROCESSING),
    (S.COLLECTING_REQUIREMENTS, S.VENDOR_OUTREACH),
    (S.COLLECTING_REQUIREMENTS, S.SHORTLIST_READY),
    (S.OCR_PROCESSING, S.COLLECTING_REQUIREMENTS),
    (S.OCR_PROCESSING, S.VENDOR_OUTREACH),
    (S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES),
    (S.AWAITING_VENDOR_REPLIES, S.VENDOR_OUTREACH),
    (S.AWAITING_VENDOR_REPLIES, S.SHORTLIST_READY),
    (S.AWAITING_VENDOR_REPLIES, S.COLLECTING_REQUIREMENTS),
    (S.SHORTLIST_READY, S.HANDED_OFF),
    (S.HANDED_OFF, S.CLOSED),
}
for _s in (S.COLLECTING_REQUIREMENTS, S.OCR_PROCESSING, S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES,
           S.SHORTLIST_READY):
    EXPECTED |= {(_s, S.ERROR), (_s, S.CLOSED)}


def test_table_is_exactly_the_domain_rules():
    assert ALLOWED == EXPECTED
    assert len(S) == 8


def test_handed_off_only_through_shortlist_ready():
    assert [src for src, dst in ALLOWED if dst is S.HANDED_OFF] == [S.SHORTLIST_READY]


def test_final_states_have_no_way_out():
    assert not [p for p in ALLOWED if p[0] in (S.CLOSED, S.ERROR)]


@pytest.mark.parametrize("source,dest", sorted(all_pairs(), key=str))
def test_every_pair_is_allowed_or_refused(source, dest):
    trigger = trigger_between(source, dest)
    if (source, dest) in EXPECTED:
        assert trigger is not None and fire(source, trigger) is dest
    else:
        assert trigger is None
        # No trigger of the table leads from source to dest: each that reaches dest is refused here.
        for name in {t for t, _, d in TRANSITIONS if d is dest}:
            with pytest.raises(IllegalTransition):
                fire(source, name)


def test_a_trigger_fires_only_from_its_sources_and_names_one_destination():
    assert fire(S.VENDOR_OUTREACH, "batch_sent") is S.AWAITING_VENDOR_REPLIES
    assert destination("batch_sent") is S.AWAITING_VENDOR_REPLIES
    with pytest.raises(IllegalTransition) as refused:
        fire(S.COLLECTING_REQUIREMENTS, "batch_sent", "r1")
    assert (refused.value.source, refused.value.dest) == ("collecting_requirements", "awaiting_vendor_replies")
    # close and fail leave every non-final state except handed_off, which leaves by its follow-up only.
    with pytest.raises(IllegalTransition):
        fire(S.HANDED_OFF, "close")
    assert fire(S.HANDED_OFF, "follow_up_done") is S.CLOSED
    for trig in {t for t, _, _ in TRANSITIONS}:
        assert {d for t, _, d in TRANSITIONS if t == trig} == {destination(trig)}
    with pytest.raises(KeyError):
        destination("teleport")


def test_on_enter_effects_are_declared_with_the_table():
    # Re-entering the client's wait arms the idle close; nothing else sets off an effect.
    assert ON_ENTER == {S.COLLECTING_REQUIREMENTS: ("arm_idle_close",)}


def test_named_state_groups():
    assert OUTREACH_UNDER_WAY == {S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES}
    assert MAY_MESSAGE_VENDOR == set(S) - {S.HANDED_OFF, S.CLOSED, S.ERROR}
    assert MAY_MESSAGE_CLIENT == set(S) - {S.CLOSED, S.ERROR}
    assert PAST_HANDOFF == {S.HANDED_OFF, S.CLOSED}
    # After STOP, a timeout or an escalation only the message that ends the request politely goes out.
    assert may_message_client(S.HANDED_OFF, "progress")
    assert not may_message_client(S.CLOSED, "progress")
    assert not may_message_client("error", "question")
    assert may_message_client(S.CLOSED, "cancel_confirmation")
    assert may_message_client(S.ERROR, "timeout_apology")
    # Outreach is only ever under way in states the table lets outreach leave by a batch or a plan.
    assert {s for t, s, _ in TRANSITIONS if t in ("batch_sent", "next_batch")} == OUTREACH_UNDER_WAY


@pytest.mark.parametrize("schema", ["tools.v1.json", "brain_output.v1.json"])
def test_state_enums_of_the_contracts_are_request_state(schema):
    import json
    from pathlib import Path

    import concierge.contracts

    path = Path(concierge.contracts.__file__).parent / "schemas" / schema
    enum = json.loads(path.read_text("utf-8"))["$defs"]["state"]["enum"]
    assert enum == [s.value for s in S]


def test_mermaid_is_generated_from_the_table():
    diagram = mermaid()
    assert diagram.count("-->") == len(TRANSITIONS) + 1
    assert "shortlist_ready --> handed_off: deliver_shortlist" in diagram


_LIVE = {S.COLLECTING_REQUIREMENTS, S.OCR_PROCESSING, S.VENDOR_OUTREACH, S.AWAITING_VENDOR_REPLIES,
         S.SHORTLIST_READY}
# Each trigger of docs/domain.md: the states it fires from and where it leads, again by hand.
BY_TRIGGER = {
    "start_ocr": ({S.COLLECTING_REQUIREMENTS}, S.OCR_PROCESSING),
    "requirements_complete": ({S.COLLECTING_REQUIREMENTS}, S.VENDOR_OUTREACH),
    "shortlist_existing_replies": ({S.COLLECTING_REQUIREMENTS}, S.SHORTLIST_READY),
    "ocr_needs_client": ({S.OCR_PROCESSING}, S.COLLECTING_REQUIREMENTS),
    "ocr_complete": ({S.OCR_PROCESSING}, S.VENDOR_OUTREACH),
    "batch_sent": ({S.VENDOR_OUTREACH}, S.AWAITING_VENDOR_REPLIES),
    "next_batch": ({S.AWAITING_VENDOR_REPLIES}, S.VENDOR_OUTREACH),
    "build_shortlist": ({S.AWAITING_VENDOR_REPLIES}, S.SHORTLIST_READY),
    "widen_search": ({S.AWAITING_VENDOR_REPLIES}, S.COLLECTING_REQUIREMENTS),
    "deliver_shortlist": ({S.SHORTLIST_READY}, S.HANDED_OFF),
    "follow_up_done": ({S.HANDED_OFF}, S.CLOSED),
    "fail": (_LIVE, S.ERROR),
    "close": (_LIVE, S.CLOSED),
}


def test_the_triggers_are_exactly_the_domain_rules():
    assert {(trig, src, dst) for trig, src, dst in TRANSITIONS} == {
        (trig, src, dst) for trig, (sources, dst) in BY_TRIGGER.items() for src in sources}


class LifecycleModel(RuleBasedStateMachine):
    """Random walks of named triggers over requests: the rules agree with a one-line reference model
    written out by hand below)."""

    def __init__(self):
        super().__init__()
        self.state: dict[str, S] = {}
        self.model: dict[str, S] = {}

    @rule(i=st.integers(0, 4))
    def open_request(self, i):
        rid = f"r{i}"
        if rid not in self.model:
            self.state[rid] = self.model[rid] = S.COLLECTING_REQUIREMENTS

    @rule(i=st.integers(0, 4), trigger=st.sampled_from(sorted(BY_TRIGGER)))
    def fire_trigger(self, i, trigger):
        rid = f"r{i}"
        if rid not in self.model:
            return
        before = self.model[rid]
        sources, dest = BY_TRIGGER[trigger]
        if before in sources:
            self.state[rid] = fire(self.state[rid], trigger, rid)
            self.model[rid] = dest
        else:
            with pytest.raises(IllegalTransition):
                fire(self.state[rid], trigger, rid)

    @invariant()
    def agrees_with_model(self):
        assert self.state == self.model


TestLifecycleModel = LifecycleModel.TestCase


def test_the_documented_diagram_is_the_table():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text("utf-8")
    assert f"```mermaid\n{mermaid()}\n```" in doc
