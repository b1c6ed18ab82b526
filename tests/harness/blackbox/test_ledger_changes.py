"""The ledger read incrementally (probe revision 1.2, ``settle``): the target sends only the tables
whose digest changed, the harness refills only those in its copy; after any sequence of writes the
copy holds exactly what a full read would (rows changed, added, deleted, tables emptied)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.ledger import Ledger
from service.probe import LedgerChanges, _dump
from simulators.blackbox.wire_world import ledger_copy

WRITES = st.lists(st.one_of(
    st.tuples(st.just("audit"), st.sampled_from(["message.sent", "state.changed", "client.cancelled"])),
    st.tuples(st.just("opt_out"), st.sampled_from(["v1", "v2", "v3"])),
    st.tuples(st.just("delete"), st.sampled_from(["audit", "vendor_status"])),
    st.tuples(st.just("nothing"), st.just("")),
), max_size=12)


def _write(db, op: str, arg: str, at: float) -> None:
    if op == "audit":
        db.execute("INSERT INTO audit (at, event, request_id, data) VALUES (?, ?, NULL, '{}')", (at, arg))
    elif op == "opt_out":
        db.execute("INSERT INTO vendor_status (vendor_id, opted_out, opted_out_at) VALUES (?, 1, ?) "
                   "ON CONFLICT (vendor_id) DO UPDATE SET opted_out_at = excluded.opted_out_at", (arg, at))
    elif op == "delete":
        db.execute(f"DELETE FROM {arg} WHERE rowid = (SELECT min(rowid) FROM {arg})")


def _rows(ledger: Ledger) -> dict[str, list[tuple]]:
    names = [r[0] for r in ledger.db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {n: sorted((tuple(r) for r in ledger.db.execute(f'SELECT * FROM "{n}"')), key=repr) for n in names}


@settings(max_examples=40, deadline=None)
@given(WRITES)
def test_the_copy_refilled_from_changes_equals_a_full_read(writes):
    with tempfile.TemporaryDirectory() as where:
        path = str(Path(where) / "ledger.sqlite")
        target = Ledger(path)
        digests: dict[str, str] = {}
        changes = LedgerChanges(path)
        copy = None
        try:
            for i, (op, arg) in enumerate([("nothing", ""), *writes]):
                _write(target.db, op, arg, 1_772_431_200.0 + i)
                target.db.commit()
                reads = changes.reads
                changed = changes.changed(digests)
                if op == "nothing" and digests:
                    assert changed["tables"] == {}  # nothing written: nothing sent again
                    assert changes.reads == reads  # ... and nothing read (data_version unchanged)
                elif op != "nothing":  # (a write that changed rows must be read: the equality below)
                    assert changes.changed({})["tables"].keys() == changed["digests"].keys()  # a harness that
                    # lost track gets every table, even with nothing committed since
                copy = ledger_copy(changed["tables"], into=copy, only_these=True)
                digests = changed["digests"]
                full = ledger_copy(_dump(path))
                assert _rows(copy) == _rows(full)
                full.close()
        finally:
            target.close()
            if copy is not None:
                copy.close()
