"""Random lives of a client, vendors and the call provider: no sequence ever yields an unsolicited call.

Hypothesis drives a real SimWorld with random needs (urgent or not), consent answers in three
languages and as buttons, "call me", STOP, vendor replies (clear, ambiguous, busy), time jumps across
the 3-minute trigger, the 10-minute limits and the 24-hour consent expiry, provider faults and
status callbacks. After every step a tiny reference model, built only from what the test itself
sent and what the fakes delivered, must agree that every call the provider placed was solicited.
"""

from __future__ import annotations

import os

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from concierge import calling
from concierge.flags import Flags
from concierge.geo import lookup_place
from concierge.policy import Caps
from concierge.ports import Vendor
from concierge.texts import TEXTS
from simulators.invariants import no_call_without_consent, nothing_after_handoff
from simulators.world import SimWorld, WorldConfig

CLIENT = "+250780000009"
_PLACE = lookup_place("Kimironko")
assert _PLACE is not None
VENDORS = [
    Vendor(id=f"v{i}", name=f"Pharmacy {i}", phone=f"+25078800010{i}", categories=("pharmacy",),
           lat=_PLACE.lat, lng=_PLACE.lng, area="Kimironko", rating=4.0, avg_response_minutes=5)
    for i in range(1, 5)
]
VENDOR_PHONES = {v.phone for v in VENDORS}
PROMPT_SCOPES = {TEXTS[key][lang]: scope
                 for key, scope in (("consent_prompt_vendor", "call_vendor"), ("consent_prompt_client", "call_client"),
                                    ("consent_prompt_either", "either"))
                 for lang in ("en", "fr", "rw")}
COVERS = {"call_vendor": {"vendor"}, "call_client": {"client"}, "either": {"vendor", "client"}}
YES_WORDS = ("YES", "yes", "Oui", "YEGO")
NO_WORDS = ("NO", "non", "Oya")
URGENT_NEED = "I need Amoxicillin 500mg urgently near Kimironko"
PLAIN_NEED = "I need Amoxicillin 500mg near Kimironko"
CLIENT_TEXTS = ("YES", "call me", "NO", URGENT_NEED, "Oui", "call me", "STOP", "YEGO", "appelez-moi", "yes", "non",
                PLAIN_NEED, "Oya", "yes", "please call me now", "YES", "call me, I need syrup")
# Interesting values first: Hypothesis tries a list's first elements most (they are "simplest").
REPLIES = ("maybe, let me check", "1. yes 2. 3,500 3. Kimironko market", "I think so", "no, out of stock",
           "busy, try later", "peut-être")
GAPS = st.sampled_from([0.0, 30.0, 60.0, 100.0, 180.0])
EXAMPLES = 400 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 50


