"""``concierge-sim gate phase0``: may the concierge leave Phase 0? Criterion by criterion, with evidence.

The criteria are the runbook's Phase 0 entry, activity and exit criteria (docs/rollout-runbook.md;
docs/domain.md "Metrics, gates, rollback"). Evidence comes from real runs: the unit test suite, every
scenario under ``scenarios/phase0/`` (the gate's set: a user's own files elsewhere under
``scenarios/`` are not judged), the OCR evaluation on the committed sample set, and probes that drive
the concierge directly where a scenario cannot (every forbidden transition, invalid tool arguments).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..html.run_report import write_run_report
from ..outputs import OutputSet
from ..replay.reports import write_reports
from ..replay.runner import ScenarioResult
from ..replay.suite import EXIT_ERROR, EXIT_FAILED, EXIT_INVALID, EXIT_OK, load_all, print_results
from .gate_causes import fail_causes
from .pytest_progress import pump, start

Criterion = dict[str, Any]


def _criterion(cid: str, title: str, ok: bool, evidence: dict[str, Any], summary: str) -> Criterion:
    return {"id": cid, "title": title, "verdict": "pass" if ok else "fail",
            "evidence": evidence, "summary": summary}


# --- entry -------------------------------------------------------------------------------------
PYTEST_EXIT = {0: "all passed", 1: "tests failed", 2: "interrupted", 3: "internal error",
               4: "usage error: bad arguments or PYTEST_ADDOPTS", 5: "no tests collected"}


class UnitSuite:
    """The gate's own run of the unit suite, in a child process started at once: ``wait`` gives its
    exit code and output. The gate starts it before the scenarios, so the suite's xdist workers and
    the gate's other parts share the two cores instead of taking turns (``docs/performance.md``)."""

    def __init__(self, junit: Path):
        self.junit = junit
        junit.unlink(missing_ok=True)  # a fresh place, so that only a file this pytest wrote can be read
        cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
        try:
            import xdist  # noqa: F401

            cmd += ["-n", "auto"]
        except ImportError:
            pass
        self.started = time.time()
        self.proc = start(cmd)
        self._output: list[str] = []
        # The pipe is read as the suite runs (a full pipe would stall it), progress lines shown.
        self._reader = threading.Thread(target=lambda: self._output.append(pump(self.proc)), daemon=True)
        self._reader.start()

    def wait(self) -> tuple[int, str]:
        self._reader.join()
        return self.proc.wait(), "".join(self._output)

    def stop(self) -> None:
        """End the suite if it still runs (the gate itself failed before judging it)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join()


def _fresh_junit(args: argparse.Namespace) -> Path:
    output = getattr(args, "output", None)  # the gate's report set being written (main)
    return output.path("unit-tests.xml") if output else Path(tempfile.mkdtemp()) / "unit-tests.xml"


def unit_tests(args: argparse.Namespace) -> Criterion:
    """Judged from this run's pytest, both its exit code and its junit: a junit an earlier run left
    (pytest refused its arguments and wrote none) or a green junit from a pytest that exited
    non-zero is no evidence that the tests pass."""
    title = "Unit tests pass"
    returncode = None
    reuse = getattr(args, "reuse", None) or _reused_junit(args)
    if args.unit_junit:
        junit = Path(args.unit_junit)
    elif reuse["junit"]:
        junit, returncode = reuse["junit"], 0
    else:
        suite = getattr(args, "unit_suite", None)
        if suite is None:
            print("gate: running the unit test suite ...", flush=True)
            suite = UnitSuite(_fresh_junit(args))
        junit, started = suite.junit, suite.started
        returncode, output = suite.wait()
        meaning = PYTEST_EXIT.get(returncode, "unknown exit code")
        tail = output.strip().splitlines()[-1:] if output.strip() else []
        output_tail = {"returncode": returncode, "output": output[-4000:]}
        if not junit.exists():
            return _criterion("entry.unit_tests", title, False, output_tail,
                              f"pytest wrote no junit report this run (exit {returncode}: {meaning})")
        if junit.stat().st_mtime < started - 1:
            return _criterion("entry.unit_tests", title, False, {**output_tail, "junit": str(junit)},
                              f"the junit report is older than this run's pytest (exit {returncode})")
        if tail:
            print(f"gate: unit tests: {tail[0]}", flush=True)
    try:
        root = ET.parse(junit).getroot()
    except (ET.ParseError, OSError) as exc:
        return _criterion("entry.unit_tests", title, False, {"error": str(exc), "returncode": returncode},
                          f"unreadable junit: {exc}")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    ok = totals["tests"] > 0 and totals["failures"] == 0 and totals["errors"] == 0 and returncode in (None, 0)
    summary = (f"{passed} passed, {totals['failures']} failed, {totals['errors']} errors, "
               f"{totals['skipped']} skipped")
    if returncode not in (None, 0):
        summary += f"; pytest exited {returncode} ({PYTEST_EXIT.get(returncode, 'unknown exit code')})"
    if args.unit_junit:
        summary += f" (from --unit-junit {junit}, not run by this gate)"
    elif reuse["reason"]:
        summary += f" ({reuse['reason']})" if reuse["junit"] else f" (run by this gate: {reuse['reason']})"
    evidence = {**totals, "passed": passed, "junit": str(junit), "returncode": returncode}
    if reuse["reason"]:
        evidence["reuse"] = {"reused": reuse["junit"] is not None, "reason": reuse["reason"]}
    return _criterion("entry.unit_tests", title, ok, evidence, summary)


def _reused_junit(args: argparse.Namespace) -> dict[str, Any]:
    """The junit of a `nox -s tests` run on this very tree, if there is one (simulators/unit_evidence)."""
    folder = getattr(args, "reuse_unit_junit", None)
    if args.unit_junit or not folder:
        return {"junit": None, "reason": None}
    from ..unit_evidence import reusable

    junit, reason, _ = reusable(folder)
    print(f"gate: unit tests: {reason}" + ("" if junit else "; running the suite"), flush=True)
    return {"junit": junit, "reason": reason}


def flags_off_by_default(args: argparse.Namespace) -> Criterion:
    from .probes import probe_flags_off

    evidence = probe_flags_off()
    ok = all(v is True for k, v in evidence.items() if k.startswith("ok_"))
    failed = [k[3:] for k, v in evidence.items() if k.startswith("ok_") and v is not True]
    return _criterion("entry.flags_off_by_default", "Feature flags OFF by default", ok, evidence,
                      "coded workflow, OCR off, calling disabled, missing/unparsable flags false, "
                      "a clean process environment reads all three flags as false"
                      if ok else f"failed: {', '.join(failed)}")


# --- activities --------------------------------------------------------------------------------
def tagged(results: list[ScenarioResult], tag: str, cid: str, title: str, minimum: int = 1) -> Criterion:
    chosen = [r for r in results if tag in r.scenario.tags]
    failed = [r.scenario.id for r in chosen if not r.passed]
    # Black-box: a scenario not runnable against the target, or not judged in full, verifies nothing.
    unjudged = [r.scenario.id for r in chosen if r.verdict in ("partial", "not_runnable")]
    ok = len(chosen) >= minimum and not failed and not unjudged
    return _criterion(cid, title, ok,
                      {"tag": tag, "scenarios": [r.scenario.id for r in chosen], "failed": failed,
                       "not_judged_in_full": unjudged, "count": len(chosen), "minimum": minimum},
                      f"{len(chosen) - len(failed) - len(unjudged)}/{len(chosen)} `{tag}` scenarios passed"
                      + (f" (need at least {minimum})" if len(chosen) < minimum else "")
                      + (f"; failed: {', '.join(failed)}" if failed else "")
                      + (f"; not judged in full against the target: {', '.join(unjudged)}" if unjudged else ""))


def state_transitions(results: list[ScenarioResult]) -> Criterion:
    from concierge.lifecycle import ALLOWED, all_pairs

    from .probes import probe_forbidden_transitions

    exercised: dict[str, list[str]] = {}
    for r in results:
        if not r.passed:
            continue
        for src, dst in r.observed.get("transitions", []):
            exercised.setdefault(f"{src}->{dst}", []).append(r.scenario.id)
    allowed = sorted(f"{a.value}->{b.value}" for a, b in ALLOWED)
    gaps = [t for t in allowed if t not in exercised]
    forbidden = sorted(f"{a.value}->{b.value}" for a, b in all_pairs() if (a, b) not in ALLOWED)
    refused = probe_forbidden_transitions()
    not_refused = [t for t in forbidden if refused.get(t) is not True]
    matrix = {t: {"allowed": True, "exercised_by": sorted(set(exercised.get(t, [])))[:5]} for t in allowed}
    matrix.update({t: {"allowed": False, "refused": refused.get(t) is True} for t in forbidden})
    ok = not gaps and not not_refused
    summary = (f"{len(allowed) - len(gaps)}/{len(allowed)} allowed transitions exercised by scenarios; "
               f"{len(forbidden) - len(not_refused)}/{len(forbidden)} forbidden ones refused")
    if gaps:
        summary += f"; not exercised: {', '.join(gaps)}"
    if not_refused:
        summary += f"; not refused: {', '.join(not_refused)}"
    return _criterion("activity.state_transitions", "Every state transition tested", ok,
                      {"matrix": matrix, "gaps": gaps, "not_refused": not_refused}, summary)


# --- exits -------------------------------------------------------------------------------------
def tool_contracts(results: list[ScenarioResult]) -> Criterion:
    from concierge.contracts import BRAIN_ACTION_TYPES, tool_names

    from .probes import probe_invalid_tool_args

    called = set()
    accepted: set[str] = set()
    rejected: set[str] = set()
    for r in results:
        called |= set(r.observed.get("tools", []))
        accepted |= set(r.observed.get("brain_accepted", []))
        rejected |= set(r.observed.get("brain_rejected_types", []))
    tools = list(tool_names())
    uncalled = [t for t in tools if t not in called]
    refused = probe_invalid_tool_args()
    not_refused = [t for t in tools if refused.get(t) is not True]
    not_accepted = [a for a in BRAIN_ACTION_TYPES if a not in accepted]
    not_rejected = [a for a in BRAIN_ACTION_TYPES if a not in rejected]
    ok = not (uncalled or not_refused or not_accepted or not_rejected)
    parts = [f"{len(tools) - len(uncalled)}/{len(tools)} tools called with validated arguments and results",
             f"{len(tools) - len(not_refused)}/{len(tools)} refused invalid arguments",
             f"brain actions accepted: {len(BRAIN_ACTION_TYPES) - len(not_accepted)}/4, "
             f"rejected: {len(BRAIN_ACTION_TYPES) - len(not_rejected)}/4"]
    for label, items in (("never called", uncalled), ("invalid args not refused", not_refused),
                         ("never accepted", not_accepted), ("never rejected", not_rejected)):
        if items:
            parts.append(f"{label}: {', '.join(items)}")
    evidence = {"called": sorted(called), "uncalled": uncalled, "invalid_args_refused": refused,
                "brain_accepted": sorted(accepted), "brain_rejected": sorted(rejected)}
    from ..replay.brain_cli import acceptance

    provider = acceptance(results)
    if provider is not None:  # the real brain's own proposals: accepted, rejected, and why
        evidence["provider_brain"] = provider
        parts.append("provider brain: " + ", ".join(f"{k} {v['accepted']}/{v['proposed']} accepted"
                                                    for k, v in provider["by_type"].items()))
    return _criterion("exit.tool_contracts", "All tool contracts validated", ok, evidence, "; ".join(parts))


def ocr_samples(args: argparse.Namespace) -> Criterion:
    title = "OCR pipeline tested with sample images"
    try:
        from ..ocr_eval import evaluate
    except ImportError as exc:  # pragma: no cover - the OCR stage ships with the package
        return _criterion("exit.ocr_samples", title, False, {"error": str(exc)}, f"OCR stage missing: {exc}")
    try:
        report = evaluate(Path(args.ocr_samples))
    except Exception as exc:
        return _criterion("exit.ocr_samples", title, False, {"error": f"{type(exc).__name__}: {exc}"},
                          f"OCR evaluation failed: {exc}")
    threshold = 0.9
    acc = _drug_accuracy_clean_mild(report)
    # Safety over accuracy: a prescription that went ahead with a wrong field fails the gate at any level.
    unsafe = sum(int(r.get("wrong_but_proceeded", 0)) for r in report.get("rows", []))
    images = sum(int(r.get("images", 0)) for r in report.get("rows", []))
    ok = acc is not None and acc >= threshold and unsafe == 0
    summary = (f"{images} sample images; drug-name accuracy on clean+mild {acc:.1%} (threshold "
               f"{threshold:.0%}); prescriptions that proceeded with a wrong field: {unsafe}"
               if acc is not None else "no clean/mild prescription samples evaluated")
    return _criterion("exit.ocr_samples", title, ok, {"threshold": threshold, "drug_name_accuracy_clean_mild": acc,
                                                      "wrong_but_proceeded": unsafe, "report": report}, summary)


def _drug_accuracy_clean_mild(report: dict[str, Any]) -> float | None:
    rows = [r for r in report.get("rows", []) if r.get("kind") == "prescription"
            and r.get("level") in ("clean", "mild") and r.get("drug_name_accuracy") is not None]
    images = sum(r["images"] for r in rows)
    if not images:
        return None
    return round(sum(r["drug_name_accuracy"] * r["images"] for r in rows) / images, 3)


def calling_mocks(results: list[ScenarioResult]) -> Criterion:
    base = tagged(results, "calling", "exit.calling_mocks", "Calling workflow tested with mocks", minimum=7)
    unsolicited = sum(1 for r in results if r.failure and r.failure.invariant == "no_call_without_consent")
    base["evidence"]["unsolicited_calls"] = unsolicited
    if unsolicited:
        base["verdict"] = "fail"
    base["summary"] += f"; unsolicited calls: {unsolicited}"
    return base


POPULATION = dict(clients=300, vendors=60, hours=3.0, seed=1, profile="phase3")
STRESS_WORLD = Path(__file__).resolve().parents[2] / "fixtures" / "stress-world.yaml"


def population_invariants() -> Criterion:
    """The scenario invariants (and request liveness) over a stressed, seeded population run: the
    interleavings hand-written scenarios never reach (cancels during consent, redeliveries during
    retries, STOP mid-batch) are where dedupe and stop break first."""
    import yaml

    from simulators.rollout.population import WorldParams
    from simulators.rollout.run_config import RunConfig
    from simulators.rollout.shard import ShardRun

    params = WorldParams.with_overrides(yaml.safe_load(STRESS_WORLD.read_text("utf-8")) or {})
    run = ShardRun(RunConfig(**POPULATION, params=params, invariants=True), 0)
    run.advance_all()
    problems = run.check_invariants()
    tally = run.finish()
    requests = int(tally.get("requests", 0)) + int(tally.get("coded_requests", 0))
    by_name: dict[str, int] = {}
    for name, _ in problems:
        by_name[name] = by_name.get(name, 0) + 1
    ok = not problems and requests >= 100
    summary = (f"{requests} simulated requests ({POPULATION['clients']} clients, stress world, seed "
               f"{POPULATION['seed']}, {int(tally.get('crashes', 0))} crashes and restarts); "
               f"{len(problems)} invariant violations")
    if by_name:
        summary += " (" + ", ".join(f"{n}: {k}" for n, k in sorted(by_name.items())) + ")"
    return _criterion("activity.population_invariants", "Invariants hold over a simulated population", ok,
                      {"requests": requests, "crashes": int(tally.get("crashes", 0)), "violations": by_name,
                       "examples": [f"{n}: {m}" for n, m in problems[:5]], **POPULATION}, summary)


def clean_logs(results: list[ScenarioResult], black_box: bool = False) -> Criterion:
    from concierge.phones import mask_phones_in

    levels: dict[str, int] = {}
    unexpected = []
    unmasked = []
    for r in results:
        allowed = tuple(getattr(r.scenario, "expected_log_errors", ()) or ())
        for line in r.log_lines:
            level = line.split(" ", 1)[0]
            levels[level] = levels.get(level, 0) + 1
            if level in ("ERROR", "CRITICAL") and not any(a in line for a in allowed):
                unexpected.append(f"{r.scenario.id}: {line[:160]}")
            if mask_phones_in(line) != line:
                unmasked.append(f"{r.scenario.id}: {line[:160]}")
    ok = not unexpected and not unmasked and all(r.verdict != "error" for r in results)
    if black_box:
        return _criterion("exit.clean_logs", "No critical issues in logs", False, {"black_box": True},
                          "not observable black-box: the target's logs are its own (its unmasked phones are "
                          "judged per scenario by the logs_masked invariant when the harness started it)")
    return _criterion("exit.clean_logs", "No critical issues in logs", ok,
                      {"records_by_level": levels, "unexpected_errors": unexpected[:20],
                       "unmasked_phone_lines": unmasked[:20]},
                      f"{sum(levels.values())} log records ({', '.join(f'{k} {v}' for k, v in sorted(levels.items()))}); "
                      f"{len(unexpected)} unexpected ERROR/CRITICAL; {len(unmasked)} lines with an unmasked phone")


def run_phase0(args: argparse.Namespace) -> int:
    scenarios, problems = load_all(args.scenarios)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        print("gate: invalid scenario files; fix them first (concierge-sim validate)", file=sys.stderr)
        return EXIT_INVALID
    from .scenario_options import brain_and_target

    configured = brain_and_target(scenarios, args, "concierge-sim gate")
    if isinstance(configured, int):
        return configured
    scenarios, target = configured
    print(f"gate phase0: {len(scenarios)} scenarios, seed {args.seed if args.seed is not None else 'per scenario'}"
          + (f", black-box against {target.webhook_url}" if target else ""), flush=True)
    if not args.skip_unit_tests and not args.unit_junit:
        args.reuse = _reused_junit(args)
        if not args.reuse["junit"]:
            print("gate: running the unit test suite alongside the scenarios ...", flush=True)
            args.unit_suite = UnitSuite(_fresh_junit(args))
    try:
        return _judge_phase0(args, scenarios, target)
    finally:
        if getattr(args, "unit_suite", None) is not None:
            args.unit_suite.stop()


def _judge_phase0(args: argparse.Namespace, scenarios: list[Any], target: Any) -> int:
    from ..replay import brain_cli

    if target is not None:
        from ..blackbox.run import run_blackbox

        results, summary = run_blackbox(scenarios, target, seed=args.seed), None
        every_run = results
    else:
        results, summary, every_run = brain_cli.run(scenarios, args.seed, args.repeat)
    print_results(results, args.seed)
    steps: list[Callable[[], Criterion]] = [
        lambda: unit_tests(args) if not args.skip_unit_tests else _criterion(
            "entry.unit_tests", "Unit tests pass", False, {"skipped": True}, "skipped (--skip-unit-tests)"),
        lambda: flags_off_by_default(args),
        lambda: tagged(results, "dedupe", "activity.dedupe", "Dedupe verified"),
        lambda: tagged(results, "stop", "activity.stop", "Stop logic verified"),
        lambda: tagged(results, "shortlist", "activity.shortlist", "Shortlist logic verified"),
        lambda: state_transitions(results),
        population_invariants,
        lambda: tool_contracts(results),
        lambda: ocr_samples(args),
        lambda: calling_mocks(results),
        lambda: clean_logs(results, black_box=target is not None),
        *[lambda tag=tag: brain_cli.pass_k_criterion(summary, tag, args.repeat) for tag in args.require_pass_k],
    ]
    criteria = []
    for step in steps:
        try:
            criteria.append(step())
        except Exception as exc:  # a broken probe is a failed criterion with its reason, not a crash
            criteria.append(_criterion("gate.error", "Gate probe error", False,
                                       {"error": f"{type(exc).__name__}: {exc}"}, f"{type(exc).__name__}: {exc}"))
    verdict = "pass" if all(c["verdict"] == "pass" for c in criteria) and all(r.passed for r in results) else "fail"
    write_reports(args.output.staging, results, seed=args.seed, page=write_run_report, gate="phase0",
                  criteria=criteria, verdict=verdict)
    brain_cli.append_to_reports(args.output.staging, summary, every_run)
    args.output.commit()
    _print_table(criteria, verdict, fail_causes(criteria, results))
    print(f"reports: {args.report_dir}/report.json, report.md, junit.xml, report.html")
    if any(r.verdict == "error" for r in results):
        return EXIT_ERROR
    return EXIT_OK if verdict == "pass" else EXIT_FAILED


def _print_table(criteria: list[Criterion], verdict: str, causes: list[str] | None = None) -> None:
    width = max(len(c["id"]) for c in criteria)
    print()
    for c in criteria:
        mark = "PASS" if c["verdict"] == "pass" else "FAIL"
        print(f"  {mark}  {c['id']:<{width}}  {c['summary']}")
    print(f"\nPhase 0 gate: {verdict.upper()}" + (f" because: {'; '.join(causes)}" if causes else ""))


def main(phase: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"concierge-sim gate {phase}")
    if phase == "phase0":
        parser.add_argument("--scenarios", nargs="+", default=["scenarios/phase0"],
                            help="the gate's scenario set (default: the scenarios/phase0 folder only; "
                                 "your own files elsewhere under scenarios/ are not judged)")
        parser.add_argument("--report-dir", default="reports/phase0")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--unit-junit", default=None, help="use this junit file instead of running pytest")
        parser.add_argument("--skip-unit-tests", action="store_true")
        parser.add_argument("--reuse-unit-junit", default="reports/unit", metavar="DIR",
                            help="take the junit `nox -s tests` left in DIR if its tree key is this tree's "
                                 "(default: %(default)s; '' always runs the suite)")
        parser.add_argument("--ocr-samples", default="fixtures/images")
        from .scenario_options import add_scenario_run_arguments

        add_scenario_run_arguments(parser)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:
            return EXIT_INVALID if exc.code else EXIT_OK
        with OutputSet(args.report_dir, seed=args.seed) as args.output:  # this run's evidence only
            return run_phase0(args)
    if phase in ("phase1", "phase2", "phase3"):
        from ..html.rollout_page import write_gate_page
        from ..rollout.gates import main as rollout_gate_main

        return rollout_gate_main(phase, argv, gate_page=write_gate_page)
    print(f"concierge-sim gate: unknown phase {phase!r}; expected phase0, phase1, phase2 or phase3",
          file=sys.stderr)
    return EXIT_INVALID

