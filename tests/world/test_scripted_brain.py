"""The scripted brain is replay-safe: what a handling took from the script goes back to it when the
process dies before the ledger commits that handling, and stays taken once the ledger has."""

from __future__ import annotations

import pytest

from concierge.errors import BrainUnavailable
from concierge.ledger import Ledger
from simulators.brains import ScriptedBrain
from simulators.world import ProcessDied

PLAN_A, PLAN_B = {"type": "plan", "n": "A"}, {"type": "plan", "n": "B"}


class EchoBrain:
    def propose(self, pack):
        return {"type": "inner", "pack": pack["n"]}


@pytest.fixture
def ledger():
    ledger = Ledger()
    yield ledger
    ledger.close()


def handle(ledger: Ledger, brain: ScriptedBrain, *, checkpoint: bool = False, die: bool = False):
    """One webhook's handling: a unit of work that asks the brain, writes, maybe dies."""
    answers = []
    try:
        with ledger.unit_of_work():
            ledger.audit("test.handling", 0.0, None)
            try:
                answers.append(brain.propose({"n": 1}))
            except BrainUnavailable as exc:
                answers.append(str(exc))
            if checkpoint:
                ledger.checkpoint()
            ledger.audit("test.after", 0.0, None)
            if die:
                raise ProcessDied()
    except ProcessDied:
        ledger.abandon()  # what SimWorld.restart does, in this order
        brain.recover()
    return answers[0]


def test_a_take_rolled_back_by_the_crash_is_answered_again(ledger):
    brain = ScriptedBrain(EchoBrain(), journal=ledger.db)
    brain.push(PLAN_A)
    brain.push(PLAN_B)
    assert handle(ledger, brain, die=True) == PLAN_A
    assert handle(ledger, brain) == PLAN_A  # Meta's retry: the same question, the same answer
    assert handle(ledger, brain) == PLAN_B
    assert handle(ledger, brain) == {"type": "inner", "pack": 1}
    assert brain.calls == 4  # the service was asked four times, the dead handling's call included


def test_a_take_the_ledger_committed_stays_taken(ledger):
    brain = ScriptedBrain(EchoBrain(), journal=ledger.db)
    brain.push(PLAN_A)
    brain.push(PLAN_B)
    assert handle(ledger, brain, checkpoint=True, die=True) == PLAN_A  # committed before a send
    assert handle(ledger, brain) == PLAN_B
    brain.push(PLAN_A)
    assert handle(ledger, brain) == PLAN_A
    handle(ledger, brain, die=True)  # nothing scripted left: nothing to give back
    assert brain.pending("output") == []


def test_faults_are_replayed_like_outputs(ledger):
    brain = ScriptedBrain(EchoBrain(), journal=ledger.db)
    brain.fail_next("timeout")
    brain.push(PLAN_A)
    assert handle(ledger, brain, die=True) == "brain timeout"
    assert brain.pending("fault") == ["timeout"] and brain.pending("output") == [PLAN_A]
    assert handle(ledger, brain) == "brain timeout"
    assert handle(ledger, brain, die=True) == PLAN_A
    assert handle(ledger, brain) == PLAN_A
    assert brain.pending("fault") == [] and brain.pending("output") == []


def test_a_restart_without_a_crash_gives_nothing_back(ledger):
    # `fault: {target: process, kind: restart}` between steps: no transaction is open.
    brain = ScriptedBrain(EchoBrain(), journal=ledger.db)
    brain.push(PLAN_A)
    brain.push(PLAN_B)
    assert handle(ledger, brain) == PLAN_A
    ledger.abandon()
    brain.recover()
    assert handle(ledger, brain) == PLAN_B


def test_the_journal_is_no_table_of_the_concierge(ledger):
    ScriptedBrain(EchoBrain(), journal=ledger.db)
    tables = {r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "sim_brain_taken" not in tables
