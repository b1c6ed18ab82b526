"""Every wait on the client ends: the idle timer is armed whenever a request comes back to
collecting_requirements, and an older timer never cuts a newer wait short."""

from __future__ import annotations

from support import pharmacy

from concierge.flags import Flags
from concierge.lifecycle import RequestState as S
from simulators.world import SimWorld, WorldConfig

CLIENT = "+250780000001"
MINUTE = 60


def make_world() -> SimWorld:
    return SimWorld(WorldConfig(vendors=[pharmacy("pharma_plus", "+250788000101")],
                                flags=Flags.from_mapping({"FEATURE_AI_CONCIERGE": "true"}),
                                clients={CLIENT: ("Kimironko", "en")}, seed=5))


def test_an_older_idle_timer_does_not_cut_a_newer_wait_short():
    world = make_world()
    try:
        world.message_from(CLIENT, kind="text", text="I need a phone charger")  # asks where: waits
        rid = world.ledger.latest_request(CLIENT).id
        assert world.concierge.request(rid).state == S.COLLECTING_REQUIREMENTS.value
        world.advance(20 * MINUTE)
        # The system (not the client) takes the request away from the wait and brings it back at +25.
        now = world.clock.now()
        assert world.concierge.move(rid, S.VENDOR_OUTREACH, now, "test")
        world.clock.advance(5 * MINUTE)
        assert world.concierge.move(rid, S.AWAITING_VENDOR_REPLIES, world.clock.now(), "test")
        assert world.concierge.move(rid, S.COLLECTING_REQUIREMENTS, world.clock.now(), "widen_search")
        world.advance(10 * MINUTE)  # +35: the first timer (due +30) has fired and must not close it
        assert world.concierge.request(rid).state == S.COLLECTING_REQUIREMENTS.value
        world.advance(20 * MINUTE)  # +55: 30 minutes after the request came back to the wait
        assert world.concierge.request(rid).state == S.CLOSED.value
        assert len(world.ledger.audit_events("request.idle_closed")) == 1
    finally:
        world.close()
