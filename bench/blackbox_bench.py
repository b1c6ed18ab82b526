"""Black-box vs in-process: the Phase 0 suite's wall time both ways.

``python bench/blackbox_bench.py [--runs 3] [--scenarios scenarios/phase0] [--json OUT]`` runs
``concierge-sim run`` on the suite in-process, then black-box against our service started by
``--target-cmd`` (with its probe, on a free loopback port), in turn, ``--runs`` times each, and prints
each run, the medians, and the median of the pair-by-pair ratios (black-box / in-process). Whole
commands are timed (start-up, the service's start, every scenario, the reports). The goal (issue 17):
black-box within 3x. Only the scenarios that run black-box are a fair comparison; the others are
not run black-box at all (not runnable), which the figures include as they are. Never assert on
these figures in tests: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "simulators.commands.cli", "run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(args: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args[:6])} ...: exit {done.returncode}\n{done.stderr[-2000:]}")
    return elapsed


def _env(send_timeout: float | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "WHATSAPP_SEND_TIMEOUT_S"}
    return env if send_timeout is None else {**env, "WHATSAPP_SEND_TIMEOUT_S": str(send_timeout)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="scenarios/phase0")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--send-timeout", type=float, metavar="SECONDS",
                        help="the service's WHATSAPP_SEND_TIMEOUT_S: each `timeout` send fault costs the target "
                             "this long in wall time (in-process, no time); default: the runner's, 1 s")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="blackbox-bench-"))
    in_process, black_box = [], []
    for i in range(args.runs):
        in_process.append(_timed([*CLI, args.scenarios, "--report-dir", str(out / f"ip{i}")]))
        port = _free_port()
        black_box.append(_timed([
            *CLI, args.scenarios, "--report-dir", str(out / f"bb{i}"), "--target", f"http://127.0.0.1:{port}/webhook",
            "--probe-secret", secrets.token_hex(16), "--target-cmd",
            f"{sys.executable} -m service --port {port} --db {{workdir}}/ledger.sqlite --probe --log-level warning"],
            env=_env(args.send_timeout)))
        print(f"run {i + 1}: in-process {in_process[-1]:.1f} s, black-box {black_box[-1]:.1f} s "
              f"({black_box[-1] / in_process[-1]:.2f}x)", flush=True)
    ratios = [b / a for a, b in zip(in_process, black_box, strict=True)]
    summary = {"runs": args.runs, "send_timeout_s": args.send_timeout or 1.0, "in_process_median_s": round(statistics.median(in_process), 2),
               "black_box_median_s": round(statistics.median(black_box), 2),
               "ratio_median": round(statistics.median(ratios), 2), "goal_ratio": 3.0}
    print(json.dumps(summary))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
