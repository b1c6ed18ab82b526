"""The ledger's unique constraints are what make dedupe hold: prove each one bites."""

from __future__ import annotations

from concierge.ledger import Ledger


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


def test_a_unit_of_work_is_all_or_nothing_and_a_checkpoint_keeps_what_came_before():
    ledger = Ledger()

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
    assert not ledger.db.in_transaction


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