class CallingLife(RuleBasedStateMachine):
    world: SimWorld
    CALLING_ON = True

    @initialize(ttl=st.sampled_from([30.0, 90.0, 150.0, 24 * 3600.0]), cooldown=st.sampled_from([60.0, 600.0]),
                urgent=st.sampled_from([True, False]))
    def start(self, ttl: float, cooldown: float, urgent: bool) -> None:
        calling_on = self.CALLING_ON
        flags = Flags.from_mapping({"FEATURE_AI_CONCIERGE": "true",
                                    "FEATURE_AI_CONCIERGE_CALLING": "true" if calling_on else "false"})
        caps = Caps(consent_ttl_s=ttl, call_cooldown_s=cooldown)
        self.world = SimWorld(WorldConfig(vendors=VENDORS, flags=flags, caps=caps,
                                          clients={CLIENT: ("Kimironko", "en")}, seed=5))
        self.calling_on = calling_on
        self.ttl = ttl
        self.cooldown = cooldown
        self.step = 0
        self.events: list[tuple[int, str, object, float]] = []  # (step, kind, detail, time)
        self.seen_sent = 0
        self.seen_placed = 0
        self.need(urgent)  # a conversation starts with a need; later ones may open new requests

    def teardown(self) -> None:
        if hasattr(self, "world"):
            self.world.close()

    # --- what the outside world does ------------------------------------------------------------
    def _act(self, kind: str | None = None, detail: object = None, gap: float = 0.0) -> None:
        if gap:  # people take their time: most moves come a little after the previous one
            self.world.advance(gap)
            self._observe()  # what the wait caused (a prompt, a call) happened before this move
        self.step += 1
        if kind is not None:  # the client's own words come before anything they cause
            self.events.append((self.step, kind, detail, self.world.clock.now()))

    def need(self, urgent: bool) -> None:
        self._act()
        self.world.message_from(CLIENT, kind="text", text=URGENT_NEED if urgent else PLAIN_NEED)

    @rule(text=st.sampled_from(CLIENT_TEXTS), gap=GAPS)
    def client_says(self, text: str, gap: float) -> None:
        """One rule for everything the client types (few rules: each example then goes deeper)."""
        answer = True if text in YES_WORDS else False if text in NO_WORDS else None
        self._act("answer" if answer is not None else None, answer, gap)
        self.world.message_from(CLIENT, kind="text", text=text)

    @rule(yes=st.booleans(), gap=GAPS)
    def button(self, yes: bool, gap: float) -> None:
        self._act("answer", yes, gap)
        self.world.message_from(CLIENT, kind="interactive", button_id="consent_yes" if yes else "consent_no",
                                button_title="Yes" if yes else "No")

    @rule(vendor=st.sampled_from(VENDORS), text=st.sampled_from(REPLIES), gap=GAPS)
    def vendor_reply(self, vendor: Vendor, text: str, gap: float) -> None:
        self._act(gap=gap)
        self.world.message_from(vendor.phone, kind="text", text=text)

    @rule(seconds=st.sampled_from([180, 60, 30, 1, 120, 179, 300, 600, 24 * 3600]))
    def advance(self, seconds: int) -> None:
        self._act()
        self.world.advance(seconds)

    @rule(status=st.sampled_from(["ringing", "completed", "failed", "no_answer", "busy"]))
    def callback(self, status: str) -> None:
        self._act()
        if self.world.calls.placed:
            self.world.calls.callback(status)

    @rule(kind=st.sampled_from(["error", "no_callback"]))
    def provider_fault(self, kind: str) -> None:
        self._act()
        self.world.calls.inject_fault(kind)

    # --- the reference model ------------------------------------------------------------------
    def _observe(self) -> None:
        sent = self.world.whatsapp.sent
        for msg in sent[self.seen_sent:]:
            scope = PROMPT_SCOPES.get(msg.text)
            if msg.to == CLIENT and scope is not None:
                self.events.append((self.step, "prompt", scope, msg.at))
        self.seen_sent = len(sent)
        placed = self.world.calls.placed
        for call in placed[self.seen_placed:]:
            self.events.append((self.step, "call", call, call["at"]))
        self.seen_placed = len(placed)

    def _solicited(self, index: int) -> str | None:
        """Why the call at ``events[index]`` was unsolicited, or None: the client must have said YES
        (in an earlier step) to the latest consent prompt before it, within the TTL, covering whom."""
        step, _, call, at = self.events[index]
        target = "vendor" if call["to"] in VENDOR_PHONES else "client"
        prompts = [i for i in range(index) if self.events[i][1] == "prompt" and self.events[i][0] < step]
        if not prompts:
            return "no consent prompt was ever delivered"
        p_step, _, scope, _ = self.events[prompts[-1]]
        if target not in COVERS[scope]:
            return f"a {target} call under a {scope} prompt"
        yes = [e for e in self.events[prompts[-1]:index]
               if e[1] == "answer" and e[2] is True and p_step < e[0] <= step]
        if not yes:
            return "the client never said YES to the latest prompt"
        if not any(e[3] <= at < e[3] + self.ttl for e in yes):
            return "the client's YES had expired"
        return None

    def _request_was_live(self, call: dict) -> bool:
        """Placed before its request was handed off, closed or in error (audit order, since one
        virtual instant can hold both a call and a state change)."""
        ledger = self.world.ledger
        placing = [e["seq"] for e in ledger.audit_events("call.placing", call["request_id"])
                   if e["data"]["call_id"] == call["idempotency_key"]]
        ended = [e["seq"] for e in ledger.audit_events("state.changed", call["request_id"])
                 if e["data"]["dest"] in ("handed_off", "closed", "error")]
        return bool(placing) and (not ended or placing[0] < min(ended))

    @invariant()
    def no_unsolicited_call(self) -> None:
        if not hasattr(self, "world"):
            return
        self._observe()
        calls = [i for i, e in enumerate(self.events) if e[1] == "call"]
        if not self.calling_on:
            assert not any(e[1] == "prompt" for e in self.events), "consent asked while calling is off"
        if calls:
            assert self.calling_on, "a call was placed while calling is off"
            event("a call was placed")
        if any(e[1] == "prompt" for e in self.events):
            event("a consent prompt was delivered")
        for i in calls:
            problem = self._solicited(i)
            assert problem is None, f"unsolicited call to ...{self.events[i][2]['to'][-3:]}: {problem}"
        by_request: dict[str, list[float]] = {}
        for i in calls:
            by_request.setdefault(self.events[i][2]["request_id"], []).append(self.events[i][3])
        for times in by_request.values():
            assert all(b - a >= self.cooldown for a, b in zip(times, times[1:], strict=False)), "two calls inside the cooldown"
        for i in calls:
            assert self._request_was_live(self.events[i][2]), "a call on a request that had already ended"
        assert no_call_without_consent(self.world, None) == []
        assert [p for p in nothing_after_handoff(self.world, None) if "call" in p] == []


    def _model_allows(self, request_id: str, target: str, now: float) -> bool:
        """The tiny reference model: may anyone call ``target`` for this request right now?"""
        if not self.calling_on:
            return False
        request = self.world.ledger.get_request(request_id)
        if request is None or request.state in ("handed_off", "closed", "error"):
            return False
        prompts = [i for i, e in enumerate(self.events) if e[1] == "prompt"]
        if not prompts or target not in COVERS[self.events[prompts[-1]][2]]:
            return False
        p_step = self.events[prompts[-1]][0]
        if not any(e[1] == "answer" and e[2] is True and e[0] > p_step and now < e[3] + self.ttl
                   for e in self.events[prompts[-1]:]):
            return False
        return all(now - c["at"] >= self.cooldown for c in self.world.calls.placed if c["request_id"] == request_id)

    @invariant()
    def gates_agree_with_the_model(self) -> None:
        """Probe the one door at every step: whenever the model says no call may happen, the gate
        must refuse too (it may refuse more: a YES that answered another question is no consent)."""
        if not hasattr(self, "world"):
            return
        self._observe()
        request = self.world.ledger.latest_request(CLIENT)
        if request is None:
            return
        now = self.world.clock.now()
        for target in ("vendor", "client"):
            if not self._model_allows(request.id, target, now):
                gate = calling.refusal_gate(self.world.concierge, request.id, target, now)
                assert gate is not None, f"the gate would let a {target} call through that the model forbids"


class CallingOffLife(CallingLife):
    """The same lives with calling off: not one call, whatever the client answers."""

    CALLING_ON = False


CallingLife.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None)
CallingOffLife.TestCase.settings = settings(max_examples=EXAMPLES // 3, stateful_step_count=25, deadline=None)
TestCallingLife = CallingLife.TestCase
TestCallingOffLife = CallingOffLife.TestCase
