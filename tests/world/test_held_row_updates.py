"""The context pack (its snapshot count, and the brain call it counts) and an outreach plan write
the request's data from the row they read in the same handling (``RequestDesk.update_row``), not
from a fresh read: that row must be the request as the ledger holds it at that moment, whatever
the conversation. The check compares it with a fresh read at every such write."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ai_world, pharmacy

from concierge.desk import RequestDesk
from concierge.ledger import RequestRow

CLIENT = "+250780000601"
AREAS = ("Kimironko", "Remera", "Nyamirambo")
REPLIES = ("yes 3000", "1. yes 2. 3,500 3. Kimironko market", "no sorry", "busy now", "yes available 4000")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(areas=st.lists(st.sampled_from(AREAS), min_size=1, max_size=5),
       need=st.sampled_from(["I need Amoxicillin 500mg near Kimironko", "Amoxicillin please", "I need something"]),
       replies=st.lists(st.sampled_from(REPLIES), max_size=5), seed=st.integers(0, 30))
def test_a_held_row_is_the_request_as_the_ledger_holds_it(monkeypatch, areas, need, replies, seed):
    vendors = [pharmacy(f"ph_{i}", f"+2507885006{i:02d}", area=a) for i, a in enumerate(areas)]
    world = ai_world(vendors, seed=seed)
    real = RequestDesk.update_row
    held: list[str] = []

    def checked(self: RequestDesk, request: RequestRow, now: float, **changes: Any) -> dict[str, Any]:
        assert self.ledger.get_request(request.id) == request, changes
        held.append(request.id)
        return real(self, request, now, **changes)

    monkeypatch.setattr(RequestDesk, "update_row", checked)
    try:
        world.message_from(CLIENT, kind="text", text=need)
        world.advance(30)
        for vendor, text in zip(vendors, replies, strict=False):
            world.message_from(vendor.phone, kind="text", text=text)
            world.advance(20)
        world.message_from(CLIENT, kind="text", text="Kimironko")
        world.advance(900)
        assert held  # every path above writes through a held row at least once (the context pack)
    finally:
        world.close()
