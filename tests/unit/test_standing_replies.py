"""The checks that only ask whether replies are in stock or usable (a vendor reply, the clock's
timers, a batch's silence) read ``standing_replies`` rather than build the whole reply summary:
for any replies, it must list exactly the vendors, availabilities and flags the summary lists."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from concierge.desk import Ports, RequestDesk, Settings
from concierge.ledger import Ledger
from concierge.outreach_flow import OutreachFlow
from concierge.ports import Vendor
from simulators.vendors import StaticDirectory

LISTED = [Vendor(f"v{i}", f"Pharmacy {i}", f"+25078850020{i}", ("pharmacy",), lat=-1.95, lng=30.1)
          for i in range(4)]
VENDOR_IDS = [v.id for v in LISTED] + ["gone"]  # "gone": replied, no longer in the directory

parsed_replies = st.fixed_dictionaries({}, optional={
    "availability": st.sampled_from(["in_stock", "out_of_stock", "unclear", "partial"]),
    "suspicious": st.booleans(),
    "busy": st.booleans(),
    "stop": st.booleans(),
    "price_min": st.integers(100, 9000),
})


def _flow(ledger: Ledger) -> OutreachFlow:
    ports = Ports(transport=None, directory=StaticDirectory(LISTED), brain=None, scheduler=None)  # type: ignore[arg-type]
    return OutreachFlow(RequestDesk(ledger, ports, Settings()))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(VENDOR_IDS), parsed_replies), max_size=12),
       st.sampled_from([None, "Kimironko", "Remera"]))
def test_standing_replies_list_what_the_summary_lists(replies, place):
    ledger = Ledger()
    try:
        rid = ledger.create_request("+250780000401", "awaiting_vendor_replies", 0.0,
                                    {"requirements": {"place": place} if place else {}})
        for n, (vendor_id, parsed) in enumerate(replies):
            ledger.record_reply(rid, vendor_id, f"wamid.{n}", "reply", parsed, 10.0 + n)
        flow = _flow(ledger)
        summary = flow.replies_summary(rid)
        standing = flow.standing_replies(rid)
        assert sorted(standing, key=lambda r: r["vendor_id"]) == [
            {"vendor_id": r["vendor_id"], "availability": r["availability"], "suspicious": r["suspicious"]}
            for r in summary
        ]
    finally:
        ledger.close()


def test_a_vendors_later_reply_replaces_its_first():
    ledger = Ledger()
    try:
        rid = ledger.create_request("+250780000402", "awaiting_vendor_replies", 0.0, {})
        ledger.record_reply(rid, "v0", "wamid.a", "yes", {"availability": "in_stock"}, 10.0)
        ledger.record_reply(rid, "v1", "wamid.b", "busy", {"busy": True}, 11.0)
        flow = _flow(ledger)
        assert flow.standing_replies(rid) == [{"vendor_id": "v0", "availability": "in_stock", "suspicious": False}]
        ledger.record_reply(rid, "v0", "wamid.c", "sold out now", {"availability": "out_of_stock"}, 12.0)
        assert flow.standing_replies(rid) == [{"vendor_id": "v0", "availability": "out_of_stock", "suspicious": False}]
    finally:
        ledger.close()
