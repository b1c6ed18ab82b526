"""``report.html`` for ``run`` and ``gate phase0``: the verdict and criteria first, then every
scenario (failures first) with its diff, the YAML of the failing step, the rerun line, and the
conversation beside the request's state timeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..replay.reports import rerun_command
from ..replay.runner import ScenarioResult
from .chat import bubbles
from .pages import write_page

STATUS_ORDER = {"error": 0, "fail": 1, "pass": 2}


def diffs(result: ScenarioResult) -> list[dict[str, Any]]:
    """Every failed key of the failing step (the runner joins them as ``also KEY: MESSAGE``), each
    split into what the scenario expected and what the run did when the message says both."""
    failure = result.failure
    if failure is None:
        return []
    first, *others = failure.message.split("\n    also ")
    rows = [(failure.key, first)]
    for other in others:
        key, _, message = other.partition(": ")
        rows.append((key, message))
    out = []
    for key, message in rows:
        expected, actual = _split(message)
        out.append({"key": key, "message": message, "expected": expected, "actual": actual})
    return out


def _split(message: str) -> tuple[str | None, str | None]:
    """``expected X, got Y`` -> (X, Y); ``expected X; what happened`` -> (X, what happened)."""
    if not message.startswith("expected "):
        return None, None
    body = message[len("expected "):]
    head, found, tail = body.rpartition(", got ")
    if found:
        return head, tail
    head, found, tail = body.partition("; ")
    return (head, tail) if found else (body, None)


def step_yaml(result: ScenarioResult) -> list[tuple[int, str]]:
    """The failing step's lines as written in the scenario file, numbered."""
    failure, scenario = result.failure, result.scenario
    if failure is None or not scenario.source_lines or not 1 <= failure.step <= len(scenario.steps):
        return []
    start = scenario.steps[failure.step - 1].line
    end = (scenario.steps[failure.step].line - 1 if failure.step < len(scenario.steps)
           else len(scenario.source_lines))
    lines = [(n, scenario.source_lines[n - 1].rstrip()) for n in range(start, min(end, len(scenario.source_lines)) + 1)]
    while lines and not lines[-1][1].strip():
        lines.pop()
    return lines


def scenario_view(result: ScenarioResult, seed: int | None) -> dict[str, Any]:
    s = result.scenario
    failure = result.failure
    return {
        "id": s.id, "file": str(s.file), "description": s.description, "tags": list(s.tags),
        "status": result.verdict, "duration_ms": round(result.duration_s * 1000),
        "seed": s.seed if seed is None else seed,
        "headline": failure.headline(str(s.file)).split("\n")[0] if failure else None,
        "failed_line": failure.line if failure else None,
        "diffs": diffs(result), "yaml": step_yaml(result),
        "error": result.error, "traceback": result.traceback,
        "rerun": None if result.passed else rerun_command(result, seed),
        "bubbles": bubbles(result.transcript), "timeline": result.timeline,
    }


def write_run_report(out: str | Path, report: dict[str, Any], results: list[ScenarioResult]) -> Path:
    views = [scenario_view(r, report["seed"]) for r in results]
    views.sort(key=lambda v: STATUS_ORDER.get(v["status"], 3))  # stable: file order within a status
    tags = sorted({t for v in views for t in v["tags"]})
    title = f"gate {report['gate']}" if report.get("gate") else "run"
    return write_page(Path(out) / "report.html", "report.html.j2", report=report, scenarios=views,
                      tags=tags, title=title, metrics=report["metrics"])
