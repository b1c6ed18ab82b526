"""The invariants of docs/scenario-format.md, checked after every step of every scenario.

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

from .world import SimWorld


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


_SCOPE_COVERS = {"call_vendor": {"vendor"}, "call_client": {"client"}, "either": {"vendor", "client"}}


def _consent_before(events: list[dict[str, Any]], seq: int | None, at: float) -> tuple[str, str | None, float | None]:
    """The consent (status, scope, granted_at) as it stood just before audit position ``seq``
    (or, without one, at time ``at``), replayed from the append-only audit log."""
    status, scope, granted_at = "not_requested", None, None
    for e in events:
        if (e["seq"] >= seq) if seq is not None else (e["at"] > at):
            break
        kind = e["event"].split(".", 1)[1]
        if kind == "requested":
            status, scope, granted_at = "requested", e["data"].get("scope"), None
        elif kind == "granted":
            status, scope, granted_at = "granted", e["data"].get("scope") or scope, e["at"]
        elif kind in ("denied", "expired"):
            status = kind
    return status, scope, granted_at


def no_call_without_consent(world: SimWorld, ctx: Context) -> list[str]:
    """Every call the provider placed (its own record: the ground truth) and every call the ledger
    started had a granted, unexpired, in-scope consent at that moment, with calling on."""
    problems: list[str] = []
    ttl = world.config.caps.consent_ttl_s
    rows = {r["id"]: r for r in world.ledger.calls()}
    placing = {e["data"].get("call_id"): e["seq"] for e in world.ledger.audit_events("call.placing")}
    attempts: list[tuple[str, str, str, float, int | None]] = []  # label, request, target, at, seq
    placed = getattr(world.calls, "placed", None)
    if placed is not None:
        for call in placed:
            row = rows.get(call.get("idempotency_key")) or rows.get(call.get("call_id"))
            if row is None:
                problems.append(f"call to ...{call['to'][-3:]} placed with no ledger record (unsolicited)")
                continue
            if row["to_phone"] != call["to"] or row["request_id"] != call.get("request_id"):
                problems.append(f"call {row['id']} was placed to another number or request than recorded")
            target = "vendor" if world.directory.by_phone(call["to"]) is not None else "client"
            attempts.append((f"placed call to ...{call['to'][-3:]}", row["request_id"], target, call["at"],
                             placing.get(row["id"])))
    for row in rows.values():
        attempts.append((f"call {row['id']}", row["request_id"], row["target"], row["started_at"],
                         placing.get(row["id"])))
    history: dict[str, list[dict[str, Any]]] = {}
    for label, rid, target, at, seq in attempts:
        request = world.ledger.get_request(rid)
        if request is None or not world.config.flags.calling_on(request.client_phone):
            problems.append(f"{label} while calling is off for that client")
        if rid not in history:
            history[rid] = [e for e in world.ledger.audit_events(request_id=rid)
                            if e["event"].startswith("consent.")]
        status, scope, granted_at = _consent_before(history[rid], seq, at)
        if status != "granted" or granted_at is None:
            problems.append(f"{label} without granted consent (consent {status})")
        elif at >= granted_at + ttl:
            problems.append(f"{label} after the consent expired")
        elif target not in _SCOPE_COVERS.get(scope or "", set()):
            problems.append(f"{label} to a {target} outside consent scope {scope}")
    return list(dict.fromkeys(problems))


def no_message_to_opted_out(world: SimWorld, ctx: Context) -> list[str]:
    opted = world.ledger.opted_out_at()
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


def _after(msg: Any, sent_seq: dict[str | None, int], event: dict[str, Any]) -> bool:
    """Did the fake deliver ``msg`` after the audited ``event``? Order, not time: on the virtual
    clock a STOP and the messages sent just before it share one instant."""
    if msg.at != event["at"]:
        return msg.at > event["at"]
    seq = sent_seq.get(msg.callback_data)
    return seq is None or seq > event["seq"]


def _sent_seq(world: SimWorld) -> dict[str | None, int]:
    return {e["data"].get("idem_key"): e["seq"] for e in world.ledger.audit_events("message.sent")}


def nothing_after_client_stop(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    sent_seq = _sent_seq(world)
    for event in world.ledger.audit_events("client.cancelled"):
        rid = event["request_id"]
        confirmations = 0
        for msg, row in _sent_rows(world):
            if row is None or row["request_id"] != rid or row["party"] != "client":
                continue
            if row["purpose"] == "cancel_confirmation":
                confirmations += 1
            elif _after(msg, sent_seq, event):
                problems.append(f"{row['purpose']} sent to the client of {rid} after STOP")
        if confirmations > 1:
            problems.append(f"{confirmations} STOP confirmations for {rid}")
    return problems


def nothing_after_handoff(world: SimWorld, ctx: Context) -> list[str]:
    problems = []
    sent_seq = _sent_seq(world)
    for event in world.ledger.audit_events("state.changed"):
        if event["data"].get("dest") != "handed_off":
            continue
        rid, at = event["request_id"], event["at"]
        for msg, row in _sent_rows(world):
            if row and row["request_id"] == rid and row["purpose"] == "outreach" \
                    and _after(msg, sent_seq, event):
                problems.append(f"outreach to ...{msg.to[-3:]} after {rid} was handed off")
        for call in world.ledger.calls(rid, started_after=at):
            problems.append(f"call {call['id']} after {rid} was handed off")
    return problems


def progress_updates_capped(world: SimWorld, ctx: Context) -> list[str]:
    counts = Counter(
        r["request_id"] for r in world.ledger.outbound(party="client") if r["purpose"] == "progress"
    )
    cap = world.config.caps.progress_updates_max
    return [f"{rid} sent {n} progress updates (max {cap})" for rid, n in counts.items() if n > cap]


# Status updates the concierge volunteers. A direct answer to what the client just did ("I couldn't
# read that file" for each unreadable photo) is not an update: the client needs one per action.
UPDATE_PURPOSES = frozenset({"progress", "safe_message"})


def no_repeat_within_window(world: SimWorld, ctx: Context) -> list[str]:
    """docs/domain.md "Stop", client updates: never the same text twice within 5 minutes (as delivered)."""
    window = world.config.caps.progress_repeat_window_s
    last: dict[tuple[str, str], float] = {}
    problems = []
    for msg, row in _sent_rows(world):
        if not row or row["party"] != "client" or not row["request_id"] or row["purpose"] not in UPDATE_PURPOSES:
            continue
        key = (row["request_id"], msg.text)
        if key in last and msg.at - last[key] < window:
            problems.append(f"{row['request_id']}: the client got the same text twice within "
                            f"{int(msg.at - last[key])} s: {msg.text[:60]!r}")
        last[key] = msg.at
    return problems


def vendor_daily_cap_and_gap(world: SimWorld, ctx: Context) -> list[str]:
    """docs/domain.md caps per vendor, across all requests: <= 20 outreach messages in any 24 hours and
    >= 5 minutes between two (as delivered; a STOP confirmation is not outreach)."""
    caps = world.config.caps
    times: dict[str, list[float]] = {}
    for msg, row in _sent_rows(world):
        if row and row["party"] == "vendor" and row["purpose"] == "outreach":
            times.setdefault(msg.to, []).append(msg.at)
    problems = []
    for to, at in times.items():
        at.sort()
        for i in range(1, len(at)):
            if at[i] - at[i - 1] < caps.vendor_min_gap_s:
                problems.append(f"vendor ...{to[-3:]} got two outreach messages {int(at[i] - at[i - 1])} s apart")
        for i in range(len(at) - caps.vendor_daily_max):
            if at[i + caps.vendor_daily_max] - at[i] < 24 * 3600:
                problems.append(f"vendor ...{to[-3:]} got more than {caps.vendor_daily_max} outreach messages in 24 h")
                break
    return problems


def request_budgets(world: SimWorld, ctx: Context) -> list[str]:
    """docs/domain.md budgets per request: <= 8 brain calls, <= 2 OCR jobs."""
    caps = world.config.caps
    brain = Counter(e["request_id"] for e in world.ledger.audit_events("brain.called"))
    ocr = Counter(world.ledger.ocr_job_requests())
    return ([f"{rid} called the brain {n} times (max {caps.brain_calls_max})"
             for rid, n in sorted(brain.items()) if n > caps.brain_calls_max]
            + [f"{rid} ran {n} OCR jobs (max {caps.ocr_jobs_max})"
               for rid, n in sorted(ocr.items()) if n > caps.ocr_jobs_max])


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


def one_delivery_per_key(world: SimWorld, ctx: Context) -> list[str]:
    """A retry (timeout, 5xx, 429) carries the same idempotency key: the fake must deliver it once."""
    counts = Counter(msg.callback_data for msg in world.whatsapp.sent if msg.callback_data)
    return [f"message {key[-40:]!r} delivered {n} times" for key, n in counts.items() if n > 1]


def logs_masked(world: SimWorld, ctx: Context) -> list[str]:
    return [f"unmasked phone number in log: {line[:80]!r}" for line in world.unmasked_phone_lines()]


INVARIANTS: tuple[tuple[str, Callable[[SimWorld, Context], list[str]]], ...] = (
    ("no_vendor_messaged_twice", no_vendor_twice),
    ("outreach_caps", batch_and_request_caps),
    ("vendor_daily_cap_and_gap", vendor_daily_cap_and_gap),
    ("request_budgets", request_budgets),
    ("no_call_without_consent", no_call_without_consent),
    ("no_message_to_opted_out_vendor", no_message_to_opted_out),
    ("client_phone_never_in_vendor_text", client_phone_not_in_vendor_text),
    ("nothing_after_client_stop", nothing_after_client_stop),
    ("no_outreach_or_call_after_handoff", nothing_after_handoff),
    ("progress_updates_capped", progress_updates_capped),
    ("no_same_update_within_5_min", no_repeat_within_window),
    ("inbound_recorded_once", inbound_recorded_once),
    ("transitions_allowed", transitions_allowed),
    ("outbound_audited", outbound_audited),
    ("one_delivery_per_idempotency_key", one_delivery_per_key),
    ("logs_masked", logs_masked),
)


def check_all(world: SimWorld, ctx: Context) -> list[tuple[str, str]]:
    """Every violation now, as (invariant name, message)."""
    out = []
    for name, check in INVARIANTS:
        for problem in check(world, ctx):
            out.append((name, problem))
    return out
