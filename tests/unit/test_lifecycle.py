"""The request lifecycle: exactly the transitions of docs/domain.md, nothing else; a stateful model check."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from concierge.errors import IllegalTransition
from concierge.lifecycle import ALLOWED, TRANSITIONS, Lifecycle, RequestState, all_pairs, mermaid

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
    life = Lifecycle()
    life.track("r1", source)
    if (source, dest) in EXPECTED:
        assert life.move("r1", dest) is source
        assert life.state("r1") is dest
    else:
        with pytest.raises(IllegalTransition):
            life.move("r1", dest)
        assert life.state("r1") is source


def test_one_machine_serves_many_requests_and_forgets_them():
    life = Lifecycle()
    for i in range(50):
        life.track(f"r{i}", S.COLLECTING_REQUIREMENTS)
    life.move("r7", S.VENDOR_OUTREACH)
    assert life.state("r7") is S.VENDOR_OUTREACH
    assert life.state("r8") is S.COLLECTING_REQUIREMENTS
    life.forget("r7")
    with pytest.raises(KeyError):
        life.state("r7")
    # One model for every request: a model each (~11 KB of bound triggers) grew with the open requests.
    assert len(life._machine.models) == 1


def test_mermaid_is_generated_from_the_table():
    diagram = mermaid()
    assert diagram.count("-->") == len(TRANSITIONS) + 1
    assert "shortlist_ready --> handed_off: deliver_shortlist" in diagram


class LifecycleModel(RuleBasedStateMachine):
    """Random walks over requests: the machine agrees with a one-line reference model."""

    def __init__(self):
        super().__init__()
        self.life = Lifecycle()
        self.model: dict[str, S] = {}

    @rule(i=st.integers(0, 4))
    def open_request(self, i):
        rid = f"r{i}"
        if rid not in self.model:
            self.life.track(rid, S.COLLECTING_REQUIREMENTS)
            self.model[rid] = S.COLLECTING_REQUIREMENTS

    @rule(i=st.integers(0, 4), dest=st.sampled_from(list(S)))
    def try_move(self, i, dest):
        rid = f"r{i}"
        if rid not in self.model:
            return
        before = self.model[rid]
        if (before, dest) in EXPECTED:
            self.life.move(rid, dest)
            self.model[rid] = dest
        else:
            with pytest.raises(IllegalTransition):
                self.life.move(rid, dest)

    @invariant()
    def agrees_with_model(self):
        for rid, state in self.model.items():
            assert self.life.state(rid) is state


TestLifecycleModel = LifecycleModel.TestCase


def test_the_documented_diagram_is_the_table():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text("utf-8")
    assert f"```mermaid\n{mermaid()}\n```" in doc
