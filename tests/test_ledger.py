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
