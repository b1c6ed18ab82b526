"""The runbook's metrics: mergeable counters per shard, one flat ``metrics.json`` per run.

A shard's result is a ``Tally``: integer counters, a histogram of time to shortlist in whole seconds
and a few maxima. Integers add exactly in any grouping, so a run split over any number of worker
processes merges to the same bytes. Rates, percentiles and cost are computed once, at the end, from
the merged tally and the price table.

Time to shortlist is measured over the requests that needed one (they reached vendor outreach or got
a shortlist; a client's own cancel takes a request out). A request that never got a shortlist counts
as "never": longer than any threshold. A percentile that falls among the "never" requests is
reported as ``null``: "at least that share of clients got no shortlist at all".
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from concierge.contracts import Check

PRICES_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "prices.yaml"

# Counters merged by max rather than by sum.
MAXIMA = ("max_vendors_contacted",)
HISTOGRAMS = ("tts_hist", "tts_delivered_hist")


class Tally(dict):
    """Counters (int), histograms (``{seconds: count}``) and maxima; ``+`` merges two tallies."""

    def add(self, key: str, n: int = 1) -> None:
        self[key] = self.get(key, 0) + n

    def observe(self, hist: str, seconds: int) -> None:
        h = self.setdefault(hist, {})
        h[int(seconds)] = h.get(int(seconds), 0) + 1

    def at_least(self, key: str, value: int) -> None:
        self[key] = max(self.get(key, 0), value)

    def merged(self, other: dict[str, Any]) -> Tally:
        out = Tally({k: (dict(v) if isinstance(v, dict) else v) for k, v in self.items()})
        for key, value in other.items():
            if isinstance(value, dict):
                h = out.setdefault(key, {})
                for sec, n in value.items():
                    h[int(sec)] = h.get(int(sec), 0) + n
            elif key in MAXIMA:
                out[key] = max(out.get(key, 0), value)
            else:
                out[key] = out.get(key, 0) + value
        return out

    def to_json(self) -> dict[str, Any]:
        return {k: ({str(s): n for s, n in sorted(v.items())} if isinstance(v, dict) else v)
                for k, v in sorted(self.items())}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return cls({k: ({int(s): n for s, n in v.items()} if isinstance(v, dict) else v)
                    for k, v in data.items()})


def merge(tallies: Iterable[dict[str, Any]]) -> Tally:
    out = Tally()
    for t in tallies:
        out = out.merged(t)
    return out


def percentile(hist: dict[int, int], never: int, q: float) -> int | None:
    """Nearest-rank percentile of a whole-second histogram; None when it lands on "never"."""
    n = sum(hist.values()) + never
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for sec in sorted(hist):
        seen += hist[sec]
        if seen >= rank:
            return sec
    return None


_PRICE = {"type": "number", "minimum": 0}
PRICE_TABLE = Check({
    "type": "object",
    "required": ["prices"],
    "properties": {"prices": {
        "type": "object",
        "required": ["whatsapp", "brain", "ocr", "calls"],
        "properties": {
            "whatsapp": {"type": "object", "required": ["client_message_usd", "vendor_message_usd"],
                         "properties": {"client_message_usd": _PRICE, "vendor_message_usd": _PRICE}},
            "brain": {"type": "object",
                      "required": ["chars_per_token", "input_usd_per_million_tokens",
                                   "output_usd_per_million_tokens"],
                      "properties": {"chars_per_token": {"type": "number", "exclusiveMinimum": 0},
                                     "input_usd_per_million_tokens": _PRICE,
                                     "output_usd_per_million_tokens": _PRICE}},
            "ocr": {"type": "object", "required": ["per_call_usd"], "properties": {"per_call_usd": _PRICE}},
            "calls": {"type": "object", "required": ["per_minute_usd"], "properties": {"per_minute_usd": _PRICE}},
        },
    }},
})


def load_prices(path: str | Path | None = None) -> dict[str, Any]:
    """The price table; a broken one is refused with its path and the key at fault (``ValueError``),
    before a run spends its time, rather than as a KeyError after it."""
    source = Path(path or PRICES_FILE)
    try:
        data = yaml.safe_load(source.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not YAML ({exc})") from None
    error = PRICE_TABLE.first_error(data)
    if error:
        raise ValueError(f"{source}: {error}")
    return data["prices"]


def cost_usd(t: dict[str, Any], prices: dict[str, Any]) -> float:
    """Spend of a tally: WhatsApp messages, brain tokens, OCR calls and call minutes."""
    wa, brain = prices["whatsapp"], prices["brain"]
    # Tokens the provider reported where it did (an HTTP brain), else estimated from characters.
    tokens_in = t.get("brain_input_tokens", 0) + t.get("brain_input_chars", 0) / brain["chars_per_token"]
    tokens_out = t.get("brain_output_tokens", 0) + t.get("brain_output_chars", 0) / brain["chars_per_token"]
    return (
        t.get("wa_vendor_messages", 0) * wa["vendor_message_usd"]
        + t.get("wa_client_messages", 0) * wa["client_message_usd"]
        + tokens_in * brain["input_usd_per_million_tokens"] / 1e6
        + tokens_out * brain["output_usd_per_million_tokens"] / 1e6
        + t.get("ocr_calls", 0) * prices["ocr"]["per_call_usd"]
        + t.get("call_centiminutes", 0) / 100.0 * prices["calls"]["per_minute_usd"]
    )


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def finalize(t: dict[str, Any], prices: dict[str, Any]) -> dict[str, Any]:
    """The flat metrics object. Main keys describe the AI cohort; ``coded_*`` the coded workflow."""
    g = lambda k: t.get(k, 0)  # noqa: E731
    hist, never = t.get("tts_hist", {}), g("tts_never")
    delivered = t.get("tts_delivered_hist", {})
    requests = g("requests")
    cost = cost_usd(t, prices)
    coded_cost = cost_usd({k[len("coded_"):]: v for k, v in t.items() if k.startswith("coded_")}, prices)
    p = lambda h, nv, q: percentile(h, nv, q)  # noqa: E731
    m: dict[str, Any] = {
        "requests": requests,
        "requests_total": requests + g("coded_requests"),
        "clients_active": g("clients_active"),
        "ai_clients": g("ai_clients"),
        "error_rate": _rate(g("errors"), requests),
        "errors_timeout": g("errors_timeout"),
        "handoff_rate": _rate(g("handed_off"), requests),
        "successful_flows": g("handed_off"),
        "shortlists_delivered": g("shortlists_delivered"),
        "cancelled_by_client": g("cancelled"),
        "abandoned_open": g("abandoned"),
        "time_to_shortlist_population": sum(hist.values()) + never,
        "time_to_shortlist_never": never,
        "time_to_shortlist_p50_s": p(hist, never, 0.50),
        "time_to_shortlist_p95_s": p(hist, never, 0.95),
        "time_to_shortlist_max_s": max(hist) if hist and not never else None,
        "time_to_shortlist_delivered_p95_s": p(delivered, 0, 0.95),
        "vendor_reply_rate": _rate(g("outreach_replied"), g("outreach_sent")),
        "outreach_sent": g("outreach_sent"),
        "max_vendors_contacted": g("max_vendors_contacted"),
        "vendor_opt_outs": g("vendor_opt_outs"),
        "brain_calls": g("brain_called"),
        "brain_rejection_rate": _rate(g("brain_rejected"), g("brain_called")),
        "brain_unavailable": g("brain_unavailable"),
        "kill_switches": g("kill_switches"),
        "brain_measured_calls": g("brain_measured_calls"),
        "brain_input_tokens_measured": g("brain_input_tokens"),
        "brain_output_tokens_measured": g("brain_output_tokens"),
        "brain_cassette_misses": g("brain_cassette_misses"),
        "ocr_jobs": g("ocr_jobs"),
        "ocr_failure_rate": _rate(g("ocr_failed"), g("ocr_jobs")),
        "ocr_accuracy": _rate(g("ocr_fields_right"), g("ocr_fields")),
        "calls": g("calls"),
        "call_failure_rate": _rate(g("calls_failed"), g("calls")),
        "unsolicited_calls": g("unsolicited_calls"),
        "injection_attempts": g("injection_attempts"),
        "injection_flagged": g("injection_flagged"),
        "injection_breaches": g("injection_breaches"),
        "redeliveries": g("redeliveries"),
        # null when the run was not asked to check them (--invariants)
        "invariant_violations": g("invariant_violations") if g("invariant_shards") else None,
        "duplicate_suppression_rate": _rate(g("duplicates_suppressed"), g("redeliveries")),
        "whatsapp_messages": g("wa_vendor_messages") + g("wa_client_messages"),
        "cost_total_usd": round(cost, 8),
        "cost_per_request": round(cost / requests, 8) if requests else None,
        "coded_requests": g("coded_requests"),
        "coded_error_rate": _rate(g("coded_errors"), g("coded_requests")),
        "coded_handoff_rate": _rate(g("coded_handed_off"), g("coded_requests")),
        "coded_time_to_shortlist_p95_s": p(t.get("coded_tts_hist", {}), g("coded_tts_never"), 0.95),
        "coded_cost_per_request": round(coded_cost / g("coded_requests"), 8) if g("coded_requests") else None,
    }
    return m


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed separators, newline at the end (byte-stable)."""
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
