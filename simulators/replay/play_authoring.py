"""How the runner plays the authoring steps (`ocr_result:`, `call_event:`), seeds `initial_state:`,
and turns a verdict into xfail/xpass/skip.

A mixin of ``runner.ScenarioPlay``: it shares the play's world, clients and last client.
"""

from __future__ import annotations

from typing import Any

from .canned_ocr import canned_ocr, canned_page
from .model import Scenario, Step
from .vocabulary_authoring import CALL_EVENTS


class AuthoringSteps:
    world: Any
    clients: dict[str, str]
    last_client: str | None

    def _ocr_result(self, step: Step) -> None:
        canned_ocr(self.world).queue.append(canned_page(step.args["ocr_result"]))

    def _include(self, step: Step) -> None:  # pragma: no cover - the loader expands every include
        raise AssertionError("include steps are expanded by the loader")

    def _call_event(self, step: Step) -> list[Any]:
        from .runner import Failure

        event = step.args["call_event"]
        how, what = CALL_EVENTS[event]
        if how == "provider":
            calls = self.world.calls
            try:
                calls.callback(what)
            except (LookupError, ValueError) as exc:  # e.g. no call was placed: the scenario's claim fails
                return [Failure(step.index, step.line, "call_event", f"{event}: {exc}")]
            return []
        client_id = step.args.get("by") or self.last_client
        if client_id is None:
            return [Failure(step.index, step.line, "call_event", f"{event}: no client has spoken yet; add by: CLIENT")]
        self.last_client = client_id
        phone = self.clients[client_id]
        if how == "client":
            item = self.world.message_from(phone, kind="text", text=what)
        else:  # a tap on the consent prompt's button, with the title the prompt offered
            title = next((t for m in reversed(self.world.whatsapp.sent) if m.to == phone
                          for b, t in m.buttons if b == what), None)
            if title is None:
                return [Failure(step.index, step.line, "call_event",
                                f"{event}: the client was never sent a consent prompt to tap")]
            item = self.world.message_from(phone, kind="interactive", button_id=what, button_title=title)
        self.last_delivered = item
        return []


    def _quoted_outreach(self, vendor_phone: str, client_id: str) -> str | None:
        """The wamid of the latest message this vendor got for the client's latest request (None:
        no such message, so the reply quotes nothing and the concierge matches it as it can)."""
        request = self.world.ledger.latest_request(self.clients[client_id])
        for msg in reversed(self.world.whatsapp.sent):
            row = self.world.ledger.get_outbound(msg.callback_data) if msg.callback_data else None
            if msg.to == vendor_phone and row and request and row["request_id"] == request.id:
                return msg.wamid
        return None


def seed_world(play: Any, scenario: Scenario) -> list[Any]:
    """Apply `initial_state:` before the first step; a seed the invariants refuse fails the scenario
    at the `initial_state:` line (the loader already refused every seed it can tell is impossible)."""
    if not scenario.initial_state:
        return []
    from ..invariants import check_all
    from .runner import Failure
    from .seeding import apply_seed

    line = scenario.initial_state_line
    refused = apply_seed(play.world, scenario, play.clients, play.vendors)
    play.last_client = scenario.initial_state.get("client") or play.last_client
    return [Failure(0, line, "initial_state", message) for message in refused] + [
        Failure(0, line, f"initial_state invariant {name}", message, invariant=name)
        for name, message in check_all(play.world, play.context)]


def outcome_of(scenario: Scenario, verdict: str) -> str:
    """An expected failure that fails is `xfail`; one that passes is `xpass` (reported, so the
    marker can go); an error stays an error."""
    if not scenario.xfail or verdict == "error":
        return verdict
    return "xfail" if verdict == "fail" else "xpass"
