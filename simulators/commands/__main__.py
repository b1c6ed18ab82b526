"""``python -m simulators.commands ...`` is ``concierge-sim ...``."""

import sys

from .cli import main

sys.exit(main())
