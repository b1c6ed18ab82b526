"""Command-line glue for HTTP brains and repeated runs: ``--brain``, ``--brain-url``,
``--cassette-mode`` and ``--repeat`` for ``run`` and ``gate phase0``.

``--brain PROVIDER[:MODEL]`` puts that provider behind every selected scenario (a scenario's own
``brain:`` keeps its cassette and options; the others get ``<scenario dir>/cassettes/<id>.<provider>.jsonl``);
``--brain rule`` ignores every ``brain:`` key. ``--cassette-mode`` overrides every scenario's mode.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..brain_spec import DEFAULT_MODELS, BrainSpec
from .check_brain import default_cassette
from .model import Scenario
from .vocabulary import BRAIN_PROVIDERS, CASSETTE_MODES


def add_brain_arguments(p: argparse.ArgumentParser, *, repeat: bool = True) -> None:
    p.add_argument("--brain", default=None, metavar="PROVIDER[:MODEL]",
                   help=f"an HTTP brain for every scenario: {', '.join(BRAIN_PROVIDERS)} (or rule: ignore brain: keys)")
    p.add_argument("--brain-url", default=None, metavar="URL", help="the provider's base URL (e.g. a local server)")
    p.add_argument("--cassette-mode", default=None, choices=CASSETTE_MODES,
                   help="replay (default: never calls out), record (calls and writes), auto (records misses)")
    if repeat:
        p.add_argument("--require-pass-k", action="append", default=[], metavar="TAG",
                       help="gate: every scenario with TAG must pass all K runs (repeatable)")
        p.add_argument("--repeat", type=int, default=1, metavar="K",
                       help="run each scenario K times with K seeds (and K brain samples); report pass^k")


def apply(scenarios: list[Scenario], args: argparse.Namespace) -> list[Scenario] | list[str]:
    """The scenarios with the command line's brain options applied, or the problems with them."""
    brain, mode, url = getattr(args, "brain", None), getattr(args, "cassette_mode", None), getattr(args, "brain_url", None)
    provider, _, model = (brain or "").partition(":")
    if brain is not None and provider not in (*BRAIN_PROVIDERS, "rule"):
        return [f"--brain: unknown provider {provider!r}; expected {', '.join(BRAIN_PROVIDERS)} or rule"]
    out: list[Scenario] = []
    problems: list[str] = []
    for s in scenarios:
        spec: BrainSpec | None = s.brain
        if provider == "rule":
            out.append(dataclasses.replace(s, brain=None))
            continue
        if provider:
            if spec is None:
                spec = BrainSpec(provider=provider, model=model or DEFAULT_MODELS[provider],
                                 cassette=default_cassette(Path(s.file).parent, s.id, provider))
            else:
                spec = dataclasses.replace(spec, provider=provider, model=model or spec.model)
        if spec is None:
            out.append(s)
            continue
        spec = dataclasses.replace(spec, mode=mode or spec.mode, base_url=url or spec.base_url)
        if spec.mode == "replay" and not Path(spec.cassette).is_file():
            problems.append(f"{s.file}:{spec.line or 1} brain.cassette: cassette {spec.cassette} not found; "
                            f"record it with: concierge-sim run {s.file} --brain {spec.provider} "
                            "--cassette-mode record")
        out.append(dataclasses.replace(s, brain=spec))
    return problems or out


def configured(scenarios: list[Scenario], args: argparse.Namespace) -> list[Scenario] | int:
    """``apply``, and ``--repeat`` checked; on a problem it is printed and exit 2 is returned."""
    import sys

    out = apply(scenarios, args)
    problems = [p for p in out if isinstance(p, str)]
    if getattr(args, "repeat", 1) < 1:
        problems.append("--repeat: K must be at least 1")
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    return out  # type: ignore[return-value]


def repeated(scenario: Scenario, i: int, seed: int | None) -> Scenario:
    """The i-th of K runs: its own seed, and the i-th recorded sample of each brain answer."""
    base = scenario.seed if seed is None else seed
    brain = dataclasses.replace(scenario.brain, sample=i) if scenario.brain is not None else None
    return dataclasses.replace(scenario, seed=base + i, brain=brain)


def run_repeated(scenarios: list[Scenario], seed: int | None, k: int,
                 ledger: str | None = None) -> tuple[list[Any], dict[str, Any], list[Any]]:
    """Each scenario K times. Returns one result per scenario for the usual reports (its first
    failing run, else its first run), the pass^k summary, and every run's result."""
    from .suite import run_all

    runs = [run_all([repeated(s, i, seed) for s in scenarios], None, ledger) for i in range(k)]
    by_scenario = list(zip(*runs, strict=True)) if runs else []
    shown = [next((r for r in rs if not r.passed), rs[0]) for rs in by_scenario]
    return shown, pass_k(by_scenario, k), [r for rs in by_scenario for r in rs]


def run(scenarios: list[Scenario], seed: int | None, k: int,
        ledger: str | None = None) -> tuple[list[Any], dict[str, Any] | None, list[Any]]:
    """``run_repeated`` when K > 1, else one plain run (no pass^k summary); ``ledger``: ``--ledger``."""
    if k > 1:
        return run_repeated(scenarios, seed, k, ledger)
    from .suite import run_all

    results = run_all(scenarios, seed, ledger)
    return results, None, results


