"""What a black-box run can judge, from what, and why not when it cannot.

Three sources: the wire (every message Meta accepted, as the emulator logged it), the target's
ledger read through the probe (capability ``ledger``), and the target's log when the harness started
it. An expectation or invariant whose source is missing is *not observable* (with the reason), never
passed; a step the harness cannot make happen against this target makes the scenario *not runnable*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from concierge.reply_intents import is_client_cancel, is_vendor_stop

from .. import invariants
from ..replay.expectations import Mismatch, _check_count
from ..replay.model import Scenario

WIRE_KEYS = frozenset({"client_received", "vendor_received", "sent"})
NEVER_OBSERVABLE = {"context_pack": "the context pack the brain is given stays inside the target"}
NEEDS_LEDGER = "needs the target's ledger (probe capability 'ledger')"

# The in-process invariants that read only the wire, or the target's log; the rest read its ledger.
WIRE_INVARIANTS = frozenset({"client_phone_never_in_vendor_text", "one_delivery_per_idempotency_key"})
LOG_INVARIANTS = frozenset({"logs_masked"})


def not_runnable(scenario: Scenario, capabilities: frozenset[str], restartable: bool) -> str | None:
    """Why this scenario cannot run against this target, or None."""
    if scenario.initial_state and "seed" not in capabilities:
        return "initial_state: seeding a request needs the concierge's own methods (probe capability 'seed')"
    if scenario.brain is not None:
        return "brain: an HTTP brain behind a cassette is wired into the in-process concierge"
    for step in scenario.steps:
        where = f"step {step.index} (line {step.line})"
        if step.kind == "ocr_result" and "ocr" not in capabilities:
            return f"{where} ocr_result: the target's OCR engine cannot be scripted (probe capability 'ocr')"
        if step.kind in ("call_status", "call_event"):
            return f"{where} {step.kind}: the call provider is inside the target"
        if step.kind == "advance" and "clock" not in capabilities:
            return f"{where} advance: the target's clock cannot be moved (probe capability 'clock')"
        if step.kind == "brain_next" and "brain" not in capabilities:
            return f"{where} brain_next: the target's brain cannot be scripted (probe capability 'brain')"
        if step.kind == "fault":
            target = step.args["fault"]["target"]
            if target == "call":
                return f"{where} fault call: the call provider is inside the target"
            if target == "ocr" and "ocr" not in capabilities:
                return f"{where} fault ocr: the target's OCR engine cannot be scripted (probe capability 'ocr')"
            if target == "brain" and "brain" not in capabilities:
                return f"{where} fault brain: the target's brain cannot be scripted (probe capability 'brain')"
            if target == "process" and not restartable:
                return f"{where} fault process: the harness restarts only a target it started (--target-cmd)"
    for step in scenario.steps:
        if step.kind == "expect" and _expects_a_call(step.args["expect"]):
            return (f"step {step.index} (line {step.line}) expect: a call placed, but the call provider is "
                    "inside the target (the emulator emulates WhatsApp only)")
    return None


def _expects_a_call(expect: dict[str, Any]) -> bool:
    calls, audit = expect.get("calls"), expect.get("audit")
    placed = isinstance(calls, dict) and isinstance(calls.get("count"), int) and calls["count"] >= 1
    started = (isinstance(audit, dict) and audit.get("event") == "call.started"
               and isinstance(audit.get("count", 1), int) and audit.get("count", 1) >= 1)
    return placed or started


def expectation_sources(key: str, value: Any, *, ledger: bool, clients: int) -> str | None:
    """None when ``expect.key`` can be judged here; else why not."""
    if key in NEVER_OBSERVABLE:
        return NEVER_OBSERVABLE[key]
    if key in WIRE_KEYS or ledger:
        return None
    if key == "outreach" and clients == 1:
        return None  # from the messages to vendors (wire_outreach)
    if key == "outreach":
        return "outreach of one of several clients' requests cannot be told apart on the wire; " + NEEDS_LEDGER
    return NEEDS_LEDGER


def wire_outreach(world: Any, value: dict[str, Any]) -> list[Mismatch]:
    """``expect.outreach`` from the messages vendors received (one client in the scenario): each
    vendor messaged counts once; a batch is the vendors first messaged at one instant (a gap of
    under a second on the wall clock)."""
    first: dict[str, float] = {}
    for msg in world.whatsapp.sent:
        vendor = world.directory.by_phone(msg.to)
        if vendor is not None and vendor.id not in first:
            first[vendor.id] = msg.at
    messaged = list(first)
    out: list[Mismatch] = []
    if "count" in value:
        out += _check_count("outreach.count", value["count"], len(messaged))
    if "batches" in value:
        times = sorted(first.values())
        batches = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] >= 1.0)
        out += _check_count("outreach.batches", value["batches"], batches)
    out += [("outreach.vendors", f"expected {v} to be messaged; messaged: {messaged}")
            for v in value.get("vendors", []) or [] if v not in messaged]
    out += [("outreach.not_vendors", f"expected {v} not to be messaged, but it was")
            for v in value.get("not_vendors", []) or [] if v in messaged]
    return out


# --- invariants judged on the wire alone ------------------------------------------------------------
def _after_stop(world: Any, parties: set[str], is_stop: Callable[[str], bool], *, resets: bool):
    """(phone, n, text) for the n-th message sent to a party after its STOP; ``resets``: the party
    writing again starts afresh (a client's new request)."""
    since: dict[str, int] = {}
    for kind, phone, text in wire_timeline(world):
        if phone not in parties:
            continue
        if kind == "in":
            if resets:
                since.pop(phone, None)
            if is_stop(text):
                since.setdefault(phone, 0)
        elif phone in since:
            since[phone] += 1
            yield phone, since[phone], text


def wire_nothing_to_opted_out(world: Any, ctx: Any) -> list[str]:
    """A vendor opted out in the directory gets nothing; one that wrote STOP gets one confirmation,
    then nothing."""
    vendors = {v.phone: v for v in world.config.vendors}
    problems = [f"message to vendor {vendors[m.to].id}, opted out in the directory"
                for m in world.whatsapp.sent if m.to in vendors and vendors[m.to].opted_out]
    problems += [f"message to vendor {vendors[phone].id} after it wrote STOP (beyond one confirmation)"
                 for phone, n, _ in _after_stop(world, set(vendors), is_vendor_stop, resets=False) if n > 1]
    return list(dict.fromkeys(problems))


def wire_nothing_after_client_stop(world: Any, ctx: Any) -> list[str]:
    """After a client's STOP, one confirmation at most until the client writes again."""
    return list(dict.fromkeys(
        f"client ...{phone[-3:]} got {n} messages after STOP: {text[:60]!r}"
        for phone, n, text in _after_stop(world, set(ctx.client_phones), is_client_cancel, resets=True) if n > 1))


def wire_same_message_twice(world: Any, ctx: Any) -> list[str]:
    """A message without an idempotency key sent twice, word for word, to one vendor."""
    seen: dict[tuple[str, str], int] = {}
    for msg in world.whatsapp.sent:
        if msg.callback_data or world.directory.by_phone(msg.to) is None:
            continue
        seen[(msg.to, msg.text)] = seen.get((msg.to, msg.text), 0) + 1
    return [f"vendor ...{to[-3:]} got the same message {n} times: {text[:60]!r}"
            for (to, text), n in seen.items() if n > 1]


WIRE_ONLY: tuple[tuple[str, Callable[[Any, Any], list[str]]], ...] = (
    ("wire_nothing_to_opted_out_vendor", wire_nothing_to_opted_out),
    ("wire_nothing_after_client_stop", wire_nothing_after_client_stop),
    ("wire_same_message_twice", wire_same_message_twice),
)


def wire_timeline(world: Any) -> list[tuple[str, str, str]]:
    """People's messages and the business's in the order they happened: each person's message is
    placed before the first message Meta accepted after it was sent (the harness counts them)."""
    out: list[tuple[str, str, str]] = []
    inbound = sorted(world.inbound, key=lambda m: m["sent_before"])
    i = 0
    for n, msg in enumerate(world.whatsapp.sent):
        while i < len(inbound) and inbound[i]["sent_before"] <= n:
            out.append(("in", inbound[i]["from"], inbound[i]["text"]))
            i += 1
        out.append(("out", msg.to, msg.text or ""))
    out += [("in", m["from"], m["text"]) for m in inbound[i:]]
    return out


def check_invariants(world: Any, ctx: Any, *, ledger: bool, logs: bool) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(violations, not observable: invariant -> why)."""
    found: list[tuple[str, str]] = []
    unseen: dict[str, str] = {}
    for name, check in invariants.INVARIANTS:
        if name in LOG_INVARIANTS and not logs:
            unseen[name] = "the target's log is not the harness's to read (it did not start the target)"
            continue
        if name not in WIRE_INVARIANTS | LOG_INVARIANTS and not ledger:
            unseen[name] = NEEDS_LEDGER
            continue
        found += [(name, p) for p in check(world, ctx)]
    for name, check in WIRE_ONLY:
        found += [(name, p) for p in check(world, ctx)]
    return found, unseen
