"""``concierge-sim gate phase1|phase2|phase3 --run RUN_DIR``: the runbook's criteria and triggers.

Each exit criterion and each rollback trigger is a row: metric, value, operator, threshold, verdict.
Exit 0 when every criterion passes and no trigger fires; 1 otherwise; 2 for bad usage or a run
folder that does not exist or whose ``metrics.json`` is not metrics; 3 (a harness error) for a run
folder that is not a whole output set (no manifest, a file cut off or mixed in: ``outputs.verify``). Criteria the simulation cannot measure (satisfaction feedback,
manual review of shortlists, 7 days without incident) are listed as ``manual`` and do not decide
the exit code: a person signs them off.
"""

from __future__ import annotations

import argparse
import json
import operator
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..outputs import OutputSet, verify
from .metrics import dumps
from .review import review_row
from .samples import read_samples

NEVER = "never"  # a percentile that landed on requests that never got a shortlist
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def metric_value(metrics: dict[str, Any], key: str) -> Any:
    """A metric as the gate reads it: a time-to-shortlist percentile that landed on *never* is ``NEVER``."""
    value = metrics.get(key)
    if value is None and key.startswith("time_to_shortlist_p") and metrics.get("time_to_shortlist_never"):
        return NEVER
    return value


def _holds(value: Any, op: str, threshold: float) -> bool | None:
    """Whether ``value op threshold`` holds; None when there is no value to compare."""
    if value is None:
        return None
    if value == NEVER:  # longer than any threshold
        return op in (">", ">=")
    return OPS[op](value, threshold)


def criterion(cid: str, title: str, metrics: dict[str, Any], key: str, op: str, threshold: float,
              value: Any = None, source: str = "metrics.json") -> dict[str, Any]:
    value = metric_value(metrics, key) if value is None else value
    ok = _holds(value, op, threshold)
    return {"id": cid, "kind": "criterion", "title": title, "metric": key, "value": value, "op": op,
            "threshold": threshold, "source": source,
            "verdict": "pass" if ok else ("no data" if ok is None else "fail")}


def trigger(cid: str, title: str, metrics: dict[str, Any], key: str, op: str, threshold: float,
            value: Any = None) -> dict[str, Any]:
    value = metric_value(metrics, key) if value is None else value
    fires = _holds(value, op, threshold)
    # A trigger without its metric has not been seen to stay clear: it holds the gate, as a missing
    # criterion does, rather than reading as "clear".
    return {"id": cid, "kind": "trigger", "title": title, "metric": key, "value": value, "op": op,
            "threshold": threshold, "verdict": "fire" if fires else ("no data" if fires is None else "clear")}


def manual(cid: str, title: str) -> dict[str, Any]:
    return {"id": cid, "kind": "manual", "title": title, "metric": None, "value": None, "op": None,
            "threshold": None, "verdict": "manual"}


