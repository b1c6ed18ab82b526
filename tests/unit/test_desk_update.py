"""``RequestDesk.update`` does not make a write that would change nothing (the row last written at
the same time, every change a value the data already holds). Whatever the updates, and whatever was
written to the row by other paths in between, the row must read exactly as if every update had been
written: the same data text, byte for byte, and the same time."""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.desk import Ports, RequestDesk, Settings
from concierge.ledger import Ledger

# Values equal to each other across kinds (0, False, 0.0, -0.0; 1, 1.0, True), and containers,
# whose JSON texts differ: a skip that compared by == alone would leave the wrong text.
VALUES = st.sampled_from([0, False, 0.0, -0.0, 1, 1.0, True, None, "", "x", [1], [True], {"a": 1}, {"a": 1.0}])
KEYS = st.sampled_from(["brain_rejected_in_a_row", "plan", "clarifications"])
STEP = st.tuples(
    st.sampled_from(["desk", "desk", "ledger"]),  # through the desk, or written by another path
    st.sampled_from([5.0, 5.0, 6.0, 7]),  # an int time is stored as REAL, as a float would be
    st.dictionaries(KEYS, VALUES, min_size=1, max_size=3),
)


def _desk(ledger: Ledger) -> RequestDesk:
    ports = Ports(transport=None, directory=None, brain=None, scheduler=None)  # type: ignore[arg-type]
    return RequestDesk(ledger, ports, Settings())


def _stored(ledger: Ledger, request_id: str) -> tuple[Any, ...]:
    return tuple(ledger.db.execute("SELECT data, updated_at FROM requests WHERE id=?", (request_id,)).fetchone())


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=12), st.booleans())
def test_the_row_reads_as_if_every_update_were_written(steps, in_a_unit):
    skipping, writing = Ledger(), Ledger()  # the desk's update, and every update written
    try:
        desk = _desk(skipping)
        rid = skipping.create_request("+250780000501", "collecting_requirements", 5.0, {"plan": None})
        ref = writing.create_request("+250780000501", "collecting_requirements", 5.0, {"plan": None})
        with skipping.unit_of_work() if in_a_unit else nullcontext():  # rows cached, or read each time
            for path, at, changes in steps:
                if path == "desk":
                    returned = desk.update(rid, at, **changes)
                    assert returned == skipping.get_request(rid).data
                else:
                    data = skipping.get_request(rid).data
                    data.update(changes)
                    skipping.save_request_data(rid, data, at)
                ref_data = writing.get_request(ref).data
                ref_data.update(changes)
                writing.save_request_data(ref, ref_data, at)
                assert _stored(skipping, rid) == _stored(writing, ref)
    finally:
        skipping.close()
        writing.close()


def test_a_change_already_held_at_the_same_time_writes_nothing():
    ledger = Ledger()
    try:
        desk = _desk(ledger)
        rid = ledger.create_request("+250780000502", "collecting_requirements", 5.0, {"brain_rejected_in_a_row": 0})
        before = ledger.db.total_changes
        desk.update(rid, 5.0, brain_rejected_in_a_row=0)
        assert ledger.db.total_changes == before  # no UPDATE made
        desk.update(rid, 6.0, brain_rejected_in_a_row=0)  # a later time is a change
        assert ledger.db.total_changes == before + 1
        desk.update(rid, 6.0, brain_rejected_in_a_row=False)  # equal, but written "false"
        assert ledger.get_request(rid).data["brain_rejected_in_a_row"] is False
    finally:
        ledger.close()


def test_equal_containers_of_other_kinds_are_written():
    ledger = Ledger()
    try:
        desk = _desk(ledger)
        rid = ledger.create_request("+250780000503", "collecting_requirements", 5.0, {"a": [1], "b": {"x": 1}})
        desk.update(rid, 5.0, a=[True], b={"x": 1.0})
        data = json.loads(_stored(ledger, rid)[0])
        assert data["a"][0] is True and type(data["b"]["x"]) is float
    finally:
        ledger.close()
