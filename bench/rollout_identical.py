"""Are a change's rollout outputs byte-identical? Fingerprint three seeded runs and compare.

``python bench/rollout_identical.py record BASE.json`` runs them and writes each output file's
sha256; ``python bench/rollout_identical.py check BASE.json`` runs them again and names every file
that differs (exit 1), so every speed or memory step can be checked against the commit before it.

The runs: the bench world (phase3 profile, calls, calibrated OCR), a chaos run (the stressed world
with the process dying in 5 % of sends) with ``--invariants``, and the same bench world on a
file-backed ledger (``--ledger``). Each run folder's files are compared except ``run.json`` (the
manifest, which holds the absolute paths of the run) and plots (drawn by matplotlib; off here). The
file-backed ledger itself is compared too: a hash of every table, row by row in rowid order.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = {
    "bench": ["--clients", "500", "--vendors", "120", "--hours", "4", "--seed", "1", "--profile", "phase3"],
    "chaos": ["--clients", "600", "--vendors", "60", "--hours", "2", "--seed", "3", "--profile", "phase3",
              "--params", "fixtures/stress-world.yaml", "--invariants"],
    "file-ledger": ["--clients", "300", "--vendors", "80", "--hours", "2", "--seed", "2",
                    "--profile", "phase2", "--ledger", "{tmp}/ledger"],
}


def fingerprint() -> dict[str, str]:
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in RUNS.items():
            out = Path(tmp) / name
            argv = [a.format(tmp=tmp) for a in args]
            subprocess.run([sys.executable, "-m", "simulators.rollout", "simulate", *argv, "--no-plots",
                            "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
            for path in sorted(out.iterdir()):
                if path.name != "run.json" and path.is_file():
                    # The pages name the folder they were written to: a temporary one, so it is masked.
                    data = path.read_bytes().replace(tmp.encode(), b"TMP")
                    found[f"{name}/{path.name}"] = hashlib.sha256(data).hexdigest()
        ledger = Path(tmp) / "ledger"
        for path in sorted(ledger.glob("*.sqlite*")) if ledger.is_dir() else []:
            if path.suffix == ".sqlite":
                found[f"file-ledger/{path.name}:rows"] = _rows_hash(path)
    return found


def _rows_hash(path: Path) -> str:
    import sqlite3

    db = sqlite3.connect(path)
    digest = hashlib.sha256()
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for table in tables:
        digest.update(table.encode())
        for row in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
            digest.update(repr(row).encode())
    db.close()
    return digest.hexdigest()


def record_or_check(description: str, fingerprint: Callable[[], dict[str, str]], noun: str) -> int:
    """The command line both identity checks share: ``record BASE.json`` writes the fingerprints,
    ``check BASE.json`` names each one that differs (exit 1)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("mode", choices=("record", "check"))
    p.add_argument("base")
    args = p.parse_args()
    now = fingerprint()
    if args.mode == "record":
        Path(args.base).write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(now)} {noun} -> {args.base}")
        return 0
    base = json.loads(Path(args.base).read_text())
    differ = sorted(k for k in set(base) | set(now) if base.get(k) != now.get(k))
    for key in differ:
        print(f"DIFFERS: {key}")
    print(f"{len(now) - len(differ)} of {len(set(base) | set(now))} {noun} identical")
    return 1 if differ else 0


def main() -> int:
    return record_or_check(__doc__.splitlines()[0], fingerprint, "files")


if __name__ == "__main__":
    sys.exit(main())
