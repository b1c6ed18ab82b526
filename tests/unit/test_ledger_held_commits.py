"""A scratch ledger holds its commits in savepoints of one long transaction (``HELD_COMMITS``): it
must hold, after any sequence of units of work, checkpoints, writes, crashes and closings, exactly
the rows a ledger that commits each time holds, and its read caches must agree with the table."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from concierge import ledger as ledger_module
from concierge.ledger import Ledger


class Died(BaseException):
    """The process dies inside a unit of work (as ``ProcessDied`` in the simulator)."""


PHONES = st.sampled_from(["+250780000001", "+250780000002"])
VENDORS = st.sampled_from(["v1", "v2", "v3"])
STATES = st.sampled_from(["collecting_requirements", "vendor_outreach", "closed"])
PICK = st.integers(min_value=0, max_value=7)  # which request, of those there are (modulo)


def scratch_ledger(path: str, held: int) -> Ledger:
    with mock.patch.object(ledger_module, "HELD_COMMITS", held):
        return Ledger(path, scratch=True)


def rows(ledger: Ledger) -> dict[str, list[tuple]]:
    """Every row of every table of the ledger's file (temporary tables aside), in rowid order."""
    names = [r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {name: [tuple(r) for r in ledger.db.execute(f'SELECT * FROM "{name}" ORDER BY rowid')]
            for name in names}


class HeldCommits(RuleBasedStateMachine):
    """The same steps on a scratch ledger (commits held) and an in-memory one (each one real)."""

    @initialize(held=st.sampled_from([1, 2, 3, 5, ledger_module.HELD_COMMITS]))
    def open_both(self, held: int) -> None:
        self.folder = tempfile.mkdtemp(prefix="held-commits-")
        self.path = str(Path(self.folder) / "scratch.sqlite")
        self.held = held
        self.scratch = scratch_ledger(self.path, held)
        self.plain = Ledger()
        self.units: list[tuple[object, object]] = []  # the open units of work, outermost first
        self.at = 0.0
        self.wamids = 0

    def teardown(self) -> None:
        if hasattr(self, "scratch"):
            self.scratch.close()
            self.plain.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def both(self, method: str, *args):
        """Call a ledger method on both ledgers; they must answer the same."""
        self.at += 1.0
        results = [getattr(ledger, method)(*args) for ledger in (self.scratch, self.plain)]
        assert results[0] == results[1], (method, args, results)
        return results[0]

    def request_ids(self) -> list[str]:
        return [r[0] for r in self.plain.db.execute("SELECT id FROM requests ORDER BY seq")]

    def pick(self, index: int) -> str | None:
        ids = self.request_ids()
        return ids[index % len(ids)] if ids else None

    # --- units of work, checkpoints, crashes, closing --------------------------------------------
    @precondition(lambda self: len(self.units) < 3)
    @rule()
    def enter_unit(self) -> None:
        pair = (self.scratch.unit_of_work(), self.plain.unit_of_work())
        for unit in pair:
            unit.__enter__()
        self.units.append(pair)

    @precondition(lambda self: self.units)
    @rule(bug=st.booleans())
    def leave_unit(self, bug: bool) -> None:
        """The handler returns, or raises a bug (an ``Exception``: what was done is committed)."""
        error = ValueError("a handler bug") if bug else None
        for unit in self.units.pop():
            unit.__exit__(type(error) if error else None, error, None)

    @rule()
    def checkpoint(self) -> None:
        self.both("checkpoint")

    @rule()
    def crash(self) -> None:
        """The process dies (inside every open unit, or between units) and restarts: ``abandon``."""
        while self.units:
            for unit in self.units.pop():
                assert unit.__exit__(Died, Died(), None) is False
        self.both("abandon")

    @rule()
    def close_and_reopen(self) -> None:
        """The process ends (a unit a crash left open is lost with it) and the file is opened again:
        whatever the scratch ledger held must be in the file."""
        self.units.clear()
        self.scratch.close()
        self.plain.abandon()  # what closing does to an open transaction
        self.scratch = scratch_ledger(self.path, self.held)

    # --- writes ------------------------------------------------------------------------------
    @rule(phone=PHONES, state=STATES, item=st.sampled_from(["x", "y"]))
    def create_request(self, phone: str, state: str, item: str) -> None:
        self.both("create_request", phone, state, self.at, {"requirements": {"item": item}})

    @rule(index=PICK, dest=STATES)
    def set_state(self, index: int, dest: str) -> None:
        if (rid := self.pick(index)) is not None:
            self.both("set_state", rid, "any", dest, self.at, "test")

    @rule(index=PICK, n=st.integers(0, 3))
    def save_request_data(self, index: int, n: int) -> None:
        if (rid := self.pick(index)) is not None:
            self.both("save_request_data", rid, {"n": n}, self.at)

    @rule(index=PICK, vendor=VENDORS)
    def insert_outreach(self, index: int, vendor: str) -> None:
        if (rid := self.pick(index)) is not None:
            self.both("insert_outreach", rid, vendor, f"{rid}:{vendor}", 1, self.at)

    @rule(index=PICK, vendor=VENDORS, status=st.sampled_from(["sent", "replied", "excluded"]))
    def set_outreach_status(self, index: int, vendor: str, status: str) -> None:
        if (rid := self.pick(index)) is not None:
            self.both("set_outreach_status", rid, vendor, status, self.at)

    @rule(index=PICK, vendor=VENDORS, text=st.sampled_from(["yes", "no", "maybe"]))
    def record_reply(self, index: int, vendor: str, text: str) -> None:
        if (rid := self.pick(index)) is not None:
            self.both("record_reply", rid, vendor, f"wamid.r{int(self.at)}", text, {"text": text}, self.at)

    @rule(key=st.sampled_from(["k1", "k2", "k3", "k4"]))
    def record_tool_call(self, key: str) -> None:
        self.both("record_tool_call", key, "search", None, "ai", {"q": key}, {"n": 1}, self.at)

    @rule(again=st.booleans(), phone=PHONES)
    def record_inbound(self, again: bool, phone: str) -> None:
        """A new message, or a redelivery of the last one (refused by the unique wamid)."""
        self.wamids += 0 if again and self.wamids else 1
        self.both("record_inbound", f"wamid.{self.wamids}", phone, "client", "text", self.at)

    # --- reads, through the caches -----------------------------------------------------------
    @rule(index=PICK)
    def read_request(self, index: int) -> None:
        if (rid := self.pick(index)) is not None:
            self.both("get_request", rid)
            self.both("outreach", rid)
            self.both("replies", rid)

    @rule(phone=PHONES)
    def read_latest(self, phone: str) -> None:
        self.both("latest_request", phone)

    @rule()
    def count_tool_calls(self) -> None:
        self.both("tool_call_count")

    # --- after every step --------------------------------------------------------------------
    @invariant()
    def same_rows(self) -> None:
        assert rows(self.scratch) == rows(self.plain)

    @invariant()
    def caches_agree_with_the_tables(self) -> None:
        for ledger in (self.scratch, self.plain):
            for rid in self.request_ids():
                direct = ledger.db.execute(
                    "SELECT id, client_phone, state, created_at, updated_at, data FROM requests WHERE id=?",
                    (rid,)).fetchone()
                got = ledger.get_request(rid)
                assert (got.id, got.client_phone, got.state, got.created_at, got.updated_at, got.data
                        ) == (*tuple(direct)[:5], json.loads(direct["data"]))
                outreach = ledger.db.execute("SELECT id, status FROM outreach WHERE request_id=? ORDER BY id",
                                             (rid,)).fetchall()
                assert [(o.id, o.status) for o in ledger.outreach(rid)] == [tuple(o) for o in outreach]
                replies = ledger.db.execute("SELECT seq FROM replies WHERE request_id=? ORDER BY seq",
                                            (rid,)).fetchall()
                assert [r["seq"] for r in ledger.replies(rid)] == [r[0] for r in replies]
            assert ledger.tool_call_count() == ledger.db.execute("SELECT COUNT(*) FROM tool_calls").fetchone()[0]


HeldCommits.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_held_commits_match_real_ones = HeldCommits.TestCase


def test_a_scratch_ledger_commits_for_real_once_every_held_commits(tmp_path):
    # The point of holding: COMMIT (which writes the dirty pages to the file) runs once every
    # ``HELD_COMMITS`` commits of units and checkpoints, not at each.
    ledger = scratch_ledger(str(tmp_path / "l.sqlite"), 4)
    statements: list[str] = []
    ledger.db.set_trace_callback(statements.append)
    for n in range(6):
        with ledger.unit_of_work():  # a unit's end: one commit
            ledger.record_inbound(f"wamid.{n}", "+250780000001", "client", "text", float(n))
            if n % 2:
                ledger.checkpoint()  # and one more
    assert statements.count("COMMIT") == 2  # the 4th and the 8th of 9 commits (6 units, 3 checkpoints)
    assert statements.count("RELEASE held") == 7 and statements.count("SAVEPOINT held") == 9
    ledger.close()  # the held rest is committed: another connection sees all six
    assert sqlite3.connect(tmp_path / "l.sqlite").execute("SELECT COUNT(*) FROM inbound").fetchone()[0] == 6


def test_a_ledger_that_is_not_scratch_commits_each_time(tmp_path):
    # A ledger that must survive its process (a --ledger file, the service's) keeps real commits.
    for ledger in (Ledger(), Ledger(str(tmp_path / "kept.sqlite"), power_safe=False)):
        statements: list[str] = []
        ledger.db.set_trace_callback(statements.append)
        with ledger.unit_of_work():
            ledger.record_inbound("wamid.1", "+250780000001", "client", "text", 1.0)
            ledger.checkpoint()
        assert statements.count("COMMIT") == 2 and not any("SAVEPOINT" in s for s in statements)
        ledger.close()
