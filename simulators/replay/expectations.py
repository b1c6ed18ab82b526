"""``expect:`` keys: observe the world, compare with the expectation, say what differs.

Each checker returns a list of (key path, message) — empty when the expectation holds. Messages say
"expected X, got Y" in the scenario's own terms (vendor and client ids, state names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from concierge.drugs import DrugLexicon
from concierge.ledger import RequestRow

from ..world import SimWorld
from .model import Count

Mismatch = tuple[str, str]


class Observer:
    """What a scenario can see of the world, in scenario ids."""

    def __init__(self, world: SimWorld, client_phones: dict[str, str], vendor_ids: dict[str, str]):
        self.world = world
        self.client_phones = client_phones  # client id -> phone
        self.vendor_phones = vendor_ids  # vendor id -> phone

    def request(self, client_id: str) -> RequestRow | None:
        return self.world.ledger.latest_request(self.client_phones[client_id])

    def client_messages(self, client_id: str) -> list[str]:
        phone = self.client_phones[client_id]
        return [m.text or "" for m in self.world.whatsapp.sent if m.to == phone]

    def vendor_messages(self, vendor_id: str) -> list[str]:
        phone = self.vendor_phones[vendor_id]
        return [m.text or "" for m in self.world.whatsapp.sent if m.to == phone]


def _count(value: Any) -> Count:
    return value if isinstance(value, Count) else Count.parse(value)


def _check_count(key: str, expected: Any, actual: int) -> list[Mismatch]:
    c = _count(expected)
    return [] if c.matches(actual) else [(key, f"expected {c}, got {actual}")]


def _need_request(obs: Observer, client: str, key: str) -> tuple[RequestRow | None, list[Mismatch]]:
    req = obs.request(client)
    if req is None:
        return None, [(key, f"client {client} has no request yet")]
    return req, []


def check_state(obs: Observer, client: str, value: Any) -> list[Mismatch]:
    req, miss = _need_request(obs, client, "state")
    if req is None:
        return miss
    return [] if req.state == value else [("state", f"expected {value}, got {req.state}")]


def check_states(obs: Observer, client: str, value: Any) -> list[Mismatch]:
    req, miss = _need_request(obs, client, "states")
    if req is None:
        return miss
    path = [c["dest"] for c in obs.world.ledger.state_changes(req.id)]
    i = 0
    for state in path:
        if i < len(value) and state == value[i]:
            i += 1
    if i == len(value):
        return []
    return [("states", f"expected to pass through {value} in order; missing {value[i]!r} "
                       f"after {value[:i]}; the request went {' -> '.join(path)}")]


def check_outreach(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    req, miss = _need_request(obs, client, "outreach")
    if req is None:
        return miss
    rows = [o for o in obs.world.ledger.outreach(request_id=req.id) if o.status != "queued" or o.sent_at]
    messaged = [o.vendor_id for o in rows if o.sent_at is not None]
    out: list[Mismatch] = []
    if "count" in value:
        out += _check_count("outreach.count", value["count"], len(messaged))
    if "batches" in value:
        batches = len({o.batch for o in rows if o.sent_at is not None})
        out += _check_count("outreach.batches", value["batches"], batches)
    for vid in value.get("vendors", []) or []:
        if vid not in messaged:
            out.append(("outreach.vendors", f"expected {vid} to be messaged; messaged: {messaged}"))
    for vid in value.get("not_vendors", []) or []:
        if vid in messaged:
            out.append(("outreach.not_vendors", f"expected {vid} not to be messaged, but it was"))
    return out


def _text_checks(prefix: str, texts: list[str], value: dict[str, Any]) -> list[Mismatch]:
    out: list[Mismatch] = []
    if "count" in value:
        out += _check_count(f"{prefix}.count", value["count"], len(texts))
    for key, want_in in (("contains", True), ("not_contains", False)):
        wanted = value.get(key)
        if wanted is None:
            continue
        for needle in wanted if isinstance(wanted, list) else [wanted]:
            found = any(needle.lower() in t.lower() for t in texts)
            if found != want_in:
                verb = "contain" if want_in else "not contain"
                out.append((f"{prefix}.{key}", f"expected a message to {verb} {needle!r}; "
                                                f"last message: {texts[-1][:160]!r}" if texts else
                            f"expected a message to {verb} {needle!r}; no message received"))
    if "last_contains" in value:
        needles = value["last_contains"]
        for needle in needles if isinstance(needles, list) else [needles]:
            if not texts or needle.lower() not in texts[-1].lower():
                out.append((f"{prefix}.last_contains",
                            f"expected the last message to contain {needle!r}; got "
                            f"{texts[-1][:160]!r}" if texts else "no message received"))
    return out


def check_client_received(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    return _text_checks("client_received", obs.client_messages(client), value)


def check_vendor_received(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    return _text_checks("vendor_received", obs.vendor_messages(value["vendor"]), value)


def check_shortlist(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    req = obs.request(client)
    shortlist = obs.world.ledger.shortlist(req.id) if req else None
    delivered = shortlist if shortlist and shortlist.get("delivered_at") is not None else None
    order = [i["vendor_id"] for i in delivered["items"]] if delivered else []
    out: list[Mismatch] = []
    if "size" in value:
        out += _check_count("shortlist.size", value["size"], len(order))
    if "order" in value and order[: len(value["order"])] != list(value["order"]):
        out.append(("shortlist.order", f"expected it to begin with {value['order']}, got {order}"))
    for vid in value.get("includes", []) or []:
        if vid not in order:
            out.append(("shortlist.includes", f"expected {vid} in the shortlist, got {order}"))
    for vid in value.get("excludes", []) or []:
        if vid in order:
            out.append(("shortlist.excludes", f"expected {vid} not in the shortlist, got {order}"))
    return out


def check_brain(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    req = obs.request(client)
    data = req.data if req else {}
    out: list[Mismatch] = []
    if "calls" in value:
        out += _check_count("brain.calls", value["calls"], int(data.get("brain_calls", 0)))
    if "rejected" in value:
        out += _check_count("brain.rejected", value["rejected"], int(data.get("brain_rejected", 0)))
    if "kill_switch" in value and bool(data.get("kill_switch")) != bool(value["kill_switch"]):
        out.append(("brain.kill_switch", f"expected {value['kill_switch']}, got {bool(data.get('kill_switch'))}"))
    return out


def check_ocr(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    req = obs.request(client)
    jobs = obs.world.ledger.ocr_jobs(req.id) if req else []
    out: list[Mismatch] = []
    if "jobs" in value:
        out += _check_count("ocr.jobs", value["jobs"], len(jobs))
    last = jobs[-1] if jobs else None
    if "status" in value and (last is None or last["status"] != value["status"]):
        out.append(("ocr.status", f"expected {value['status']}, got {last['status'] if last else 'no job'}"))
    if "type" in value and (last is None or last["type"] != value["type"]):
        out.append(("ocr.type", f"expected {value['type']}, got {last['type'] if last else 'no job'}"))
    result = (last or {}).get("result") or {}
    if "drugs" in value:
        lexicon = DrugLexicon.default()
        read = [str((item.get("drug_name") or {}).get("value") or "") for item in result.get("items", [])]
        for drug in value["drugs"]:
            if not any(r and (r.lower() == drug.lower() or lexicon.same_drug(r, drug)) for r in read):
                out.append(("ocr.drugs", f"expected {drug} among the drugs read, got {read}"))
    if "uncertain" in value:
        uncertain = "uncertain_drug_name" in (result.get("warnings") or [])
        if uncertain != bool(value["uncertain"]):
            out.append(("ocr.uncertain", f"expected {value['uncertain']}, got {uncertain}"))
    return out


def check_calls(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    req = obs.request(client)
    rows = sorted(obs.world.ledger.calls(req.id if req else ""), key=lambda r: (r["started_at"], r["id"]))
    out: list[Mismatch] = []
    if "count" in value:
        out += _check_count("calls.count", value["count"], len(rows))
    if "last_status" in value:
        got = rows[-1]["status"] if rows else "no call"
        if got != value["last_status"]:
            out.append(("calls.last_status", f"expected {value['last_status']}, got {got}"))
    return out


def check_consent(obs: Observer, client: str, value: Any) -> list[Mismatch]:
    from concierge.calling import consent

    req = obs.request(client)
    got = consent(obs.world.concierge, req.id, obs.world.clock.now())["status"] if req else "not_requested"
    return [] if got == value else [("consent", f"expected {value}, got {got}")]


def check_vendor_opted_out(obs: Observer, client: str, value: list[str]) -> list[Mismatch]:
    got = obs.world.ledger.opted_out_vendors()
    return [("vendor_opted_out", f"expected {v} opted out; opted out: {got}") for v in value if v not in got]


def check_handled_by(obs: Observer, client: str, value: str) -> list[Mismatch]:
    req, miss = _need_request(obs, client, "handled_by")
    if req is None:
        return miss
    got = req.data.get("handled_by")
    return [] if got == value else [("handled_by", f"expected {value}, got {got}")]


def check_injection(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    flagged = len(obs.world.ledger.audit_events("injection.flagged"))
    return _check_count("injection.flagged", value.get("flagged", ">=0"), flagged) if "flagged" in value else []


def check_audit(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    events = obs.world.ledger.audit_events(value["event"])
    return _check_count("audit.count", value.get("count", ">0"), len(events))


def check_ledger(obs: Observer, client: str, value: dict[str, Any]) -> list[Mismatch]:
    out: list[Mismatch] = []
    if "inbound" in value:
        out += _check_count("ledger.inbound", value["inbound"], obs.world.ledger.inbound_count())
    return out


CHECKS: dict[str, Callable[[Observer, str, Any], list[Mismatch]]] = {
    "state": check_state,
    "states": check_states,
    "outreach": check_outreach,
    "vendor_received": check_vendor_received,
    "client_received": check_client_received,
    "shortlist": check_shortlist,
    "brain": check_brain,
    "ocr": check_ocr,
    "calls": check_calls,
    "consent": check_consent,
    "vendor_opted_out": check_vendor_opted_out,
    "handled_by": check_handled_by,
    "injection": check_injection,
    "audit": check_audit,
    "ledger": check_ledger,
}


def check_expectations(obs: Observer, client: str, expect: dict[str, Any]) -> list[Mismatch]:
    out: list[Mismatch] = []
    for key, value in expect.items():
        if key == "client":
            continue
        out += [(f"expect.{k}", m) for k, m in CHECKS[key](obs, client, value)]
    return out


# The authoring checks build on the helpers above, so they are registered once those exist.
from .expect_messages import AUTHORING_CHECKS  # noqa: E402

CHECKS.update(AUTHORING_CHECKS)
