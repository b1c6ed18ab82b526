"""``python -m simulators.emulator ...`` is ``concierge-sim emulate ...``: the same subcommand, parsed
and run the way the front door runs it (``simulators.command_line``), without importing the front
door, which sits above the emulator."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..command_line import Parser, run_handler
from ..outputs import set_command
from .cli import add_emulate_parser


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    debug = "--debug" in argv  # anywhere on the line, as concierge-sim takes it
    argv = [a for a in argv if a != "--debug"]
    set_command(["concierge-sim", "emulate", *argv])
    parser = Parser(prog="concierge-sim")
    add_emulate_parser(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    args = parser.parse_args(["emulate", *argv])
    return run_handler(args.handler, args, debug=debug)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
