"""What a person looks at after a population run, read from a shard's ledger before it closes.

A run's metrics say how many; these say which and how: the slowest shortlists, requests that never
got one, requests that ended in error, requests where a vendor tried a prompt injection (each with
its conversation and state timeline), and the first shortlists delivered, each with the client's
need, the vendors' replies behind every item, the score breakdown and the message the client got
(the runbook's Phase 2 "manual review of the first 20 shortlists").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from concierge.phones import mask_phone
from concierge.shortlist import Candidate, score

PER_KIND = 5  # requests kept per kind of sample (slowest, never, errors, injections)
REVIEW_SHORTLISTS = 20  # the runbook: manual review of the first 20 shortlists
NEED_FIELDS = ("item", "category", "quantity", "place", "budget_max", "urgent", "language")
KINDS = ("slowest", "never_shortlisted", "errors", "injections")
SAMPLES_FILE = "samples.json"  # in the run folder: the run page writes it, the gate's review reads it


def at_text(t: float, start: float) -> str:
    s = int(round(t - start))
    return f"+{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class ShardSamples:
    def __init__(self, ledger: Any, shard: int, start: float):
        self.ledger, self.shard, self.start = ledger, shard, start

    def key(self, request_id: str) -> str:
        return f"{self.shard}/{request_id}"

    def _who(self, row: dict[str, Any]) -> str:
        if row["party"] == "vendor":
            return f"vendor {row['vendor_id'] or mask_phone(row['phone'])}"
        return f"client {mask_phone(row['phone'])}"

    def transcript(self, request_id: str) -> list[dict[str, Any]]:
        buttons = self.ledger.button_titles(request_id)
        out = []
        for row in self.ledger.transcript(request_id):
            who = self._who(row)
            incoming = row["direction"] == "in"
            item = {"at": at_text(row["at"], self.start), "from": who if incoming else "concierge",
                    "to": "concierge" if incoming else who, "text": row["text"], "request_id": None}
            if row["wamid"] in buttons:
                item.update(kind="interactive", buttons=buttons[row["wamid"]])
            out.append(item)
        return out

    def timeline(self, request_id: str) -> list[dict[str, Any]]:
        return [{"at": at_text(c["at"], self.start), "request_id": request_id, "from": c["source"],
                 "to": c["dest"], "reason": c["reason"]} for c in self.ledger.state_changes(request_id)]

    def request(self, request_id: str, why: str, sort: float) -> dict[str, Any]:
        row = self.ledger.get_request(request_id)
        return {"id": self.key(request_id), "shard": self.shard, "request_id": request_id, "why": why,
                "sort": sort, "state": row.state if row else None,
                "opened": at_text(row.created_at, self.start) if row else None,
                "transcript": self.transcript(request_id), "timeline": self.timeline(request_id)}

    # --- which requests ------------------------------------------------------------------------
    def slowest(self) -> list[dict[str, Any]]:
        rows = self.ledger.slowest_shortlists(PER_KIND)
        return [self.request(r["request_id"], f"shortlist after {int(r['tts'])} s", -r["tts"]) for r in rows]

    def never_shortlisted(self) -> list[dict[str, Any]]:
        rows = self.ledger.asked_never_shortlisted(PER_KIND)
        return [self.request(r["id"], "vendors were asked; no shortlist ever reached the client", r["seq"])
                for r in rows]

    def errors(self) -> list[dict[str, Any]]:
        rows = self.ledger.first_errors(PER_KIND)
        return [self.request(r["id"], f"error: {json.loads(r['data']).get('error_reason') or 'unknown'}",
                             r["seq"]) for r in rows]

    def injections(self, injected: set[tuple[str, str]]) -> list[dict[str, Any]]:
        flagged = self.ledger.injection_flagged_requests()
        ids = sorted({rid for rid, _vendor in injected} | flagged,
                     key=lambda rid: (self.ledger.get_request(rid).created_at
                                      if self.ledger.get_request(rid) else 0, rid))[:PER_KIND]
        by_vendor: dict[str, list[str]] = {}
        for rid, vendor in sorted(injected):
            by_vendor.setdefault(rid, []).append(vendor)
        return [self.request(rid, "injection attempt by " + (", ".join(by_vendor[rid]) if rid in by_vendor
                                                              else "a sender (flagged)"), i)
                for i, rid in enumerate(ids)]

    # --- over time ---------------------------------------------------------------------------
    def over_time(self) -> dict[str, dict[str, float]]:
        """Per minute of the run: requests opened, shortlists delivered (and the sum of their times
        to shortlist), requests that went to error. Sums, so shards merge by adding; the run page
        draws them as the metrics over time."""
        out: dict[str, dict[str, float]] = {}

        def add(at: float, key: str, value: float = 1) -> None:
            row = out.setdefault(str(int(max(0.0, at - self.start) // 60)), {})
            row[key] = row.get(key, 0) + value

        for r in self.ledger.request_open_times():
            add(r["created_at"], "opened")
        for r in self.ledger.shortlist_delivery_times():
            add(r["delivered_at"], "shortlisted")
            add(r["delivered_at"], "tts_sum_s", round(r["tts"], 3))
        for r in self.ledger.error_times():
            add(r["at"], "errors")
        return out

    # --- the review ----------------------------------------------------------------------------
    def shortlists(self, count: int) -> list[dict[str, Any]]:
        # The AI concierge's shortlists: the coded workflow is not what the pilot puts under review.
        rows = self.ledger.first_ai_shortlists(count)
        return [self.shortlist(r["request_id"], json.loads(r["items"]), r["delivered_at"]) for r in rows]

    def shortlist(self, request_id: str, items: list[dict[str, Any]], delivered_at: float) -> dict[str, Any]:
        request = self.ledger.get_request(request_id)
        data = request.data if request else {}
        requirements = data.get("requirements") or {}
        budget = requirements.get("budget_max")
        replies: dict[str, list[dict[str, Any]]] = {}
        for r in self.ledger.replies(request_id):
            replies.setdefault(r["vendor_id"], []).append(
                {"at": at_text(r["at"], self.start), "text": r["text"], "parsed": r["parsed"]})
        said = [t["text"] for t in self.ledger.transcript(request_id)
                if t["direction"] == "in" and t["party"] == "client"]
        fields = Candidate.__dataclass_fields__
        shown = []
        for item in items:
            candidate = Candidate(**{k: v for k, v in item.items() if k in fields and k != "options"},
                                  options=tuple(item.get("options") or ()))
            scored = score(candidate, budget)
            shown.append({"vendor_id": item["vendor_id"], "vendor_name": item.get("vendor_name"),
                          "score": item.get("score"), "rescored": scored.score,
                          "breakdown": [list(p) for p in scored.breakdown],
                          "availability": item.get("availability"), "price_min": item.get("price_min"),
                          "price_max": item.get("price_max"), "distance_km": item.get("distance_km"),
                          "replies": replies.get(item["vendor_id"], [])})
        messages = self.ledger.shortlist_messages(request_id)
        return {"id": self.key(request_id), "shard": self.shard, "request_id": request_id,
                "delivered": at_text(delivered_at, self.start), "sort": delivered_at,
                "client_said": said[:3], "need": (data.get("plan") or {}).get("need"),
                "requirements": {k: v for k, v in requirements.items() if k in NEED_FIELDS and v not in (None, "", [])}, "items": shown, "messages": messages,
                "transcript": self.transcript(request_id)}


def collect_samples(ledger: Any, shard: int, start: float, injected: set[tuple[str, str]],
                    review: int = REVIEW_SHORTLISTS) -> dict[str, list[dict[str, Any]]]:
    s = ShardSamples(ledger, shard, start)
    return {"slowest": s.slowest(), "never_shortlisted": s.never_shortlisted(), "errors": s.errors(),
            "injections": s.injections(injected), "shortlists": s.shortlists(review), "over_time": s.over_time()}


def merge_samples(parts: list[dict[str, list[dict[str, Any]]]], review: int = REVIEW_SHORTLISTS) -> dict[str, Any]:
    """Every shard's samples into one set: the same kinds, kept to the same sizes, in a stable order."""
    out: dict[str, Any] = {}
    for kind in (*KINDS, "shortlists"):
        rows = sorted((r for p in parts for r in p.get(kind, [])), key=lambda r: (r["sort"], r["shard"], r["id"]))
        out[kind] = rows[:review if kind == "shortlists" else PER_KIND]
    minutes: dict[str, dict[str, float]] = {}
    for p in parts:
        for minute, row in p.get("over_time", {}).items():
            into = minutes.setdefault(minute, {})
            for key, value in row.items():
                into[key] = round(into.get(key, 0) + value, 3)
    out["over_time"] = dict(sorted(minutes.items(), key=lambda kv: int(kv[0])))
    return out


def read_samples(run_dir: Path) -> dict[str, Any]:
    """A run's samples, or none (a run written before pages existed, or by hand): the page then
    says so rather than failing the gate."""
    try:
        return json.loads((run_dir / SAMPLES_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
