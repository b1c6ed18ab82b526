"""Did a structural change keep behaviour byte for byte? Fingerprint the suite and two rollout runs.

``python bench/structure_identical.py record BASE.json`` runs everything and writes a sha256 per
output; ``python bench/structure_identical.py check BASE.json`` runs again and names each output
that differs (exit 1). A refactor is done when ``check`` against the commit before it says
"identical" for every entry.

What is fingerprinted:
- the whole ``scenarios/phase0`` suite in-process: ``report.json`` with each scenario's
  ``duration_s`` (wall time) and the library
  ``versions`` (the environment's) removed, and the full rows of
  every scenario's ledger (``--ledger``: one SQLite file per scenario, every table in rowid order);
- a rollout run of about a thousand requests and the chaos run (the stressed world, the process
  dying in 5 % of sends, ``--invariants``), each with a file-backed ledger whose rows are hashed too,
  plus every file of their run folders (``metrics.json``, samples, reports) except ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from rollout_identical import _rows_hash, record_or_check  # noqa: E402

ROLLOUT_RUNS = {
    "thousand": ["--clients", "1000", "--vendors", "150", "--hours", "6", "--seed", "5",
                 "--profile", "phase3", "--ledger", "{tmp}/thousand-ledger"],
    "chaos": ["--clients", "600", "--vendors", "60", "--hours", "2", "--seed", "3", "--profile", "phase3",
              "--params", "fixtures/stress-world.yaml", "--invariants", "--ledger", "{tmp}/chaos-ledger"],
}


# Wall time, and the installed libraries' versions (the environment's, not the code's behaviour).
_VARYING = ("duration_s", "versions")


def _strip_durations(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip_durations(v) for k, v in value.items() if k not in _VARYING}
    if isinstance(value, list):
        return [_strip_durations(v) for v in value]
    return value


def _suite(tmp: str, found: dict[str, str]) -> None:
    reports, ledgers = Path(tmp) / "suite", Path(tmp) / "suite-ledgers"
    subprocess.run([str(Path(sys.executable).parent / "concierge-sim"), "run", "scenarios/phase0", "--report-dir", str(reports),
                    "--ledger", str(ledgers)], cwd=ROOT, capture_output=True)
    report = json.loads((reports / "report.json").read_text().replace(tmp, "TMP"))
    found["suite/report.json"] = hashlib.sha256(
        json.dumps(_strip_durations(report), sort_keys=True).encode()).hexdigest()
    for path in sorted(ledgers.glob("*.sqlite")):
        found[f"suite/ledger/{path.name}"] = _rows_hash(path)


def _rollout(tmp: str, found: dict[str, str]) -> None:
    for name, args in ROLLOUT_RUNS.items():
        out = Path(tmp) / name
        argv = [a.format(tmp=tmp) for a in args]
        subprocess.run([str(Path(sys.executable).parent / "concierge-sim"), "simulate", *argv, "--no-plots",
                        "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
        for path in sorted(out.iterdir()):
            if path.name != "run.json" and path.is_file():
                data = path.read_bytes().replace(tmp.encode(), b"TMP")
                found[f"{name}/{path.name}"] = hashlib.sha256(data).hexdigest()
        for path in sorted((Path(tmp) / f"{name}-ledger").glob("*.sqlite")):
            found[f"{name}/ledger/{path.name}"] = _rows_hash(path)


def fingerprint() -> dict[str, str]:
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _suite(tmp, found)
        _rollout(tmp, found)
    return found


def main() -> int:
    return record_or_check(__doc__.splitlines()[0], fingerprint, "outputs")


if __name__ == "__main__":
    sys.exit(main())
