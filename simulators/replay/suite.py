"""A set of scenario files as every front end takes it: loaded (every problem), selected, run, printed.

The commands (``concierge-sim run``, ``crash-sweep``, ``gate phase0``) and the pass^k runs share it,
with the exit codes they answer with (docs/scenario-format.md): 0 all passed · 1 a scenario failed ·
2 invalid scenario file or usage · 3 harness error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ..progress import ProgressLine
from .collection import NOT_A_SCENARIO
from .loader import discover, load_scenario
from .model import Problem, Scenario, ScenarioInvalid

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_ERROR = 0, 1, 2, 3


def load_all(paths: Sequence[str], broken: dict[str, list[Problem]] | None = None,
              ) -> tuple[list[Scenario], list[Problem]]:
    """Every scenario under ``paths``, and every problem; ``broken`` gets each invalid file's own."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    skipped: list[Path] = []
    try:
        files = discover(list(paths), skipped)
    except ScenarioInvalid as exc:
        return [], list(exc.problems)
    for path in skipped:
        print(f"note: {path}: {NOT_A_SCENARIO}", file=sys.stderr)
    seen: dict[str, str] = {}
    for path in files:
        try:
            scenario = load_scenario(path)
        except ScenarioInvalid as exc:
            problems.extend(exc.problems)
            if broken is not None:
                broken[str(path)] = list(exc.problems)
            continue
        if scenario.id in seen:
            problems.append(Problem(str(path), 1, "scenario",
                                    f"id {scenario.id!r} is already used by {seen[scenario.id]}; ids must be unique"))
            if broken is not None:
                broken[str(path)] = problems[-1:]
            continue
        seen[scenario.id] = str(path)
        scenarios.append(scenario)
    return scenarios, problems


def select(scenarios: list[Scenario], keyword: str | None, tags: list[str]) -> list[Scenario]:
    out = scenarios
    if keyword:
        out = [s for s in out if keyword in s.id or keyword in str(s.file)]
    if tags:
        out = [s for s in out if set(tags) & set(s.tags)]
    return out


def run_all(scenarios: list[Scenario], seed: int | None, ledger: str | None = None):
    from .runner import run_scenario

    progress = ProgressLine(len(scenarios))
    results = []
    for i, scenario in enumerate(scenarios, 1):
        progress.step(i, scenario.id)
        results.append(run_scenario(scenario, seed=seed, ledger=ledger))
    progress.close()
    return results


def print_results(results, seed: int | None, out=None) -> None:
    from .outcomes import OUTCOME_WORDS, outcome_counts, outcome_line
    from .reports import rerun_command

    out = out or sys.stdout
    for r in results:
        if r.verdict == "fail" and r.failure:
            print(f"FAIL {r.failure.headline(str(r.scenario.file))}", file=out)
            for t in r.transcript[-6:]:
                print(f"    {t['at']} {t['from']} -> {t['to']}: {t['text'][:140]!r}", file=out)
            print(f"    rerun: {rerun_command(r, seed)}", file=out)
        elif r.verdict == "error":
            print(f"ERROR {r.scenario.file} ({r.scenario.id}): {r.error}", file=out)
            print(f"    rerun: {rerun_command(r, seed)}", file=out)
        elif r.verdict in OUTCOME_WORDS:
            print(outcome_line(r), file=out)
        elif r.verdict == "not_runnable":
            print(f"NOT RUNNABLE {r.scenario.file} ({r.scenario.id}): {r.not_runnable}", file=out)
        elif r.verdict == "partial":
            print(f"PARTIAL {r.scenario.file} ({r.scenario.id}): passed what was observable; "
                  f"{len(r.not_observable)} check(s) not observable (report.md lists them)", file=out)
    passed = sum(r.verdict == "pass" for r in results)
    failed = sum(r.verdict == "fail" for r in results)
    errors = sum(r.verdict == "error" for r in results)
    seed_text = "scenario seeds" if seed is None else f"seed {seed}"
    blackbox = "".join(f", {n} {word}" for word, n in (
        ("partial (not all observable)", sum(r.verdict == "partial" for r in results)),
        ("not runnable", sum(r.verdict == "not_runnable" for r in results))) if n)
    print(f"{passed} passed, {failed} failed, {errors} errors{outcome_counts(results)}{blackbox} ({seed_text})",
          file=out)
