"""The invariants of SCENARIO_FORMAT.md, checked after every step of every scenario.

Each one reads the ground truth — what the WhatsApp fake actually delivered, what the call provider
actually placed — and the ledger, never the concierge's own opinion of what it did. Each returns
human-readable violations; the runner fails the scenario at the first step that produces one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from concierge.lifecycle import is_allowed

from ..world import SimWorld


@dataclass(frozen=True)
class Context:
    client_phones: tuple[str, ...]


def _sent_rows(world: SimWorld) -> list[tuple[Any, dict[str, Any] | None]]:
    """Every message the fake delivered, with the ledger's outbound row for its idempotency key."""
    out = []
    for msg in world.whatsapp.sent:
        row = world.ledger.get_outbound(msg.callback_data) if msg.callback_data else None
        out.append((msg, row))
    return out


def no_vendor_twice(world: SimWorld, ctx: Context) -> list[str]:
    counts: Counter[tuple[str, str]] = Counter()
    for msg, row in _sent_rows(world):
        if row and row["party"] == "vendor" and row["purpose"] == "outreach" and row["request_id"]:
            counts[(row["request_id"], msg.to)] += 1
    return [f"vendor {to[-3:]} messaged {n} times for {rid}" for (rid, to), n in counts.items() if n > 1]


def batch_and_request_caps(world: SimWorld, ctx: Context) -> list[str]:
    caps = world.config.caps
    problems = []
    per_batch: Counter[tuple[str, int]] = Counter()
    per_request: Counter[str] = Counter()
    for o in world.ledger.outreach():
        if o.status == "queued" and o.sent_at is None:
            pass
        per_batch[(o.request_id, o.batch)] += 1
        per_request[o.request_id] += 1
        if o.batch > caps.max_batches:
            problems.append(f"{o.request_id} sent batch {o.batch} (max {caps.max_batches})")
    problems += [f"{rid} batch {b} has {n} vendors (max {caps.batch_size_max})"
                 for (rid, b), n in per_batch.items() if n > caps.batch_size_max]
    problems += [f"{rid} contacted {n} vendors (cap {caps.max_vendors_per_request})"
                 for rid, n in per_request.items() if n > caps.max_vendors_per_request]
    return sorted(set(problems))


