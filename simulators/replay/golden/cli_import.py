"""`concierge-sim import golden FILE.json... --out DIR`: golden JSON in, scenario YAML out, a summary.

Exit 0 when every file was imported and loads; 2 when a golden file is invalid (its schema
problems, each as `file:$.json.path: message`) or an imported file does not load (its problems).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID = 0, 2


def add_import_command(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import", help="convert other test formats into scenarios: golden (JSON golden tests)")
    imp.add_argument("format", choices=["golden"])
    imp.add_argument("files", nargs="+", metavar="FILE.json")
    imp.add_argument("--out", default="scenarios/imported", help="folder for the YAML files")


def cmd_import(args: argparse.Namespace) -> int:
    from ..loader import load_scenario
    from ..model import ScenarioInvalid
    from .convert import APPROXIMATED, FAITHFUL, UNTRANSLATED, convert
    from .reader import GoldenInvalid, read_golden

    out_dir = Path(args.out)
    code = EXIT_OK
    for raw in args.files:
        source = Path(raw)
        try:
            golden = read_golden(source)
        except GoldenInvalid as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            code = EXIT_INVALID
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        result = convert(golden, source, out_dir)
        target = out_dir / f"{result.scenario_id}.yaml"
        target.write_text(result.text, "utf-8")
        n = result.assertions
        print(f"imported {source} -> {target}: {n[FAITHFUL]} assertion(s) faithful, {n[APPROXIMATED]} approximated, "
              f"{n[UNTRANSLATED]} not translated")
        for note in result.notes:
            print(f"    {note.where}: {note.kind}: {note.differs}")
        try:
            load_scenario(target)
        except ScenarioInvalid as exc:
            print(f"  {target} does not load as written (fix the golden file or the YAML):", file=sys.stderr)
            for problem in exc.problems:
                print(f"    {problem}", file=sys.stderr)
            code = EXIT_INVALID
    return code
