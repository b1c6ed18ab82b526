"""What ``concierge-sim run`` and ``gate phase0`` share about running scenarios: which brain answers
(``--brain`` and its companions, ``replay/brain_cli.py``) and where the concierge runs (in this
process, or a ``--target`` over HTTP, ``blackbox/cli_args.py``). Both commands take the same flags
and refuse a bad combination with the same one line, their own name in front.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..blackbox.cli_args import TargetArgsInvalid, add_target_arguments, target_spec
from ..replay import brain_cli
from ..replay.suite import EXIT_INVALID

if TYPE_CHECKING:  # pragma: no cover
    from ..blackbox.target import TargetSpec
    from ..replay.model import Scenario


def add_scenario_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The brain's flags, then the black-box target's group."""
    brain_cli.add_brain_arguments(parser)
    add_target_arguments(parser)


def brain_and_target(scenarios: list[Scenario], args: argparse.Namespace,
                     prog: str) -> tuple[list[Scenario], TargetSpec | None] | int:
    """The scenarios with the brain the flags ask for, and the target (None: in process); or the
    exit code after the one line that says which flag is wrong."""
    configured = brain_cli.configured(scenarios, args)
    if isinstance(configured, int):
        return configured
    try:
        target = target_spec(args)
    except TargetArgsInvalid as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return configured, target