def no_call_without_consent(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    scope_covers = {"call_vendor": {"vendor"}, "call_client": {"client"}, "either": {"vendor", "client"}}
    placed = getattr(world.calls, "placed", None)
    rows = [dict(r) for r in world.ledger.db.execute("SELECT * FROM calls").fetchall()]
    if placed is not None:
        # The provider's own record is the ground truth: a call the ledger does not know is unsolicited.
        known = {r["request_id"] for r in rows}
        problems += [f"call to {c['to'][-3:]} placed with no ledger record" for c in placed
                     if c.get("request_id") not in known]
    for call in rows:
        consent = world.ledger.db.execute(
            "SELECT * FROM consents WHERE request_id=?", (call["request_id"],)
        ).fetchone()
        if consent is None or consent["granted_at"] is None:
            problems.append(f"call {call['id']} without granted consent")
            continue
        if not (consent["granted_at"] <= call["started_at"] < (consent["expires_at"] or 0)):
            problems.append(f"call {call['id']} outside the consent's validity")
        if call["target"] not in scope_covers.get(consent["scope"] or "", set()):
            problems.append(f"call {call['id']} to a {call['target']} outside scope {consent['scope']}")
    return problems


def no_message_to_opted_out(world: SimWorld, ctx: Context) -> list[str]:
    opted = {
        r["vendor_id"]: r["opted_out_at"]
        for r in world.ledger.db.execute("SELECT * FROM vendor_status WHERE opted_out=1").fetchall()
    }
    problems = []
    for msg, row in _sent_rows(world):
        vendor = world.directory.by_phone(msg.to)
        if vendor is None:
            continue
        purpose = row["purpose"] if row else "unknown"
        if purpose == "stop_confirmation":
            continue
        if vendor.opted_out and vendor.id not in opted:
            problems.append(f"{purpose} message to vendor {vendor.id}, opted out in the directory")
        elif vendor.id in opted and msg.at > opted[vendor.id]:
            problems.append(f"{purpose} message to vendor {vendor.id} after it opted out")
    return problems


def client_phone_not_in_vendor_text(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    patterns = [re.compile(r"\D*".join(p.lstrip("+")[-9:])) for p in ctx.client_phones]
    for msg in world.whatsapp.sent:
        if world.directory.by_phone(msg.to) is None:
            continue
        digits_text = msg.text or ""
        for phone, pattern in zip(ctx.client_phones, patterns, strict=True):
            if pattern.search(digits_text):
                problems.append(f"client phone ...{phone[-3:]} appears in a message to vendor {msg.to[-3:]}")
    return problems


def nothing_after_client_stop(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    for event in world.ledger.audit_events("client.cancelled"):
        rid, at = event["request_id"], event["at"]
        for row in world.ledger.outbound(party="client"):
            if row["request_id"] == rid and row["status"] == "sent" and row["sent_at"] is not None \
                    and row["sent_at"] >= at and row["purpose"] != "cancel_confirmation":
                problems.append(f"{row['purpose']} sent to the client of {rid} after STOP")
        confirmations = [r for r in world.ledger.outbound(party="client")
                         if r["request_id"] == rid and r["purpose"] == "cancel_confirmation"]
        if len(confirmations) > 1:
            problems.append(f"{len(confirmations)} STOP confirmations for {rid}")
    return problems


def nothing_after_handoff(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    for change in world.ledger.state_changes():
        if change["dest"] != "handed_off":
            continue
        rid, at = change["request_id"], change["at"]
        for o in world.ledger.outreach(request_id=rid):
            if o.sent_at is not None and o.sent_at > at:
                problems.append(f"outreach to {o.vendor_id} after {rid} was handed off")
        for call in world.ledger.db.execute(
            "SELECT * FROM calls WHERE request_id=? AND started_at>?", (rid, at)
        ).fetchall():
            problems.append(f"call {call['id']} after {rid} was handed off")
    return problems


def progress_updates_capped(world: SimWorld, ctx: Context) -> list[str]:
    counts = Counter(
        r["request_id"] for r in world.ledger.outbound(party="client") if r["purpose"] == "progress"
    )
    cap = world.config.caps.progress_updates_max
    return [f"{rid} sent {n} progress updates (max {cap})" for rid, n in counts.items() if n > cap]


def inbound_recorded_once(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    for item in world.delivered:
        if item.result is None or not item.result.accepted or not item.wamid:
            continue
        n = world.ledger.inbound_count(item.wamid)
        if n != 1:
            problems.append(f"inbound {item.wamid[-12:]} recorded {n} times")
    return sorted(set(problems))


def transitions_allowed(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    for change in world.ledger.state_changes():
        if change["source"] is None:
            if change["dest"] != "collecting_requirements":
                problems.append(f"{change['request_id']} opened in {change['dest']}")
            continue
        if not is_allowed(change["source"], change["dest"]):
            problems.append(f"{change['request_id']}: {change['source']} -> {change['dest']} is not allowed")
    return problems


def outbound_audited(world: SimWorld, ctx: Context) -> list[str]:
    audited = {e["data"].get("idem_key") for e in world.ledger.audit_events("message.sent")}
    return [
        f"message {msg.wamid[-12:]} to ...{msg.to[-3:]} has no message.sent audit event"
        for msg in world.whatsapp.sent
        if msg.callback_data not in audited
    ]


def logs_masked(world: SimWorld, ctx: Context) -> list[str]:
    return [f"unmasked phone number in log: {line[:80]!r}" for line in world.unmasked_phone_lines()]


INVARIANTS: tuple[tuple[str, Callable[[SimWorld, Context], list[str]]], ...] = (
    ("no_vendor_messaged_twice", no_vendor_twice),
    ("outreach_caps", batch_and_request_caps),
    ("no_call_without_consent", no_call_without_consent),
    ("no_message_to_opted_out_vendor", no_message_to_opted_out),
    ("client_phone_never_in_vendor_text", client_phone_not_in_vendor_text),
    ("nothing_after_client_stop", nothing_after_client_stop),
    ("no_outreach_or_call_after_handoff", nothing_after_handoff),
    ("progress_updates_capped", progress_updates_capped),
    ("inbound_recorded_once", inbound_recorded_once),
    ("transitions_allowed", transitions_allowed),
    ("outbound_audited", outbound_audited),
    ("logs_masked", logs_masked),
)


def check_all(world: SimWorld, ctx: Context) -> list[tuple[str, str]]:
    """Every violation now, as (invariant name, message)."""
    out = []
    for name, check in INVARIANTS:
        for problem in check(world, ctx):
            out.append((name, problem))
    return out
