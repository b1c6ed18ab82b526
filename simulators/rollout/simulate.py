"""``concierge-sim simulate``: a seeded population against the real concierge, on the virtual clock.

A run is one market by default: one SimWorld — the real ``Concierge`` with its SQLite ledger, the
fake Cloud API, signed webhooks — holding every client and every vendor, so that vendors' daily caps,
cooldowns and busy spells feel the whole population's load. ``--shards K`` splits the market into K
independent sub-markets instead (client ``i`` and vendor ``j`` belong to shard ``i % K`` and
``j % K``): the client-to-vendor ratio, and so the load on each vendor, is kept, but each request
chooses among 1/K of the vendors. Shards share nothing, so ``--workers`` runs them in parallel
processes and the merged tally is the same for every number of workers.

This module is the command (its options, its output set, its summary line); the run itself is
``run_config.py`` (what a run is), ``shard.py`` (one shard's world and people), ``sharding.py``
(shards in this process or on workers, merged) and ``liveness.py`` (invariants over a finished shard).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from simulators.outputs import OutputSet

from .brain_source import spec_from_args
from .cli_args import add_simulate_arguments, parsed
from .emptiness import ai_path_note
from .metrics import Tally, dumps, finalize, load_prices
from .population import WorldParams
from .run_config import RunConfig, size_problem
from .sharding import simulate


def write_run(out: Path, config: RunConfig, tally: Tally, partials: list[dict],
              prices_path: str | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    prices = load_prices(prices_path)
    metrics = finalize(tally, prices)
    (out / "metrics.json").write_text(dumps(metrics))
    (out / "tally.json").write_text(dumps({"merged": tally.to_json(), "shards": partials}))
    return metrics


def run_description(config: RunConfig, prices_path: str | None = None) -> dict[str, Any]:
    """What the run was: configuration, flags, caps and prices; kept in the run's manifest."""
    settings = config.settings()
    return {
        "config": {**asdict(config), "params": asdict(config.params)},
        "profile": settings.name, "flags": settings.flags.describe(),
        "caps": asdict(settings.caps), "max_pilot_users": settings.max_pilot_users,
        "prices": load_prices(prices_path),
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="concierge-sim simulate", description=__doc__.splitlines()[0])
    return add_simulate_arguments(p)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    params = WorldParams()
    if args.params:
        try:
            overrides = yaml.safe_load(Path(args.params).read_text("utf-8"))
            params = WorldParams.with_overrides({} if overrides is None else overrides)
        except (yaml.YAMLError, ValueError) as exc:
            raise ValueError(f"{args.params}: {exc}") from None
    shards = args.shards or 1
    return RunConfig(clients=args.clients, vendors=args.vendors, hours=args.hours, seed=args.seed,
                     profile=args.profile, env_file=args.env_file, params=params, shards=shards,
                     ocr=args.ocr, invariants=args.invariants, brain=spec_from_args(args),
                     ledger=args.ledger, review=args.review_shortlists)


# Writes samples.json, run.html and review.html (``simulators.html.rollout_page.write_run_pages``):
# (staging folder, config, metrics, the shards' samples, shown_as=the run folder). The pages read the
# rollout's results, so the rollout does not import them; whoever runs it hands them in.
RunPages = Callable[..., object]


def main(argv: list[str] | None = None, *, run_pages: RunPages) -> int:
    args = parsed(_parser(), argv)
    return args if isinstance(args, int) else run_from_args(args, run_pages=run_pages)


def harness_error(out: OutputSet, command: str, folder: str, exc: Exception, again: str) -> int:
    """A run that broke (a bug in the concierge or the simulator): its traceback kept as error.txt in
    a set that says it is not complete, one line for the user, exit 3."""
    import traceback

    out.write_text("error.txt", traceback.format_exc())
    out.commit(complete=False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    print(f"{command}: harness error, {type(exc).__name__}: {str(exc)[:300]} "
          f"(traceback in {Path(folder) / 'error.txt'}; {again})", file=sys.stderr)
    return 3


def run_from_args(args: argparse.Namespace, *, run_pages: RunPages) -> int:
    problem = size_problem(args.clients, args.vendors, args.hours, args.shards, args.workers)
    if problem:
        print(f"simulate: {problem}", file=sys.stderr)
        return 2
    if args.workers > (args.shards or 1):
        print(f"simulate: note: {args.workers} workers but {args.shards or 1} shard(s); a shard is one "
              "process's work (--shards K splits the market into K sub-markets)", file=sys.stderr)
    try:
        config = config_from_args(args)
        config.settings()
        load_prices(args.prices)  # a broken price table is found now, not after the run
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    # The brain's cassette may live in the run folder (its default place): an input the set keeps.
    found: list[dict] = []
    with OutputSet(args.out, seed=config.seed, carry=("brain-cassette.*.jsonl",)) as out:
        try:
            tally, partials = simulate(config, args.workers, samples=found)
        except Exception as exc:  # a bug in the concierge or the simulator: say so, keep the details
            return harness_error(out, "simulate", args.out, exc, "same seed, same failure")
        metrics = write_run(out.staging, config, tally, partials, args.prices)
        note = ai_path_note(metrics, config.settings().flags.describe(), config.clients)
        if not args.no_plots:
            from .plots import plot_in_child

            plot_in_child(out.staging, args.out, note)
        run_pages(out.staging, config, metrics, found, shown_as=args.out)  # samples.json, run.html, review.html
        out.commit(**run_description(config, args.prices))
    if note:
        print(f"simulate: warning: {note}", file=sys.stderr)
    out = Path(args.out)
    p95 = metrics["time_to_shortlist_p95_s"]
    p95_text = f"{p95} s" if p95 is not None else ("never" if metrics["time_to_shortlist_never"] else "-")
    error_rate = "-" if metrics["error_rate"] is None else metrics["error_rate"]
    print(f"{metrics['requests_total']} requests ({metrics['requests']} on the AI path), "
          f"error rate {error_rate}, p95 {p95_text}, "
          f"cost/request {'-' if metrics['cost_per_request'] is None else metrics['cost_per_request']} USD "
          f"-> {out}/metrics.json")
    return 0
