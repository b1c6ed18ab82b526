"""``python -m simulators.emulator ...`` is ``concierge-sim emulate ...``."""

from __future__ import annotations

import sys

from ..commands.cli import main

if __name__ == "__main__":
    sys.exit(main(["emulate", *sys.argv[1:]]))