def pass_k(by_scenario: list[tuple[Any, ...]], k: int) -> dict[str, Any]:
    rows = []
    for rs in by_scenario:
        passed = sum(r.passed for r in rs)
        rows.append({"id": rs[0].scenario.id, "tags": list(rs[0].scenario.tags), "runs": len(rs),
                     "passed": passed, "pass_rate": round(passed / len(rs), 4), "pass_k": passed == len(rs),
                     "seeds": [r.scenario.seed for r in rs]})
    total = sum(r["runs"] for r in rows)
    return {"k": k, "scenarios": rows,
            "suite_pass_k": round(sum(r["pass_k"] for r in rows) / len(rows), 4) if rows else None,
            "suite_pass_rate": round(sum(r["passed"] for r in rows) / total, 4) if total else None}


def tag_pass_k(summary: dict[str, Any], tag: str) -> tuple[bool, list[str], int]:
    """Whether every scenario with ``tag`` passed all K runs: (ok, the ids that did not, how many)."""
    tagged = [r for r in summary["scenarios"] if tag in r["tags"]]
    failing = [r["id"] for r in tagged if not r["pass_k"]]
    return bool(tagged) and not failing, failing, len(tagged)


def pass_k_criterion(summary: dict[str, Any] | None, tag: str, k: int) -> dict[str, Any]:
    """The gate's ``reliability.pass_k.<tag>``: every scenario with the tag passed all K runs."""
    cid, title = f"reliability.pass_k.{tag}", f"pass^{k} for the scenarios tagged {tag}"
    if summary is None:
        return {"id": cid, "title": title, "verdict": "fail", "evidence": {"k": k},
                "summary": "needs --repeat K with K >= 2"}
    ok, failing, n = tag_pass_k(summary, tag)
    rows = [r for r in summary["scenarios"] if tag in r["tags"]]
    text = (f"{n - len(failing)}/{n} scenarios passed all {k} runs" if n else f"no scenario is tagged {tag}")
    if failing:
        text += f"; not every run passed: {', '.join(failing)}"
    return {"id": cid, "title": title, "verdict": "pass" if ok else "fail",
            "evidence": {"k": k, "scenarios": rows}, "summary": text}


def console(summary: dict[str, Any]) -> str:
    k = summary["k"]
    lines = [f"pass^{k}: {summary['suite_pass_k']:.0%} of scenarios passed all {k} runs; "
             f"pass rate {summary['suite_pass_rate']:.0%}"]
    lines += [f"  {r['id']}: {r['passed']}/{r['runs']} passed" for r in summary["scenarios"] if not r["pass_k"]]
    return "\n".join(lines)


def markdown(summary: dict[str, Any] | None, results: list[Any]) -> str:
    lines: list[str] = []
    if summary is not None:
        k = summary["k"]
        lines += ["", f"## Reliability: pass^{k}", "",
                  f"Suite: pass^{k} {summary['suite_pass_k']:.0%}, pass rate {summary['suite_pass_rate']:.0%}.", "",
                  f"| scenario | passed | pass rate | pass^{k} | seeds |", "|---|---|---|---|---|"]
        lines += [f"| {r['id']} | {r['passed']}/{r['runs']} | {r['pass_rate']:.0%} | {'yes' if r['pass_k'] else 'no'} "
                  f"| {', '.join(map(str, r['seeds']))} |" for r in summary["scenarios"]]
    rates = acceptance(results)
    if rates:
        lines += ["", "## Provider brain: acceptance by action type", "",
                  "| action type | proposed | accepted | rejected | acceptance |", "|---|---|---|---|---|"]
        for kind, row in rates["by_type"].items():
            lines.append(f"| {kind} | {row['proposed']} | {row['accepted']} | {row['rejected']} | {row['rate']:.0%} |")
        u = rates["usage"]
        lines += ["", f"Brain calls {u['calls']}, tokens in {u['input_tokens']:,} / out {u['output_tokens']:,}, "
                      f"cost {u['cost_usd']:.6f} USD."]
        if rates["reasons"]:
            lines += ["", "Rejections:", ""] + [f"- `{kind}`: {reason}" for kind, reason in rates["reasons"][:20]]
    return "\n".join(lines) + ("\n" if lines else "")


def acceptance(results: list[Any]) -> dict[str, Any] | None:
    """The provider brain's proposals across results, per action type (None without one)."""
    outputs = [o for r in results for o in r.observed.get("brain_outputs", [])]
    usages = [r.observed["brain_usage"] for r in results if r.observed.get("brain_usage")]
    if not usages:
        return None
    by_type: dict[str, dict[str, Any]] = {}
    for o in outputs:
        row = by_type.setdefault(o["action_type"] or "(not an action)", {"proposed": 0, "accepted": 0, "rejected": 0})
        row["proposed"] += 1
        row["accepted" if o["accepted"] else "rejected"] += 1
    for row in by_type.values():
        row["rate"] = row["accepted"] / row["proposed"]
    usage = {key: sum(u[key] for u in usages) for key in ("calls", "input_tokens", "output_tokens")}
    usage["cost_usd"] = round(sum(u["cost_usd"] for u in usages), 8)
    reasons = [(o["action_type"] or "(not an action)", o["reason"]) for o in outputs if not o["accepted"]]
    return {"by_type": dict(sorted(by_type.items())), "usage": usage, "reasons": reasons}


def append_to_reports(report_dir: str | Path, summary: dict[str, Any] | None, results: list[Any]) -> None:
    """pass^k and the provider brain's acceptance, added to report.json and report.md."""
    import json

    extra_md = markdown(summary, results)
    if not extra_md:
        return
    out = Path(report_dir)
    report = json.loads((out / "report.json").read_text("utf-8"))
    if summary is not None:
        report["pass_k"] = summary
    rates = acceptance(results)
    if rates is not None:
        report["brain"] = rates
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    with (out / "report.md").open("a", encoding="utf-8") as f:
        f.write(extra_md)