def rollback_triggers(m: dict[str, Any], baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = [
        trigger("rollback.error_rate", "Error rate > 10 %", m, "error_rate", ">", 0.10),
        trigger("rollback.p95", "Time-to-shortlist p95 > 10 minutes", m, "time_to_shortlist_p95_s", ">", 600),
        trigger("rollback.unsolicited_call", "Any unsolicited call", m, "unsolicited_calls", ">", 0),
        trigger("rollback.prompt_injection", "Prompt injection got through (breach)", m,
                "injection_breaches", ">", 0),
    ]
    if m.get("invariant_violations") is not None:
        rows.append(trigger("rollback.invariants", "A Phase 0 invariant broke in the simulated population", m,
                            "invariant_violations", ">", 0))
    else:
        rows.append({"id": "rollback.invariants", "kind": "trigger",
                     "title": "A Phase 0 invariant broke in the simulated population",
                     "metric": "invariant_violations", "value": None, "op": ">", "threshold": 0,
                     "verdict": "skipped", "note": "run simulate with --invariants to check them"})
    base = None
    if baseline is not None:
        base = baseline.get("cost_per_request") or baseline.get("coded_cost_per_request")
    if base:
        rows.append(trigger("rollback.cost", "Cost per request > 2x baseline", m, "cost_per_request", ">",
                            round(2 * base, 6)))
    else:
        rows.append({"id": "rollback.cost", "kind": "trigger", "title": "Cost per request > 2x baseline",
                     "metric": "cost_per_request", "value": m.get("cost_per_request"), "op": ">",
                     "threshold": None, "verdict": "skipped",
                     "note": "no --baseline run (or it has no cost per request)"})
    return rows


def phase_criteria(phase: str, m: dict[str, Any], ocr_accuracy: float | None = None,
                   ocr_source: str = "metrics.json") -> list[dict[str, Any]]:
    if phase == "phase1":
        return [
            criterion("phase1.successful_flows", ">= 10 successful request flows", m, "successful_flows", ">=", 10),
            criterion("phase1.ocr_accuracy", "OCR accuracy >= 90 % on the test set", m, "ocr_accuracy", ">=",
                      0.90, value=ocr_accuracy, source=ocr_source),
            criterion("phase1.no_injection_breach", "No prompt injection breach", m, "injection_breaches", "==", 0),
            criterion("phase1.time_to_shortlist", "Time-to-shortlist <= 6 minutes (p95)", m,
                      "time_to_shortlist_p95_s", "<=", 360),
        ]
    if phase == "phase2":
        return [
            criterion("phase2.pilot_users", "Maximum 50 users in pilot", m, "ai_clients", "<=", 50),
            criterion("phase2.vendors_per_request", "Maximum 10 vendors contacted per request", m,
                      "max_vendors_contacted", "<=", 10),
            criterion("phase2.error_rate", "Error rate < 5 %", m, "error_rate", "<", 0.05),
            criterion("phase2.p95", "Time-to-shortlist p95 <= 6 minutes", m, "time_to_shortlist_p95_s", "<=", 360),
            criterion("phase2.unsolicited_calls", "Zero unsolicited calls", m, "unsolicited_calls", "==", 0),
            criterion("phase2.vendor_reply_rate", "Vendor reply rate monitored (reported)", m,
                      "vendor_reply_rate", ">=", 0.0),
            criterion("phase2.exit_shortlists", "Exit: >= 100 successful shortlists", m,
                      "shortlists_delivered", ">=", 100),
            manual("phase2.manual_review", "Manual review of the first 20 shortlists"),
            manual("phase2.satisfaction", "NPS or satisfaction feedback positive"),
            manual("phase2.no_incidents", "No critical incidents in 7 days"),
        ]
    if phase == "phase3":
        rows = [
            criterion("phase3.error_rate", "Error rate < 5 % (Phase 2 bar, kept)", m, "error_rate", "<", 0.05),
            criterion("phase3.p95", "Time-to-shortlist p95 <= 6 minutes (Phase 2 bar, kept)", m,
                      "time_to_shortlist_p95_s", "<=", 360),
            criterion("phase3.unsolicited_calls", "Zero unsolicited calls", m, "unsolicited_calls", "==", 0),
        ]
        for key, title in (("time_to_shortlist_p50_s", "Time-to-shortlist p50 reported"),
                           ("vendor_reply_rate", "Vendor reply rate reported"),
                           ("brain_rejection_rate", "Moltbot rejection rate reported"),
                           ("cost_per_request", "Cost per request reported")):
            row = criterion(f"phase3.monitor.{key}", title, m, key, ">=", 0)
            if row["value"] == NEVER:
                row["verdict"] = "pass"  # reported: most requests got no shortlist (the p95 row judges it)
            rows.append(row)
        for key, count, title in (("ocr_failure_rate", "ocr_jobs", "OCR failure rate reported"),
                                  ("call_failure_rate", "calls", "Call failure rate reported")):
            row = criterion(f"phase3.monitor.{key}", title, m, key, ">=", 0)
            if row["value"] is None and not m.get(count):
                row["verdict"] = "pass"
                row["note"] = f"nothing to measure: {count} = 0 in this run"
            rows.append(row)
        rows.append(manual("phase3.consent_proven", "Calling consent flow tested in staging"))
        return rows
    raise ValueError(f"unknown phase {phase!r}")


def judge(phase: str, metrics: dict[str, Any], baseline: dict[str, Any] | None = None,
          ocr_accuracy: float | None = None, ocr_source: str = "metrics.json",
          evidence: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``evidence``: rows that replace the manual rows of the same id (a person's signed review)."""
    rows = phase_criteria(phase, metrics, ocr_accuracy, ocr_source) + rollback_triggers(metrics, baseline)
    given = {r["id"]: r for r in evidence or ()}
    rows = [given.get(r["id"], r) if r["kind"] == "manual" else r for r in rows]
    criteria_ok = all(r["verdict"] in ("pass", "manual") for r in rows if r["kind"] == "criterion")
    fired = [r["id"] for r in rows if r["verdict"] == "fire"]
    unseen = [r["id"] for r in rows if r["kind"] == "trigger" and r["verdict"] == "no data"]
    may_proceed = criteria_ok and not fired and not unseen
    return {"phase": phase, "may_proceed": may_proceed, "criteria_met": criteria_ok,
            "rollback": fired, "triggers_without_data": unseen, "rows": rows}


def threshold_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The Phase 2 bars and the rollback lines, for the thresholds plot."""
    rows = [r for r in phase_criteria("phase2", metrics) if r["kind"] == "criterion"
            and r["id"] != "phase2.vendor_reply_rate"]
    return rows + [r for r in rollback_triggers(metrics, None) if r["verdict"] != "skipped"]


def markdown(report: dict[str, Any], run: str) -> str:
    verdict = "MAY PROCEED" if report["may_proceed"] else "MAY NOT PROCEED"
    lines = [f"# Gate {report['phase']}: {verdict}", "", f"Run: `{run}`", ""]
    if report["rollback"]:
        lines += [f"**Rollback triggered:** {', '.join(report['rollback'])}", ""]
    if report.get("triggers_without_data"):
        lines += [f"**Triggers without data (the run does not show them clear):** "
                  f"{', '.join(report['triggers_without_data'])}", ""]
    lines += ["| id | check | metric | value | threshold | verdict |", "|---|---|---|---|---|---|"]
    for r in report["rows"]:
        value = "-" if r["value"] is None else r["value"]
        threshold = "-" if r["threshold"] is None else f"{r['op']} {r['threshold']}"
        lines.append(f"| {r['id']} | {r['title']} | {r['metric'] or '-'} | {value} | {threshold} | "
                     f"{r['verdict'].upper()} |")
    if report.get("no_data_reason") and any(r["verdict"] == "no data" for r in report["rows"]):
        lines[4:4] = [f"**Why NO DATA:** {report['no_data_reason']}.", ""]
    notes = [f"- {r['id']}: {r['note']}" for r in report["rows"] if r.get("note")]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _read_metrics(folder: str) -> dict[str, Any]:
    """A run's metrics.json; a file that is not a flat object of numbers is refused by name and key,
    since judging it would turn a typo into "no data" (or worse, into a verdict)."""
    path = Path(folder) / "metrics.json"
    try:
        metrics = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: expected a JSON object of metrics, got {type(metrics).__name__}")
    for key, value in metrics.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"{path}: metric {key!r} must be a number or null, got {value!r}")
    return metrics


def ocr_eval_accuracy(report: dict[str, Any]) -> float | None:
    """Field accuracy of an ``ocr-eval --json`` report over its non-severe images (severe pages are
    built to be unreadable: the stage must ask, which ``wrong_but_proceeded`` checks)."""
    hit = n = 0
    for row in report.get("rows", []):
        if row.get("level") == "severe":
            continue
        images = int(row.get("images", 0))
        for key, value in row.items():
            if key.endswith("_accuracy") and value is not None:
                hit += value * images
                n += images
    return round(hit / n, 6) if n else None


def _review_evidence(phase: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The manual review row from ``--review FILE`` (``ValueError``: bad file, or not phase2)."""
    if args.review is None:
        return []
    if phase != "phase2":
        raise ValueError("--review is the Phase 2 manual review of the first shortlists; use it with gate phase2")
    return [review_row(args.review, read_samples(Path(args.run)))]


# Draws gate-<phase>.html (``simulators.html.rollout_page.write_gate_page``): (folder, phase, report,
# metrics, run folder, shown_in). The pages read the gates' results, so the gates do not import
# them; whoever runs the gate (the front door, ``python -m simulators.rollout``) hands them in.
GatePage = Callable[..., object]


def main(phase: str, argv: list[str], *, gate_page: GatePage) -> int:
    p = argparse.ArgumentParser(prog=f"concierge-sim gate {phase}")
    p.add_argument("--run", required=True, help="RUN_DIR of concierge-sim simulate")
    p.add_argument("--baseline", default=None, help="RUN_DIR whose cost per request is the baseline")
    p.add_argument("--ocr-eval", default=None, help="an `ocr-eval --json` report: its accuracy replaces the run's")
    p.add_argument("--out", default=None, help="where to write gate-<phase>.json/.md/.html (default: RUN_DIR)")
    p.add_argument("--review", default=None, metavar="FILE",
                   help="phase2: the shortlist review exported from RUN_DIR/review.html; a problem holds the gate")
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    for folder in (args.run, args.baseline):
        if folder is not None and not Path(folder).is_dir():
            print(f"concierge-sim gate {phase}: {folder}: no such run folder", file=sys.stderr)
            return 2
    # Only a whole run is judged: a cut-off file, a mix of two runs or a run that never finished
    # would give a verdict on evidence that does not exist (a harness error, exit 3).
    for folder in (args.run, args.baseline):
        if folder is not None:
            verify(folder)
    try:
        metrics = _read_metrics(args.run)
        baseline = _read_metrics(args.baseline) if args.baseline else None
        ocr_acc, source = None, "metrics.json"
        if args.ocr_eval:
            ocr_acc = ocr_eval_accuracy(json.loads(Path(args.ocr_eval).read_text("utf-8")))
            source = args.ocr_eval
        evidence = _review_evidence(phase, args)
    except (OSError, ValueError) as exc:
        print(f"concierge-sim gate {phase}: {exc}", file=sys.stderr)
        return 2
    report = judge(phase, metrics, baseline, ocr_acc, source, evidence)
    from .emptiness import run_note

    report["no_data_reason"] = run_note(args.run)
    out = Path(args.out or args.run)
    text = markdown(report, args.run)
    # Written into the run it judges, the verdict joins that run's set (and its manifest).
    with OutputSet(out, amend=out.resolve() == Path(args.run).resolve()) as folder:
        folder.write_text(f"gate-{phase}.json", dumps(report))
        folder.write_text(f"gate-{phase}.md", text)
        gate_page(folder.staging, phase, report, metrics, Path(args.run), shown_in=out)
        folder.commit()
    print(text, end="")
    return 0 if report["may_proceed"] else 1
