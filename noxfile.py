"""Sessions: ``phase0`` (the main job: the Phase 0 gate), ``tests``, ``lint``, ``bench``, ``nightly``."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests", "phase0"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = False


@nox.session
def tests(session: nox.Session) -> None:
    """tests/unit, tests/world, tests/harness and the scenarios (which run as pytest items too);
    one kind alone: ``nox -s tests -- tests/unit -q`` (tests/README.md)."""
    session.install("-e", ".[test]")
    args = session.posargs or ["tests", "scenarios", "-n", "auto", "-q"]
    # Through unit_evidence: the junit and this tree's key land in reports/unit, where the gate
    # takes them instead of running the suite again (docs/performance.md).
    session.run("python", "-m", "simulators.unit_evidence", *args)


@nox.session
def phase0(session: nox.Session) -> None:
    """The Phase 0 exit gate: every criterion with its evidence; exit 0 only if all pass."""
    session.install("-e", ".[test]")
    session.run("concierge-sim", "gate", "phase0", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the import contracts: concierge/ imports no I/O library and never simulators/."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", "concierge", "simulators", "tests", "noxfile.py")
    session.run("lint-imports")


@nox.session
def bench(session: nox.Session) -> None:
    """Timings: the median scenario, OCR stage vs raw tesseract, the rollout simulator (throughput,
    memory, and how its CPU splits between the concierge and the world), webhook round trips between
    the served emulator and the concierge service on loopback, report.html for the whole Phase 0 suite
    (its size, the time to write it, Chromium's time to load it), the Phase 0 suite black-box vs
    in-process, sweep throughput on 1 and 2 workers, and the Phase 0 gate's wall time (whole, with and
    without a reusable junit, and by part)."""
    session.install("-e", ".[test]")
    session.run("python", "bench/run_bench.py", *session.posargs)
    session.run("python", "bench/ocr_bench.py", "fixtures/images", "--receipts",
                os.environ.get("RECEIPTS_DIR", "fixtures/receipts-dev"))
    session.run("python", "bench/rollout_bench.py")
    session.run("python", "bench/rollout_split.py")
    session.run("python", "bench/webhook_bench.py")  # the emulator and the service over loopback
    session.run("python", "bench/service_bench.py")
    session.run("python", "bench/report_bench.py")  # report.html for scenarios/phase0: size, write, Chromium load
    session.run("python", "bench/blackbox_bench.py")  # the Phase 0 suite black-box vs in-process
    session.run("python", "bench/sweep_bench.py")  # sweep points per minute on 1 and 2 Dask workers
    # Last: the gate with and without the junit of `nox -s tests` (run that session first for reuse).
    session.run("python", "bench/gate_bench.py")


@nox.session(name="ocr-eval")
def ocr_eval(session: nox.Session) -> None:
    """OCR accuracy on the sample set, the receipt dev set and the real SROIE receipts (if present)."""
    session.install("-e", ".[test]")
    session.run("concierge-sim", "ocr-eval", "fixtures/images", "--json", "reports/ocr-eval.json")
    # The receipt dev set (rendered, not real): rules and preprocessing are chosen on it, never on SROIE.
    session.run("concierge-sim", "ocr-eval", "fixtures/receipts-dev", "--json", "reports/ocr-eval-receipts-dev.json")
    # Real receipts (SROIE layout) are not in the repository (docs/ocr.md "Real receipts: where the
    # set lives"): point RECEIPTS_DIR at the folder, or pass it: `nox -s ocr-eval -- DIR`.
    receipts = session.posargs[0] if session.posargs else os.environ.get("RECEIPTS_DIR")
    if receipts:
        if not os.path.isdir(receipts):
            session.error(f"RECEIPTS_DIR {receipts} is not a folder")
        session.run("concierge-sim", "ocr-eval", receipts, "--json", "reports/ocr-eval-receipts.json")
    else:
        session.log("RECEIPTS_DIR not set: real receipts skipped (docs/ocr.md)")


@nox.session
def nightly(session: nox.Session) -> None:
    """The long property and stateful runs (more hypothesis examples than CI affords; with them the
    crash sweep at every send of every scenario), the crash sweep at ledger writes (sampled), and a
    stressed population run checked against the Phase 0 invariants (exit 1 on any violation)."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests", "-q", "-n", "auto", env={"HYPOTHESIS_PROFILE": "nightly"})
    session.run("concierge-sim", "crash-sweep", "scenarios/phase0", "--at", "writes", "--max-points", "100")
    _blackbox_vs_in_process(session)
    session.run("concierge-sim", "simulate", "--clients", "1500", "--vendors", "150", "--hours", "6",
                "--seed", "1", "--profile", "phase3", "--params", "fixtures/stress-world.yaml",
                "--invariants", "--no-plots", "--out", "reports/nightly-population")
    session.run("python", "-c", "import json,sys; v=json.load(open('reports/nightly-population/metrics.json'))"
                "['invariant_violations']; print('invariant violations:', v); sys.exit(1 if v else 0)")


def _blackbox_vs_in_process(session: nox.Session) -> None:
    """The whole Phase 0 suite black-box against our service (started by the harness, with its
    probe) gives the in-process verdicts, scenario by scenario (docs/black-box.md)."""
    import secrets
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session.run("concierge-sim", "run", "scenarios/phase0", "--report-dir", "reports/nightly-in-process")
    session.run("concierge-sim", "run", "scenarios/phase0", "--report-dir", "reports/nightly-black-box",
                "--target", f"http://127.0.0.1:{port}/webhook", "--probe-secret", secrets.token_hex(16),
                "--target-cmd", f"python -m service --port {port} --db {{workdir}}/ledger.sqlite --probe "
                "--log-level warning")
    session.run("python", "-m", "simulators.blackbox.compare", "reports/nightly-in-process/report.json",
                "reports/nightly-black-box/report.json")
