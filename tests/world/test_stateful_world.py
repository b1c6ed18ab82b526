"""Random interleavings of several clients and vendors: every invariant holds after every step.

A hypothesis ``RuleBasedStateMachine`` drives one SimWorld: client messages (needs, places, STOP,
cancel, bursts that trip the rate limit), vendor replies (stock, prices, STOP, busy), Meta
redelivering any earlier webhook, WhatsApp send faults (5xx, 429 with Retry-After, timeouts, 4xx),
repeated brain plans, clock advances, and the concierge's process dying (between steps, or inside
a send, before or after Meta accepted it) and restarting from the ledger. After each step the scenario invariants run, plus the
rules that are not scenario invariants but must hold at every instant.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from concierge.flags import Flags
from concierge.policy import Caps
from concierge.ports import Vendor
from simulators.invariants import Context, check_all
from simulators.world import CrashingTransport, ProcessDied, SimWorld, WorldConfig

CLIENTS = ("+250780000001", "+250780000002", "+250781000001")  # the last two share a mask
PHARMACIES = ("pharma_a", "pharma_b", "pharma_c", "pharma_d", "pharma_e", "pharma_f", "pharma_g")


def _vendors() -> list[Vendor]:
    out = [
        Vendor(id=vid, name=vid.replace("_", " ").title(), phone=f"+25078800010{i}",
               categories=("pharmacy",), lat=-1.9490 + i * 0.001, lng=30.1260, area="Kimironko",
               rating=4.0, avg_response_minutes=5.0 + i)
        for i, vid in enumerate(PHARMACIES)
    ]
    out.append(Vendor(id="phone_shop", name="Phone Shop", phone="+250788000201",
                      categories=("electronics",), lat=-1.9530, lng=30.1120, area="Remera",
                      rating=4.2, avg_response_minutes=6.0))
    return out


VENDORS = _vendors()
CLIENT_TEXTS = (
    "I need paracetamol 500mg near Kimironko",
    "I need Amoxicillin 500mg, 21 capsules, near Kimironko",
    "I need paracetamol",
    "Kimironko",
    "iPhone 12 case near Remera",
    "hello?",
    "STOP",
    "cancel please",
    "annuler",
)
VENDOR_TEXTS = (
    "1. yes 2. 3,500 3. Kimironko market",
    "yes available 4000",
    "Oui disponible, 2500 RWF",
    "no, out of stock",
    "STOP",
    "unsubscribe",
    "hagarika",
    "busy, try later",
    "maybe",
)
PLAN = {
    "type": "vendor_outreach_plan", "category": "pharmacy", "normalized_need": "paracetamol 500mg",
    "batch_size": 5, "vendor_questions": ["In stock?"], "calling_allowed": False,
    "stop_conditions": {"max_vendors": 15, "min_replies": 1},
}
EXAMPLES = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 200


class ConciergeWorld(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        caps = Caps(max_vendors_per_request=10)
        self.world = SimWorld(WorldConfig(
            vendors=VENDORS, flags=Flags.from_mapping({"FEATURE_AI_CONCIERGE": True}), caps=caps,
            clients={CLIENTS[0]: ("Kimironko", "en"), CLIENTS[1]: (None, "fr")},
        ))
        self.ctx = Context(client_phones=CLIENTS)
        self.burst_sent = False

    def teardown(self) -> None:
        self.world.close()

    @rule(client=st.sampled_from(CLIENTS), text=st.sampled_from(CLIENT_TEXTS))
    def client_message(self, client: str, text: str) -> None:
        self.world.message_from(client, kind="text", text=text)

    # One burst per run at most: it is the costliest step, and one is enough to trip the limit.
    @precondition(lambda self: not self.burst_sent)
    @rule(client=st.sampled_from(CLIENTS), n=st.integers(min_value=19, max_value=23))
    def client_burst(self, client: str, n: int) -> None:
        self.burst_sent = True
        for i in range(n):
            self.world.message_from(client, kind="text", text=f"hello {i}")

    @rule(vendor=st.sampled_from(VENDORS), text=st.sampled_from(VENDOR_TEXTS))
    def vendor_message(self, vendor: Vendor, text: str) -> None:
        self.world.message_from(vendor.phone, kind="text", text=text)

    # Replies mostly come from vendors that were asked: that is what drives stop conditions.
    @precondition(lambda self: bool(self.world.ledger.outreach()))
    @rule(index=st.integers(min_value=0), text=st.sampled_from(VENDOR_TEXTS[:4] * 3 + VENDOR_TEXTS[4:]))
    def asked_vendor_replies(self, index: int, text: str) -> None:
        asked = [o.vendor_id for o in self.world.ledger.outreach()]
        vendor = self.world.directory.by_id(asked[index % len(asked)])
        self.world.message_from(vendor.phone, kind="text", text=text)

    @precondition(lambda self: bool(self.world.delivered))
    @rule(index=st.integers(min_value=0))
    def redeliver(self, index: int) -> None:
        delivered = self.world.delivered
        self.world.redeliver(delivered[index % len(delivered)])

    @rule(status=st.sampled_from((500, 503, 429, 400)), times=st.integers(1, 6),
          retry_after=st.sampled_from((None, 1, 30)))
    def send_fault(self, status: int, times: int, retry_after: int | None) -> None:
        self.world.whatsapp.inject_fault("whatsapp_send", status=status, times=times,
                                         retry_after=retry_after)

    @rule(times=st.integers(1, 3), delivered=st.booleans())
    def send_timeout(self, times: int, delivered: bool) -> None:
        self.world.whatsapp.inject_fault("whatsapp_send", kind="timeout", times=times,
                                         delivered_on_timeout=delivered)

    @rule()
    def brain_proposes_plan_again(self) -> None:
        self.world.brain.push(dict(PLAN))

    @rule()
    def restart(self) -> None:
        self.world.restart()

    @rule(client=st.sampled_from(CLIENTS), text=st.sampled_from(CLIENT_TEXTS), accepted=st.booleans())
    def crash_inside_the_next_send(self, client: str, text: str, accepted: bool) -> None:
        transport = self.world.concierge.ports.transport
        once = iter(["after" if accepted else "before"])  # the next send dies, later ones go out
        self.world.concierge.ports.transport = CrashingTransport(transport, lambda kind: next(once, None))
        try:
            self.world.message_from(client, kind="text", text=text)
        except ProcessDied:
            self.world.concierge.ports.transport = transport
            self.world.restart()
        else:
            self.world.concierge.ports.transport = transport

    @rule(seconds=st.sampled_from((1, 2, 15, 60, 119, 120, 240, 300, 600, 7200, 86400)))
    def advance(self, seconds: int) -> None:
        self.world.advance(float(seconds))

    @invariant()
    def scenario_invariants_hold(self) -> None:
        assert check_all(self.world, self.ctx) == []

    @invariant()
    def a_retry_never_delivers_twice(self) -> None:
        keys = Counter(m.callback_data for m in self.world.whatsapp.sent)
        assert [k for k, n in keys.items() if n > 1] == []

    @invariant()
    def no_vendor_above_its_daily_cap_or_gap(self) -> None:
        caps = self.world.config.caps
        for vendor in VENDORS:
            sent = sorted(o.sent_at for o in self.world.ledger.outreach(vendor_id=vendor.id) if o.sent_at)
            for i, at in enumerate(sent):
                window = [t for t in sent[: i + 1] if t > at - 86400]
                assert len(window) <= caps.vendor_daily_max
                if i:
                    assert at - sent[i - 1] >= caps.vendor_min_gap_s - 1e-6, vendor.id

    @invariant()
    def budgets_and_updates_hold(self) -> None:
        caps = self.world.config.caps
        for request in self.world.ledger.requests():
            assert int(request.data.get("brain_calls", 0)) <= caps.brain_calls_max
            updates = request.data.get("progress_updates") or []
            assert len(updates) <= caps.progress_updates_max
            texts = [(u["text"], u["at"]) for u in updates]
            for i, (text, at) in enumerate(texts):
                assert all(t != text or at - a >= caps.progress_repeat_window_s for t, a in texts[:i])

    @invariant()
    def logs_have_no_errors(self) -> None:
        assert [r.getMessage() for r in self.world.logs.records if r.levelname in ("ERROR", "CRITICAL")] == []


ConciergeWorld.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=25)
TestConciergeWorld = ConciergeWorld.TestCase
