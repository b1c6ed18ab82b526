"""``python -m simulators.rollout simulate ...`` / ``... gate phaseN ...`` (same as concierge-sim).

A program, imported by nothing: like the front door, it hands the rollout the pages it writes (the
one import of ``simulators.html`` from this package, named in the import contracts).
"""

import sys

from ..html.rollout_page import write_gate_page, write_run_pages
from .gates import main as gate_main
from .simulate import main as simulate_main


def main(argv: list[str]) -> int:
    if argv[:1] == ["simulate"]:
        return simulate_main(argv[1:], run_pages=write_run_pages)
    if argv[:1] == ["sweep"]:
        from .sweep import main as sweep_main

        return sweep_main(argv[1:])
    if argv[:1] == ["gate"] and len(argv) >= 2:
        return gate_main(argv[1], argv[2:], gate_page=write_gate_page)
    print("usage: python -m simulators.rollout simulate ... | sweep SPEC --out DIR | gate phase1|phase2|phase3 --run DIR",
          file=sys.stderr)
    return 2


raise SystemExit(main(sys.argv[1:]))
