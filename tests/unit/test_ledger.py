"""The ledger's unique constraints are what make dedupe hold: prove each one bites."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from concierge.ledger import Ledger, RequestRow


def test_inbound_wamid_recorded_once():
    ledger = Ledger()
    assert ledger.record_inbound("wamid.A", "+250780000001", "client", "text", 1.0)
    assert not ledger.record_inbound("wamid.A", "+250780000001", "client", "text", 2.0)
    assert ledger.inbound_count() == 1


def test_outreach_unique_per_request_and_vendor():
    ledger = Ledger()
    assert ledger.insert_outreach("req-1", "v1", "request:req-1:vendor:v1:qset:v1", 1, 0.0)
    assert not ledger.insert_outreach("req-1", "v1", "another-key", 2, 5.0)
    assert ledger.insert_outreach("req-2", "v1", "request:req-2:vendor:v1:qset:v1", 1, 0.0)
    assert len(ledger.outreach(vendor_id="v1")) == 2


def test_outbound_unique_per_idempotency_key():
    ledger = Ledger()
    assert ledger.insert_outbound("k1", "req-1", "+250780000001", "client", "question", "hi", 0.0)
    assert not ledger.insert_outbound("k1", "req-1", "+250780000001", "client", "question", "hi", 1.0)


def test_request_ids_are_sequential_and_states_logged():
    ledger = Ledger()
    a = ledger.create_request("+250780000001", "collecting_requirements", 0.0, {})
    b = ledger.create_request("+250780000002", "collecting_requirements", 0.0, {})
    assert (a, b) == ("req-00001", "req-00002")
    ledger.set_state(a, "collecting_requirements", "vendor_outreach", 3.0, "test")
    assert [c["dest"] for c in ledger.state_changes(a)] == ["collecting_requirements", "vendor_outreach"]
    assert ledger.latest_request("+250780000001").state == "vendor_outreach"


def test_opt_out_is_once_and_excludes_pending_outreach():
    ledger = Ledger()
    ledger.insert_outreach("req-1", "v1", "k1", 1, 0.0)
    ledger.insert_outreach("req-2", "v1", "k2", 1, 0.0)
    ledger.set_outreach_status("req-2", "v1", "replied", 1.0)
    assert ledger.opt_out_vendor("v1", 5.0)
    assert not ledger.opt_out_vendor("v1", 6.0)
    assert ledger.exclude_pending_outreach(vendor_id="v1") == 1
    assert {o.status for o in ledger.outreach(vendor_id="v1")} == {"excluded", "replied"}


def test_shortlist_persisted_once():
    ledger = Ledger()
    assert ledger.persist_shortlist("req-1", [{"vendor_id": "v1"}], 1.0)
    assert not ledger.persist_shortlist("req-1", [{"vendor_id": "v2"}], 2.0)
    assert ledger.shortlist("req-1")["items"] == [{"vendor_id": "v1"}]


def test_file_database_survives_reopen(tmp_path):
    path = str(tmp_path / "ledger.sqlite")
    ledger = Ledger(path)
    ledger.record_inbound("wamid.A", "+250780000001", "client", "text", 1.0)
    ledger.close()
    again = Ledger(path)
    assert not again.record_inbound("wamid.A", "+250780000001", "client", "text", 2.0)


def test_what_a_restart_looks_up_open_requests_and_pending_sends():
    ledger = Ledger()
    a = ledger.create_request("+250780000001", "awaiting_vendor_replies", 0.0, {})
    b = ledger.create_request("+250780000002", "closed", 1.0, {})
    c = ledger.create_request("+250780000003", "vendor_outreach", 2.0, {})
    assert [r.id for r in ledger.requests_not_in(["closed", "error", "handed_off"])] == [a, c]
    assert [r.id for r in ledger.requests_not_in([])] == [a, b, c]
    ledger.insert_outbound("k2", a, "+250780000001", "client", "progress", "later", 2.0)
    ledger.insert_outbound("k1", a, "+250780000001", "client", "question", "first", 1.0)
    ledger.insert_outbound("k3", a, "+250780000001", "client", "question", "sent", 3.0)
    ledger.update_outbound("k3", status="sent")
    assert [r["idem_key"] for r in ledger.pending_outbound()] == ["k1", "k2"]
    assert ledger.latest_client_question(a) == "question" and ledger.latest_client_question(b) is None


def test_consent_and_calls_round_trip():
    ledger = Ledger()
    assert ledger.consent_row("req-1") is None
    ledger.ask_consent("req-1", "call_vendor", 1.0)
    ledger.grant_consent("req-1", 2.0, 902.0)
    assert ledger.consent_row("req-1")["status"] == "granted"
    ledger.ask_consent("req-1", "either", 3.0)  # asked again: the earlier grant is gone
    row = ledger.consent_row("req-1")
    assert (row["status"], row["scope"], row["granted_at"], row["expires_at"]) == ("requested", "either", None, None)
    ledger.set_consent_status("req-1", "denied")
    assert ledger.consent_row("req-1")["status"] == "denied"
    ledger.insert_call("req-1:call:1", "req-1", "vendor", "+250788000101", 5.0)
    ledger.set_call_status("req-1:call:1", "initiated", 6.0)
    assert ledger.call("req-1:call:1")["status"] == "initiated" and ledger.call("nope") is None
    assert ledger.calls_count("req-1") == 1 and ledger.calls_count("req-2") == 0 and ledger.calls_count() == 1
    assert ledger.last_call_started("req-1") == 5.0 and ledger.last_call_started("req-2") is None


@pytest.mark.parametrize("kind", ["memory", "file", "scratch"])
def test_a_unit_of_work_is_all_or_nothing_and_a_checkpoint_keeps_what_came_before(kind, tmp_path):
    # The scratch ledger keeps its rollback journal in memory and never syncs: a simulated crash
    # (``abandon``) must still undo exactly what came after the last checkpoint.
    path = ":memory:" if kind == "memory" else str(tmp_path / "l.sqlite")
    ledger = Ledger(path, power_safe=False, scratch=kind == "scratch")
    expected = {"memory": "memory", "file": "wal", "scratch": "memory"}[kind]
    assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == expected

    class Died(BaseException):
        pass

    try:
        with ledger.unit_of_work():
            ledger.record_inbound("wamid.A", "+250780000001", "client", "text", 1.0)
            ledger.checkpoint()  # e.g. before a send
            ledger.record_inbound("wamid.B", "+250780000001", "client", "text", 2.0)
            with ledger.unit_of_work():  # a nested handler joins the outer unit
                ledger.record_inbound("wamid.C", "+250780000001", "client", "text", 3.0)
            raise Died()
    except Died:
        pass
    ledger.abandon()  # the restart: the dead process's open transaction is rolled back
    assert ledger.inbound_count("wamid.A") == 1
    assert ledger.inbound_count("wamid.B") == 0 and ledger.inbound_count("wamid.C") == 0
    # A scratch ledger holds its commits in one long transaction (``HELD_COMMITS``); the others
    # have none open. Either way, what was committed is in the file once the ledger is closed.
    assert ledger.db.in_transaction == (kind == "scratch")
    ledger.close()
    if kind != "memory":
        reopened = sqlite3.connect(path)
        assert reopened.execute("SELECT wamid FROM inbound").fetchall() == [("wamid.A",)]
        reopened.close()


def test_a_unit_that_ends_normally_or_with_a_bug_commits():
    ledger = Ledger()
    with ledger.unit_of_work():
        ledger.record_inbound("wamid.A", "+250780000001", "client", "text", 1.0)
    try:
        with ledger.unit_of_work():
            ledger.record_inbound("wamid.B", "+250780000001", "client", "text", 2.0)
            raise ValueError("a handler bug")
    except ValueError:
        pass
    assert not ledger.db.in_transaction
    ledger.abandon()  # nothing open: nothing to undo
    assert ledger.inbound_count() == 2


# --- the unit of work's cache of request rows ------------------------------------------------------
# Inside a unit of work a request row is read from SQLite once and then served from memory. These
# tests write the row through every path there is and read it back in the same unit: a cache that
# missed a write, a rollback or a caller's change to what it was given would fail them.

def _alice_request(ledger: Ledger) -> str:
    request_id = ledger.create_request(
        "+250780000001", "collecting_requirements", 0.0, {"plan": None, "requirements": {"item": "x"}}
    )
    return request_id


def test_the_cache_sees_every_write_to_a_request_in_the_same_unit():
    ledger = Ledger()
    rid = _alice_request(ledger)
    with ledger.unit_of_work():
        assert ledger.get_request(rid).state == "collecting_requirements"  # now cached
        ledger.save_request_data(rid, {"plan": {"batch_size": 3}}, 1.0)
        row = ledger.get_request(rid)
        assert (row.data, row.updated_at) == ({"plan": {"batch_size": 3}}, 1.0)
        ledger.set_state(rid, "collecting_requirements", "vendor_outreach", 2.0, "test")
        row = ledger.get_request(rid)
        assert (row.state, row.updated_at, row.data) == ("vendor_outreach", 2.0, {"plan": {"batch_size": 3}})
        # Tests and tools write the table directly: the cache must see those writes too.
        ledger.db.execute("UPDATE requests SET state='error', data='{\"k\":1}' WHERE id=?", (rid,))
        row = ledger.get_request(rid)
        assert (row.state, row.data) == ("error", {"k": 1})
        assert ledger.latest_request("+250780000001").state == "error"
        ledger.db.executemany("UPDATE requests SET updated_at=? WHERE id=?", [(7.0, rid)])
        assert ledger.get_request(rid).updated_at == 7.0
        ledger.db.executescript("UPDATE requests SET client_phone='+250780000009'")
        assert ledger.get_request(rid).client_phone == "+250780000009"
        assert ledger.latest_request("+250780000001") is None
        ledger.db.execute("INSERT OR REPLACE INTO requests (id, seq, client_phone, state, created_at,"
                          " updated_at, data) VALUES (?, 1, '+250780000009', 'closed', 0, 8, '{}')", (rid,))
        assert (ledger.get_request(rid).state, ledger.get_request(rid).data) == ("closed", {})
        ledger.db.execute("DELETE FROM requests WHERE id=?", (rid,))
        assert ledger.get_request(rid) is None and ledger.latest_request("+250780000009") is None
        other = ledger.create_request("+250780000009", "collecting_requirements", 9.0, {"n": 2})
        assert ledger.latest_request("+250780000009").id == other
        assert ledger.get_request(other).data == {"n": 2}


def test_a_request_read_from_the_cache_is_the_callers_own():
    ledger = Ledger()
    rid = _alice_request(ledger)
    with ledger.unit_of_work():
        first = ledger.get_request(rid)
        first.data["requirements"]["item"] = "changed"  # as Concierge.update does, before saving
        first.data["plan"] = {"batch_size": 9}
        again, latest = ledger.get_request(rid), ledger.latest_request("+250780000001")
        assert again.data == latest.data == {"plan": None, "requirements": {"item": "x"}}
        assert again.data is not latest.data and again.data["requirements"] is not latest.data["requirements"]
        # A row keeps the data it was read with, decoded before or after a later write.
        before = ledger.get_request(rid)
        ledger.save_request_data(rid, {"plan": "new"}, 1.0)
        assert before.data == {"plan": None, "requirements": {"item": "x"}}
        assert ledger.get_request(rid).data == {"plan": "new"}
    outside = ledger.get_request(rid)
    assert outside == RequestRow(rid, "+250780000001", "collecting_requirements", 0.0, 1.0, {"plan": "new"})


def test_after_a_crash_the_rolled_back_request_is_read_as_committed():
    ledger = Ledger()
    rid = _alice_request(ledger)

    class Died(BaseException):
        pass

    try:
        with ledger.unit_of_work():
            ledger.get_request(rid)
            ledger.set_state(rid, "collecting_requirements", "vendor_outreach", 1.0, "test")
            ledger.save_request_data(rid, {"plan": {"batch_size": 3}}, 1.0)
            assert ledger.get_request(rid).state == "vendor_outreach"  # cached, uncommitted
            raise Died()
    except Died:
        pass
    ledger.abandon()
    committed = ("collecting_requirements", 0.0, {"plan": None, "requirements": {"item": "x"}})
    row = ledger.get_request(rid)
    assert (row.state, row.updated_at, row.data) == committed
    with ledger.unit_of_work():
        row = ledger.get_request(rid)
        assert (row.state, row.updated_at, row.data) == committed
        ledger.set_state(rid, "collecting_requirements", "closed", 2.0, "test")
    # A unit that ends with a bug commits; the next unit reads what was committed.
    try:
        with ledger.unit_of_work():
            ledger.save_request_data(rid, {"after": "bug"}, 3.0)
            raise ValueError("a handler bug")
    except ValueError:
        pass
    with ledger.unit_of_work():
        row = ledger.get_request(rid)
        assert (row.state, row.data) == ("closed", {"after": "bug"})


def test_outreach_answered_by_is_the_quoted_one_else_the_latest_sent():
    ledger = Ledger()
    for n, (vendor, status, sent_at, wamid) in enumerate([
        ("v1", "sent", 5.0, "w-a"), ("v1", "replied", 9.0, "w-b"), ("v1", "queued", None, None),
        ("v1", "excluded", 9.0, "w-c"), ("v1", "failed", 20.0, "w-d"), ("v2", "sent", 30.0, "w-b"),
    ]):
        rid = f"req-{n}"
        ledger.insert_outreach(rid, vendor, f"k{n}", 1, 0.0)
        ledger.db.execute("UPDATE outreach SET status=?, sent_at=?, wamid=? WHERE request_id=?",
                          (status, sent_at, wamid, rid))
    assert ledger.outreach_answered_by("v1", "w-b").request_id == "req-1"
    assert ledger.outreach_answered_by("v1", "w-d").request_id == "req-4"  # quoted: any status
    assert ledger.outreach_answered_by("v1", "w-zz").request_id == "req-3"  # tie on sent_at: higher id
    assert ledger.outreach_answered_by("v1", None).request_id == "req-3"
    assert ledger.outreach_answered_by("v3", "w-a") is None


_STATUS = st.sampled_from(["queued", "sent", "replied", "no_response", "failed", "excluded"])
_WAMID = st.sampled_from([None, "w-a", "w-b", "w-c"])


@given(rows=st.lists(st.tuples(st.sampled_from(["v1", "v2"]), _STATUS,
                               st.one_of(st.none(), st.integers(0, 4).map(float)), _WAMID), max_size=8),
       context=_WAMID)
def test_outreach_answered_by_agrees_with_a_scan_of_the_vendors_outreach(rows, context):
    ledger = Ledger()
    for n, (vendor, status, sent_at, wamid) in enumerate(rows):
        ledger.insert_outreach(f"req-{n}", vendor, f"k{n}", 1, 0.0)
        ledger.db.execute("UPDATE outreach SET status=?, sent_at=?, wamid=? WHERE request_id=?",
                          (status, sent_at, wamid, f"req-{n}"))
    scanned = ledger.outreach(vendor_id="v1")  # what the concierge did before: read them all
    expected = next((r for r in scanned if context and r.wamid == context), None)
    if expected is None:
        answered = [r for r in scanned if r.status in ("sent", "replied", "excluded") and r.sent_at is not None]
        expected = max(answered, key=lambda r: (r.sent_at, r.id)) if answered else None
    assert ledger.outreach_answered_by("v1", context) == expected


# --- the judges' reads and seams (no module outside the ledger runs SQL on its connection) ------
def test_the_judges_reads_return_rows_in_recording_order_and_filter_as_asked():
    ledger = Ledger()
    ledger.insert_call("c2", "req-1", "vendor", "+250788000102", 20.0)
    ledger.insert_call("c1", "req-1", "client", "+250780000001", 10.0)
    ledger.insert_call("c3", "req-2", "vendor", "+250788000103", 30.0)
    assert [c["id"] for c in ledger.calls()] == ["c2", "c1", "c3"]
    assert [c["id"] for c in ledger.calls("req-1")] == ["c2", "c1"]
    assert [c["id"] for c in ledger.calls("req-1", started_after=10.0)] == ["c2"]
    assert [c["id"] for c in ledger.calls(started_after=20.0)] == ["c3"]
    ledger.record_inbound("w1", "+250780000001", "client", "text", 1.0)
    ledger.record_inbound("w2", "+250788000102", "vendor", "text", 2.0)
    assert [r["wamid"] for r in ledger.inbound()] == ["w1", "w2"]
    assert [r["from_phone"] for r in ledger.inbound(party="vendor")] == ["+250788000102"]
    ledger.opt_out_vendor("v9", 42.0)
    assert ledger.opted_out_at() == {"v9": 42.0}
    ledger.create_ocr_job("j1", "req-1", 1.0)
    ledger.create_ocr_job("j2", "req-1", 2.0)
    assert ledger.ocr_job_requests() == ["req-1", "req-1"]
    assert ledger.count_rows("calls", request_id="req-1") == 2
    assert ledger.count_rows("calls", request_id="req-1", target="client") == 1
    assert ledger.count_rows("inbound", request_id=None) == 2  # None matches NULL: not yet linked
    assert ledger.count_rows("calls") == 3


def test_statements_go_through_the_wrapper_only_inside_the_block():
    ledger = Ledger()
    seen: list[str] = []

    class Recording:
        def __init__(self, db):
            self.db = db

        def execute(self, sql, *params):
            seen.append(sql.split()[0])
            return self.db.execute(sql, *params)

        def __getattr__(self, name):
            return getattr(self.db, name)

    try:
        with ledger.statements_through(Recording):
            ledger.record_inbound("w1", "+250780000001", "client", "text", 1.0)
            raise RuntimeError("the process died")
    except RuntimeError:
        pass
    assert seen == ["INSERT"]
    ledger.record_inbound("w2", "+250780000001", "client", "text", 2.0)
    assert seen == ["INSERT"] and ledger.inbound_count() == 2


def test_refill_replaces_every_row_with_another_ledgers():
    source, copy = Ledger(), Ledger()
    source.record_inbound("w1", "+250780000001", "client", "text", 1.0)
    copy.record_inbound("stale", "+250780000009", "client", "text", 0.5)
    copy.insert_call("c-stale", "req-0", "vendor", "+250788000101", 1.0)
    tables = {"inbound": source.inbound(), "not_a_table": [{"x": 1}]}
    copy.refill(tables)
    assert copy.inbound() == source.inbound() and copy.calls() == []


# --- every cache of the unit of work against SQLite itself -------------------------------------------
# A random run of writes (the ledger's own, with integer or float times: a REAL column given an
# integer is read back as a float), writes behind the ledger's back, checkpoints, unit boundaries
# and crashes; after each step every request row, outbound row, request's outreach and replies the
# ledger serves must equal, value and type, what a SELECT reads. A cache that kept a stale row, or
# a row kept as given instead of as stored, fails it.
_TIMES = st.one_of(st.integers(0, 10**6), st.floats(0, 10**6, allow_nan=False))
_REQ, _KEY, _VENDOR = st.integers(0, 2), st.sampled_from(["k1", "k2", "k3"]), st.sampled_from(["v1", "v2"])
_STEPS = st.one_of(
    st.tuples(st.sampled_from(["begin", "end", "checkpoint", "crash", "create"]), _TIMES),
    st.tuples(st.sampled_from(["save_data", "set_state", "exclude"]), _REQ, _TIMES),
    st.tuples(st.just("insert_outbound"), _KEY, _REQ, _TIMES),
    st.tuples(st.just("attempted"), _KEY, st.integers(0, 5)),
    st.tuples(st.just("sent"), _KEY, _TIMES),
    st.tuples(st.just("failed"), _KEY, st.sampled_from(["http 500", "request ended"])),
    st.tuples(st.just("insert_buttons"), _KEY, _REQ, _TIMES),
    st.tuples(st.just("insert_outreach"), _REQ, _VENDOR, _TIMES),
    st.tuples(st.just("outreach_sent"), _REQ, _VENDOR, _TIMES),
    st.tuples(st.just("reply"), _REQ, _VENDOR, st.sampled_from(["w1", "w2", "w3"]), _TIMES),
    st.tuples(st.sampled_from(["opt_out", "busy"]), _VENDOR, _TIMES),
    st.tuples(st.just("behind_the_back"), st.sampled_from([
        "UPDATE requests SET state='error', updated_at=5",
        "UPDATE outbound SET status='failed', sent_at=3",
        "DELETE FROM outbound WHERE idem_key='k2'",
        "UPDATE outbound SET attempts=attempts+1, created_at=created_at+1 WHERE idem_key='k1'",
        "INSERT OR REPLACE INTO outbound (idem_key, to_phone, party, purpose, text, status, created_at)"
        " VALUES ('k3', '+250780000009', 'vendor', 'outreach', 'raw', 'sent', 9)",
        "UPDATE outreach SET status='excluded', sent_at=4",
        "DELETE FROM requests WHERE seq=2",
        "UPDATE replies SET acted_on=1, at=6",
        "UPDATE vendor_status SET opted_out=0, busy_until=busy_until+1",
        "INSERT OR REPLACE INTO vendor_status (vendor_id, busy_until) VALUES ('v2', 4)",
        "UPDATE outreach SET status='queued', sent_at=NULL WHERE vendor_id='v1'",
    ])),
)


def _typed(values):
    return [(type(v), v) for v in values]


def _agrees_with_sqlite(ledger: Ledger) -> None:
    import json

    for (rid,) in ledger.db.execute("SELECT id FROM requests").fetchall() + [("req-99999",)]:
        stored = ledger.db.execute(
            "SELECT id, client_phone, state, created_at, updated_at, data FROM requests WHERE id=?", (rid,)
        ).fetchone()
        served = ledger.get_request(rid)
        if stored is None:
            assert served is None
            continue
        assert _typed(served._values()) == _typed([*stored[:5], json.loads(stored[5])])
        stored_outreach = [dict(r) for r in ledger.db.execute(
            "SELECT * FROM outreach WHERE request_id=? ORDER BY id", (rid,))]
        assert [_typed(vars(o).values()) for o in ledger.outreach(request_id=rid)] == \
            [_typed(r.values()) for r in stored_outreach]
        stored_replies = [{**r, "parsed": json.loads(r["parsed"])} for r in map(dict, ledger.db.execute(
            "SELECT * FROM replies WHERE request_id=? ORDER BY seq", (rid,)))]
        assert [_typed(r.values()) for r in ledger.replies(rid)] == [_typed(r.values()) for r in stored_replies]
    # The vendor search's reads, by vendor (vendors with nothing to report left out).
    vendors = ["v1", "v2", "v3"]
    for since in (0, 3.5):
        assert ledger.outreach_sent_since_by_vendor(vendors, since) == {r[0]: (r[1], r[2]) for r in ledger.db.execute(
            "SELECT vendor_id, COUNT(*), MAX(sent_at) FROM outreach WHERE sent_at IS NOT NULL AND sent_at>=?"
            " GROUP BY vendor_id", (since,))}
    assert ledger.outreach_pending_by_vendor(vendors) == {r[0]: r[1] for r in ledger.db.execute(
        "SELECT vendor_id, COUNT(*) FROM outreach WHERE status='queued' AND sent_at IS NULL GROUP BY vendor_id")}
    assert ledger.vendor_statuses(vendors) == {r[0]: (r[1], r[2]) for r in ledger.db.execute(
        "SELECT vendor_id, opted_out, busy_until FROM vendor_status")}
    for key in ("k1", "k2", "k3"):
        stored = ledger.db.execute("SELECT * FROM outbound WHERE idem_key=?", (key,)).fetchone()
        served = ledger.get_outbound(key)
        assert (served is None) == (stored is None)
        if stored is not None:
            assert list(served) == list(dict(stored)) and _typed(served.values()) == _typed(dict(stored).values())


@given(st.lists(_STEPS, max_size=40))
@example([("create", 0), ("insert_outbound", "k1", 0, 1), ("begin", 0), ("insert_outreach", 0, "v1", 2),
          ("attempted", "k1", 1), ("save_data", 0, 3), ("reply", 0, "v1", "w1", 4),
          ("crash", 0)])  # rows cached, then rolled back
@example([("begin", 0), ("insert_outbound", "k1", 0, 1), ("attempted", "k1", 1), ("sent", "k1", 2),
          ("crash", 0)])  # an outbound row kept from the ledger's own writes, then rolled back
@example([("begin", 0), ("begin", 0), ("insert_outbound", "k1", 0, 1), ("end", 0),
          ("behind_the_back", "UPDATE outbound SET status='failed', sent_at=3"), ("sent", "k1", 2)])
@example([("begin", 0), ("busy", "v1", 1), ("busy", "v1", 2), ("create", 0), ("insert_outreach", 0, "v2", 1),
          ("outreach_sent", 0, "v2", 4), ("opt_out", "v2", 5)])  # the vendor search's reads, each write seen
def test_every_cached_read_agrees_with_sqlite_through_writes_units_and_crashes(steps):
    ledger = Ledger()
    ids: list[str] = []
    units: list = []  # nested units of work, innermost last: an inner one joins the outer
    for step in steps:
        kind, *args = step
        at = {"insert_outbound": 1, "insert_buttons": 1, "save_data": 0, "set_state": 0, "exclude": 0,
              "insert_outreach": 0, "outreach_sent": 0, "reply": 0}.get(kind)  # where the step names its request
        rid = ids[args[at] % len(ids)] if ids and at is not None else None
        if kind == "begin" and len(units) < 3:
            units.append(ledger.unit_of_work())
            units[-1].__enter__()
        elif kind == "end" and units:
            units.pop().__exit__(None, None, None)
        elif kind == "checkpoint":
            ledger.checkpoint()
        elif kind == "crash" and units:
            ledger.abandon()  # the process died inside the unit: its open transaction is rolled back
            units.clear()
        elif kind == "create":
            ids.append(ledger.create_request(f"+25078000000{len(ids) % 3}", "collecting_requirements",
                                             args[0], {"n": len(ids)}))
        elif kind == "save_data" and rid:
            ledger.save_request_data(rid, {"t": args[1]}, args[1])
        elif kind == "set_state" and rid:
            ledger.set_state(rid, "collecting_requirements", "vendor_outreach", args[1], "test")
        elif kind == "exclude" and rid:
            ledger.exclude_pending_outreach(request_id=rid)
        elif kind == "insert_outbound":
            ledger.insert_outbound(args[0], rid, "+250780000001", "client", "question", "hi", args[2])
        elif kind == "attempted":
            ledger.update_outbound(args[0], attempts=args[1])
        elif kind == "sent":
            ledger.update_outbound(args[0], status="sent", wamid=f"wamid.{args[1]}", sent_at=args[1])
        elif kind == "failed":
            ledger.update_outbound(args[0], status="failed", last_error=args[1])
        elif kind == "insert_buttons":
            ledger.insert_outbound(args[0], rid, "+250780000002", "client", "consent_prompt", "ok?", args[2],
                                   buttons=[("yes", "Yes"), ("no", "No")])
        elif kind == "insert_outreach" and rid:
            ledger.insert_outreach(rid, args[1], f"{rid}:{args[1]}", 1, args[2])
        elif kind == "outreach_sent" and rid:
            ledger.set_outreach_status(rid, args[1], "sent", args[2], wamid="wamid.x")
        elif kind == "reply" and rid:
            ledger.record_reply(rid, args[1], args[2], "ok", {"price": args[3]}, args[3])
        elif kind == "opt_out":
            ledger.opt_out_vendor(args[0], args[1])
        elif kind == "busy":
            ledger.set_vendor_busy(args[0], args[1])
        elif kind == "behind_the_back":
            ledger.db.execute(args[0])
        _agrees_with_sqlite(ledger)


def test_an_outbound_row_another_connection_changed_between_units_is_read_as_it_now_is(tmp_path):
    # Within a unit the outbox's row is kept from the ledger's own writes; another connection (an
    # operator's shell, a second process on the file) may write between units, never inside one.
    path = str(tmp_path / "l.sqlite")
    ledger = Ledger(path, power_safe=False)
    with ledger.unit_of_work():
        assert ledger.insert_outbound("k1", None, "+250780000001", "client", "question", "hi", 1)
        ledger.update_outbound("k1", attempts=1)
        assert not ledger.insert_outbound("k1", None, "+250780000001", "client", "question", "hi", 2)  # redelivered
        kept = ledger.get_outbound("k1")
        assert (kept["attempts"], kept["created_at"], kept["status"]) == (1, 1.0, "pending")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE outbound SET status='sent', wamid='wamid.other', attempts=7 WHERE idem_key='k1'")
    other.close()
    with ledger.unit_of_work():
        row = ledger.get_outbound("k1")
        assert (row["status"], row["wamid"], row["attempts"]) == ("sent", "wamid.other", 7)
        ledger.update_outbound("k1", last_error="late status")
        assert ledger.get_outbound("k1") == dict(ledger.db.execute(
            "SELECT * FROM outbound WHERE idem_key='k1'").fetchone())


def test_rows_written_outside_a_unit_are_not_kept_past_another_connections_write(tmp_path):
    # Outside a unit of work nothing is kept: another connection may write at any moment.
    path = str(tmp_path / "l.sqlite")
    ledger = Ledger(path, power_safe=False)
    rid = _alice_request(ledger)
    ledger.save_request_data(rid, {"mine": 1}, 1)
    ledger.set_state(rid, "collecting_requirements", "vendor_outreach", 2, "test")
    ledger.insert_outbound("k1", rid, "+250780000001", "client", "question", "hi", 1)
    ledger.update_outbound("k1", attempts=1)
    ledger.set_vendor_busy("v1", 1)
    assert ledger.vendor_statuses(["v1"]) == {"v1": (0, 1.0)}
    assert ledger.outreach_pending_by_vendor(["v1"]) == ledger.outreach_sent_since_by_vendor(["v1"], 0) == {}
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE requests SET state='closed', data='{\"theirs\":2}'")
    other.execute("UPDATE outbound SET status='sent', attempts=3")
    other.execute("UPDATE vendor_status SET opted_out=1")
    other.execute("INSERT INTO outreach (request_id, vendor_id, idem_key, batch, status, queued_at) VALUES"
                  " (?, 'v1', 'o1', 1, 'queued', 1)", (rid,))
    other.close()
    assert ledger.vendor_statuses(["v1"]) == {"v1": (1, 1.0)}
    assert ledger.outreach_pending_by_vendor(["v1"]) == {"v1": 1}
    row = ledger.get_request(rid)
    assert (row.state, row.data) == ("closed", {"theirs": 2})
    assert (ledger.get_outbound("k1")["status"], ledger.get_outbound("k1")["attempts"]) == ("sent", 3)


def test_the_tool_call_count_follows_every_write_a_rollback_and_another_connection(tmp_path):
    # The count is kept between reads (a COUNT(*) walks the whole table); each way the table can
    # change is followed by the true count, which a count kept too long would miss.
    path = str(tmp_path / "l.sqlite")
    ledger = Ledger(path, power_safe=False)
    true_count = lambda: ledger.db.execute("SELECT COUNT(*) FROM tool_calls").fetchone()[0]  # noqa: E731

    def record(key: str) -> None:
        ledger.record_tool_call(key, "t", "req-1", "ai", {"a": 1}, {"success": True}, 1.0)

    assert ledger.tool_call_count() == 0
    record("k1")
    record("k1")  # a replayed key adds no row
    assert ledger.tool_call_count() == true_count() == 1
    ledger.db.execute("INSERT INTO tool_calls VALUES ('raw', 't', NULL, 'ai', '{}', '{}', 2.0)")
    assert ledger.tool_call_count() == true_count() == 2
    ledger.db.execute("DELETE FROM tool_calls WHERE idem_key='k1'")
    assert ledger.tool_call_count() == true_count() == 1

    class Died(BaseException):
        pass

    try:
        with ledger.unit_of_work():
            record("k2")
            assert ledger.tool_call_count() == 2
            raise Died()
    except Died:
        pass
    ledger.abandon()
    assert ledger.tool_call_count() == true_count() == 1
    other = sqlite3.connect(path, isolation_level=None)  # e.g. an operator's shell
    other.execute("INSERT INTO tool_calls VALUES ('other', 't', NULL, 'ai', '{}', '{}', 3.0)")
    other.close()
    assert ledger.tool_call_count() == true_count() == 2
    ledger.refill({"tool_calls": []}, only_these=True)
    assert ledger.tool_call_count() == true_count() == 0


# --- reads that answer from the end of a table, against the whole-table reads they replace ----------
_LINES = st.lists(st.tuples(st.sampled_from(["req-00001", "req-00002", None]), st.sampled_from(["in", "out"]),
                            st.sampled_from(["client", "vendor"]), _TIMES), max_size=30)


@given(_LINES, st.one_of(st.none(), st.integers(-3, 35)))
def test_the_last_transcript_lines_and_last_client_message_agree_with_a_whole_read(lines, limit):
    ledger = Ledger()
    for request_id, direction, party, at in lines:
        ledger.add_transcript(request_id, direction, party, "+250780000001", f"t{at}", at)
    for request_id in ("req-00001", "req-00002", None):
        whole = ledger.transcript(request_id)
        assert whole == [dict(r) for r in ledger.db.execute(
            "SELECT * FROM transcript" + (" WHERE request_id=?" if request_id else "") + " ORDER BY seq",
            (request_id,) if request_id else ())]
        assert ledger.transcript(request_id, limit=limit) == (whole[-limit:] if limit else whole)
        if request_id is not None:
            heard = [t["at"] for t in whole if t["direction"] == "in" and t["party"] == "client"]
            assert ledger.last_heard_from_client(request_id) == (max(heard) if heard else None)


@given(st.lists(st.tuples(st.sampled_from(["client.rate_limited", "client.cancelled"]),
                          st.sampled_from(["ab12", "AB12", "cd34", "a%12", "ab_2"]), _TIMES), max_size=12),
       st.sampled_from(["ab12", "cd34", "a%12", "zz99"]))
def test_last_rate_limited_is_the_like_match_it_always_was(events, client_key):
    ledger = Ledger()
    for event, key, at in events:
        ledger.audit(event, at, None, client_key=key, phone="+2507******01")
    # The statement it replaces, with the pattern bound whole (LIKE: case-blind, % and _ wild).
    expected = ledger.db.execute(
        "SELECT MAX(at) FROM audit WHERE event='client.rate_limited' AND data LIKE ?",
        (f'%"client_key":"{client_key}"%',)).fetchone()[0]
    assert ledger.last_rate_limited(client_key) == expected
