"""``concierge-sim``: run and validate scenario files, evaluate OCR, and gate a phase.

Exit codes (docs/scenario-format.md): 0 all passed · 1 a scenario failed · 2 invalid scenario file or
usage · 3 harness error. Bad input is reported as ``file:line key: message`` — never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..command_line import Parser, run_handler
from ..outputs import OutputSet, set_command
from ..progress import ProgressLine
from ..replay.model import Problem, Scenario
from ..replay.suite import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    load_all,
    print_results,
    select,
)


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="concierge-sim", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="a harness error shows its traceback (any position)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="run scenario files or folders")
    run.add_argument("paths", nargs="+")
    run.add_argument("--report-dir", default="reports/run")
    run.add_argument("--seed", type=int, default=None, help="override every scenario's seed")
    run.add_argument("-k", dest="keyword", default=None, help="only scenarios whose id or file contains TEXT")
    run.add_argument("--tag", action="append", default=[], help="only scenarios with this tag (repeatable)")
    run.add_argument("--ledger", default=None, metavar="DIR",
                     help="keep each scenario's ledger in DIR/SCENARIO.sqlite (WAL) instead of in memory")
    from .scenario_options import add_scenario_run_arguments

    add_scenario_run_arguments(run)
    run.add_argument("-v", "--verbose", action="store_true", help="print every scenario's whole transcript")
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("paths", nargs="+")
    new = sub.add_parser("new", help="scaffold a scenario that passes as generated")
    new.add_argument("name")
    new.add_argument("--template", default="happy-path",
                     choices=["happy-path", "dedupe", "stop", "ocr", "calling"])
    new.add_argument("--dir", default="scenarios")
    ocr = sub.add_parser("ocr-eval", help="measure the OCR stage on a sample set")
    ocr.add_argument("rest", nargs=argparse.REMAINDER)
    sim = sub.add_parser("simulate", help="a seeded population run for Phases 1-3 (metrics, plots)")
    from ..rollout.cli_args import add_simulate_arguments

    add_simulate_arguments(sim)
    swp = sub.add_parser("sweep", help="simulate runs over a grid of world and policy parameters x seeds, "
                                       "on a Dask cluster: one table, plots against the thresholds")
    from ..rollout.sweep import add_sweep_arguments

    add_sweep_arguments(swp)
    crash = sub.add_parser("crash-sweep", help="kill the concierge inside every send (or ledger write) of "
                                                "each scenario, one at a time, and check what must survive")
    crash.add_argument("paths", nargs="+")
    crash.add_argument("-k", dest="keyword", default=None, help="only scenarios whose id or file contains TEXT")
    crash.add_argument("--tag", action="append", default=[], help="only scenarios with this tag (repeatable)")
    crash.add_argument("--at", choices=["sends", "writes"], default="sends",
                       help="crash points: each send (default) or each ledger write (see docs)")
    crash.add_argument("--settle", type=float, default=None, metavar="SECONDS",
                       help="virtual time after the last step before judging (default 2 h)")
    crash.add_argument("--max-points", type=int, default=None, metavar="N",
                       help="at most N crash points per scenario (each crashed before and after): a scenario "
                            "with more sweeps a seeded sample of N, first and last included, the same on "
                            "every run (default: all; a long scenario has over a thousand writes)")
    crash.add_argument("--kill", action="store_true",
                       help="a real kill -9 of a child process at each send, restarted on the same ledger file")
    crash.add_argument("--ledger", default=None, metavar="DIR",
                       help="with --kill: keep the ledger files there (default: a temporary folder)")
    from ..replay.golden.cli_import import add_import_command

    add_import_command(sub)
    gate = sub.add_parser("gate", help="judge a phase: phase0 (scenarios) or phase1..3 (a simulation run)")
    gate.add_argument("phase")
    gate.add_argument("rest", nargs=argparse.REMAINDER)
    # Subcommands living in their own packages register themselves (with set_defaults(handler=...)).
    from ..emulator.cli import add_emulate_parser

    add_emulate_parser(sub)
    from service.cli import add_concierge_parser

    add_concierge_parser(sub)
    return p


def _chosen(args: argparse.Namespace) -> list[Scenario] | int:
    """The scenarios the paths, ``-k`` and ``--tag`` select, or exit 2 after saying what is wrong."""
    broken: dict[str, list[Problem]] = {}
    scenarios, problems = load_all(args.paths, broken)
    if problems and (args.keyword or args.tag) and len(problems) == sum(map(len, broken.values())):
        from ..replay.selection import picks_broken_file, warning_for

        for file in [f for f in broken if not picks_broken_file(f, args.keyword, args.tag)]:
            print(warning_for(file, len(broken.pop(file))), file=sys.stderr)
        problems = [p for file_problems in broken.values() for p in file_problems]
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        return EXIT_INVALID
    chosen = select(scenarios, args.keyword, args.tag)
    if not chosen:
        print("concierge-sim: no scenario matches the selection", file=sys.stderr)
        return EXIT_INVALID
    return chosen


def cmd_run(args: argparse.Namespace) -> int:
    from ..html.run_report import write_run_report
    from ..replay import brain_cli
    from ..replay.reports import write_reports
    from .scenario_options import brain_and_target

    chosen = _chosen(args)
    if isinstance(chosen, int):
        return chosen
    configured = brain_and_target(chosen, args, "concierge-sim")
    if isinstance(configured, int):
        return configured
    chosen, target = configured
    if target is not None:
        return _run_blackbox(chosen, target, args)
    with OutputSet(args.report_dir, seed=args.seed) as out:
        print(f"running {len(chosen)} scenario(s), seed: {args.seed if args.seed is not None else 'per scenario'}"
              + (f", {args.repeat} runs each" if args.repeat > 1 else ""))
        results, summary, every_run = brain_cli.run(chosen, args.seed, args.repeat, args.ledger)
        write_reports(out.staging, results, seed=args.seed, page=write_run_report)
        brain_cli.append_to_reports(out.staging, summary, every_run)
        out.commit()
    if args.verbose:
        from ..replay.report_parts import transcript_text

        for r in results:
            print("\n".join(transcript_text(r, args.seed)))
    print_results(results, args.seed)
    if summary is not None:
        print(brain_cli.console(summary))
    print(f"reports: {args.report_dir}/report.json, report.md, junit.xml, report.html")
    if any(r.verdict == "error" for r in results):
        return EXIT_ERROR
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def _run_blackbox(chosen: list[Scenario], target, args: argparse.Namespace) -> int:
    from ..blackbox.run import run_blackbox
    from ..html.run_report import write_run_report
    from ..replay.reports import write_reports

    with OutputSet(args.report_dir, seed=args.seed) as out:
        print(f"running {len(chosen)} scenario(s) black-box against {target.webhook_url}")
        progress = ProgressLine(len(chosen))
        done = iter(range(1, len(chosen) + 1))
        results = run_blackbox(chosen, target, seed=args.seed,
                               on_result=lambda r: progress.step(next(done), r.scenario.id))
        progress.close()
        write_reports(out.staging, results, seed=args.seed, page=write_run_report)
        out.commit()
    print_results(results, args.seed)
    print(f"reports: {args.report_dir}/report.json, report.md, junit.xml, report.html")
    if any(r.verdict == "error" for r in results):
        return EXIT_ERROR
    return EXIT_OK if all(r.passed for r in results) else EXIT_FAILED


def cmd_validate(args: argparse.Namespace) -> int:
    scenarios, problems = load_all(args.paths)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {files} file(s); {len(scenarios)} file(s) valid", file=sys.stderr)
        return EXIT_INVALID
    print(f"{len(scenarios)} scenario file(s) valid")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from ..replay.templates import scaffold

    try:
        path = scaffold(args.name, args.template, Path(args.dir))
    except ValueError as exc:
        print(f"concierge-sim new: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"created {path}; run it with: concierge-sim run {path}")
    return EXIT_OK


def cmd_ocr_eval(args: argparse.Namespace) -> int:
    from ..ocr_eval import main as ocr_main

    return ocr_main(list(args.rest))


def cmd_simulate(args: argparse.Namespace) -> int:
    from ..html.rollout_page import write_run_pages
    from ..rollout.simulate import run_from_args

    return run_from_args(args, run_pages=write_run_pages)


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..rollout.sweep import run_from_args

    return run_from_args(args)


def cmd_crash_sweep(args: argparse.Namespace) -> int:
    from ..replay.crash_sweep import SETTLE_S, sweep

    chosen = _chosen(args)
    if isinstance(chosen, int):
        return chosen
    if args.settle is not None and not 0 <= args.settle < 10 * 24 * 3600:
        print("concierge-sim crash-sweep: --settle must be between 0 and 10 days in seconds", file=sys.stderr)
        return EXIT_INVALID
    if args.max_points is not None and args.max_points < 2:
        print("concierge-sim crash-sweep: --max-points must be at least 2 (the first and the last crash "
              "point are always swept)", file=sys.stderr)
        return EXIT_INVALID
    if args.ledger and not args.kill:
        print("concierge-sim crash-sweep: --ledger goes with --kill (the in-process sweep restarts on the "
              "ledger it holds open)", file=sys.stderr)
        return EXIT_INVALID
    if args.kill:
        from ..replay.kill_sweep import cli_kill_sweep

        print(f"kill sweep: {len(chosen)} scenario(s); a child process is killed (SIGKILL) before and after "
              "each send in turn, and a new one finishes on the same ledger file")
        return cli_kill_sweep(chosen, args.ledger, args.max_points)
    settle = SETTLE_S if args.settle is None else args.settle
    point = args.at[:-1]  # send | write
    print(f"crash sweep: {len(chosen)} scenario(s); the process dies "
          + ("inside each send in turn, before and after Meta accepted it" if args.at == "sends"
             else "at each ledger write in turn, before and after it lands")
          + (f"; at most {args.max_points} {point} points per scenario" if args.max_points else ""))
    progress = ProgressLine(len(chosen))
    findings, runs, sampled = [], 0, 0
    for i, scenario in enumerate(chosen, 1):
        progress.step(i, scenario.id)

        def on_run(done: int, total: int, i: int = i, name: str = scenario.id) -> None:
            progress.step(i, f"{name[:40]} run {done}/{total}")

        result = sweep(scenario, settle_s=settle, at=args.at, max_points=args.max_points, on_run=on_run)
        runs += result.runs
        findings += result.findings
        sampled += result.sampled
        progress.close()
        swept = (f"sampled {len(result.points):,} of {result.sends:,} {point} points" if result.sampled
                 else f"{result.sends:,} {point} points")
        # One line per scenario as it ends: a long sweep's progress in a log, where the live line is silent.
        print(f"  {scenario.id}: {swept}, {result.runs:,} crash runs, {len(result.findings)} finding(s)",
              flush=True)
    for f in findings:
        print(f"FINDING {f.headline()}")
    note = f"; {sampled} sampled (--max-points {args.max_points})" if sampled else ""
    print(f"{len(chosen)} scenario(s), {runs:,} crash runs, {len(findings)} finding(s){note}")
    return EXIT_FAILED if findings else EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    from .gate import main as gate_main

    return gate_main(args.phase, list(args.rest))


def _cmd_import(args: argparse.Namespace) -> int:
    from ..replay.golden.cli_import import cmd_import

    return cmd_import(args)


def main(argv: Sequence[str] | None = None) -> int:
    from ..html.pages import ReportDirError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # anywhere on the line: gate and ocr-eval pass their own arguments on
    argv = [a for a in argv if a != "--debug"]
    set_command(["concierge-sim", *argv])
    args = _parser().parse_args(argv)
    handlers = {"run": cmd_run, "validate": cmd_validate, "new": cmd_new,
                "ocr-eval": cmd_ocr_eval, "gate": cmd_gate, "simulate": cmd_simulate, "sweep": cmd_sweep,
                "crash-sweep": cmd_crash_sweep, "import": _cmd_import}
    # A report folder that cannot be written is the environment, not the scenarios: one line, exit 3.
    return run_handler(getattr(args, "handler", None) or handlers[args.command], args, debug=debug,
                       one_line=(ReportDirError,))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
