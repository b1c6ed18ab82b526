"""Compare an in-process run's report.json with a black-box run's, scenario by scenario.

Timings aside, the verdicts must be the same: the same outcome, and for a failure the same failed
keys at the same step. Two differences are allowed and listed, never hidden: a scenario not runnable
black-box (with its reason), and ``partial`` black-box where in-process passed (what was not
observable is listed with it).

``python -m simulators.blackbox.compare IN_PROCESS/report.json BLACK_BOX/report.json`` prints them and
exits 1 on any other difference (the nightly session runs it over the whole Phase 0 suite).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _failed_keys(entry: dict[str, Any]) -> list[tuple[Any, str]]:
    return sorted((f.get("step"), f.get("key")) for f in entry.get("failures") or [])


def compare(in_process: dict[str, Any], black_box: dict[str, Any]) -> dict[str, list[str]]:
    """{"differences", "not_runnable", "partial"}: each a list of one-line descriptions."""
    ours = {s["id"]: s for s in in_process["scenarios"]}
    theirs = {s["id"]: s for s in black_box["scenarios"]}
    out: dict[str, list[str]] = {"differences": [], "not_runnable": [], "partial": []}
    for sid in sorted(set(ours) | set(theirs)):
        a, b = ours.get(sid), theirs.get(sid)
        if a is None or b is None:
            out["differences"].append(f"{sid}: only in the {'black-box' if a is None else 'in-process'} report")
        elif b["verdict"] == "not_runnable":
            out["not_runnable"].append(f"{sid}: {b['reason']}")
        elif b["verdict"] == "partial" and a["verdict"] == "pass":
            keys = ", ".join(n["key"] for n in b["not_observable"])
            out["partial"].append(f"{sid}: passed what was observable; not observable: {keys}")
        elif a["verdict"] != b["verdict"]:
            why = (b.get("failure") or {}).get("message") or ""
            out["differences"].append(f"{sid}: in-process {a['verdict']}, black-box {b['verdict']} {why[:200]}")
        elif _failed_keys(a) != _failed_keys(b):
            out["differences"].append(f"{sid}: failed keys differ: in-process {_failed_keys(a)}, "
                                      f"black-box {_failed_keys(b)}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m simulators.blackbox.compare IN_PROCESS/report.json BLACK_BOX/report.json",
              file=sys.stderr)
        return 2
    try:
        reports = [json.loads(Path(a).read_text("utf-8")) for a in args]
    except (OSError, ValueError) as exc:
        print(f"compare: cannot read a report: {exc}", file=sys.stderr)
        return 2
    found = compare(*reports)
    for kind in ("not_runnable", "partial", "differences"):
        for line in found[kind]:
            print(f"{kind.upper().replace('_', ' ')} {line}")
    print(f"{len(found['differences'])} difference(s); {len(found['not_runnable'])} not runnable black-box; "
          f"{len(found['partial'])} partial")
    return 1 if found["differences"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
