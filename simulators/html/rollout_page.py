"""The rollout run page (``simulate``: ``run.html``; ``gate phase1..3``: ``gate-<phase>.html``): the
metrics against their thresholds, the rollback triggers, the plots, and sample conversations."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..rollout.gates import judge, metric_value
from ..rollout.samples import SAMPLES_FILE, merge_samples, read_samples
from .chat import bubbles
from .over_time import over_time_view
from .pages import write_page, write_text
from .review import write_review_page

PLOTS = (("time_to_shortlist.png", "Time to shortlist"), ("thresholds.png", "Metrics against their thresholds"))
HEADLINE = ("requests_total", "requests", "shortlists_delivered", "error_rate", "time_to_shortlist_p50_s",
            "time_to_shortlist_p95_s", "vendor_reply_rate", "injection_attempts", "injection_breaches",
            "unsolicited_calls", "cost_per_request")
SAMPLE_TITLES = {"slowest": "The slowest shortlists", "never_shortlisted": "Requests that never got a shortlist",
                 "errors": "Requests that ended in error", "injections": "Prompt injection attempts"}


def fingerprint(shortlists: list[dict[str, Any]]) -> str:
    """What a review is of: the shortlists shown, by id and the message each client got. A review
    exported from another run (or another seed) does not match and is refused by the gate."""
    basis = [[s["id"], s["messages"]] for s in shortlists]
    return hashlib.sha256(json.dumps(basis, ensure_ascii=False).encode()).hexdigest()[:16]


def _plots(folder: Path) -> list[dict[str, str]]:
    out = []
    for name, title in PLOTS:
        path = folder / name
        if path.is_file():
            out.append({"title": title, "src": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()})
    return out


def _views(samples: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": kind, "title": title, "requests": [
        {**r, "bubbles": bubbles(r["transcript"])} for r in samples.get(kind, [])]}
        for kind, title in SAMPLE_TITLES.items()]


def write_samples(out: Path, samples: dict[str, Any]) -> None:
    write_text(out / SAMPLES_FILE, json.dumps(samples, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def write_run_pages(out: Path, config: Any, metrics: dict[str, Any], parts: list[dict[str, Any]],
                    shown_as: str | Path | None = None) -> None:
    """Into ``out`` (a staging folder, published as ``shown_as``)."""
    name = Path(shown_as or out)
    samples = merge_samples(parts, config.review)
    samples["fingerprint"] = fingerprint(samples["shortlists"])
    write_samples(out, samples)
    phase = config.profile or "phase2"
    report = judge(phase, metrics)
    run = {"seed": config.seed, "clients": config.clients, "vendors": config.vendors, "hours": config.hours,
           "profile": config.profile, "shards": config.shards}
    write_rollout_page(out / "run.html", f"simulate: {name}", report, metrics, out, samples, run=run,
                       review_link="review.html",
                       note=f"the {phase} criteria and rollback triggers on this run, without a baseline "
                            f"(`concierge-sim gate {phase} --run {name}` is the gate)")
    write_review_page(out / "review.html", name, samples, run)


def write_rollout_page(path: Path, title: str, report: dict[str, Any], metrics: dict[str, Any], run_dir: Path,
                       samples: dict[str, Any], *, run: dict[str, Any] | None = None, note: str | None = None,
                       review_link: str | None = None) -> Path:
    # metric_value: "never" for a percentile that fell on requests never served, as in the criteria.
    headline = [(k, metric_value(metrics, k)) for k in HEADLINE if k in metrics]
    return write_page(path, "rollout.html.j2", title=title, report=report, metrics=metrics, headline=headline,
                      plots=_plots(run_dir), samples=_views(samples), has_samples=bool(samples), run=run or {},
                      over_time=over_time_view(samples.get("over_time") or {}),
                      note=note, review_link=review_link)


def write_gate_page(out: Path, phase: str, report: dict[str, Any], metrics: dict[str, Any], run_dir: Path,
                    shown_in: Path | None = None) -> Path:
    """``gate-<phase>.html``; the review page stays in the run folder, linked from wherever the
    gate writes (``--out``)."""
    review = run_dir / "review.html"
    link = os.path.relpath(review, shown_in or out) if review.exists() else None
    return write_rollout_page(out / f"gate-{phase}.html", f"gate {phase}: {run_dir}", report, metrics, run_dir,
                              read_samples(run_dir), note=f"the gate's verdict on {run_dir}", review_link=link)

