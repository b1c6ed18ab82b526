"""The reply summary shown to the brain and ranked by the closeout reuses rows its caller read in
the same handling (the request's row, its outreach rows): what it answers must be what a fresh
read answers at that moment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import ai_world, pharmacy

from simulators.world import SimWorld

CLIENT = "+250780000301"
VENDORS = [pharmacy(f"kim_{i}", f"+25078850010{i}") for i in range(1, 4)]


@pytest.fixture
def asked() -> Iterator[tuple[SimWorld, str]]:
    """A world whose client's need has gone out to the three vendors, and the request's id."""
    world = ai_world(VENDORS, seed=7)
    try:
        world.message_from(CLIENT, kind="text", text="I need Amoxicillin 500mg near Kimironko")
        world.advance(30)
        row = world.ledger.latest_request(CLIENT)
        assert row is not None
        yield world, row.id
    finally:
        world.close()


def test_the_pack_shows_every_reply_read_fresh(asked):
    world, rid = asked
    flow = world.concierge.outreach
    compared = []
    for i, text in enumerate(("1. yes 2. 3,500 3. Kimironko market", "yes 3000", "yes available 4000")):
        packs = len(world.brain.packs)
        world.message_from(VENDORS[i].phone, kind="text", text=text)
        if len(world.brain.packs) > packs:  # this reply set off a brain call
            replies = world.brain.packs[packs]["outreach"]["replies"]
            # Nothing written to replies or outreach since: the ledger read afresh agrees.
            assert replies == flow.replies_summary(rid)
            compared.append(len(replies))
    assert compared and compared[0] >= 2


def test_rows_passed_in_are_the_ones_used(asked):
    world, rid = asked
    flow = world.concierge.outreach
    world.message_from(VENDORS[0].phone, kind="text", text="yes 3000")
    request = world.ledger.get_request(rid)
    rows = world.ledger.outreach(request_id=rid)
    fresh = flow.replies_summary(rid)
    assert flow.replies_summary(rid, request=request, outreach_rows=rows) == fresh
    # Handed no outreach rows, each reply is timed from itself: the rows handed in are used.
    blind = flow.replies_summary(rid, request=request, outreach_rows=[])
    assert [r["replied_after_s"] for r in blind] == [0.0]
    assert fresh[0]["replied_after_s"] > 0
