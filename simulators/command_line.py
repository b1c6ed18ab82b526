"""What the harness's command lines share: a parser whose usage errors are one line and exit 2, and
the way a command's handler runs (the environment or a bug is one line and exit 3, ``--debug`` shows
the traceback; an interrupted run is exit 3, a closed pipe exit 0).

``concierge-sim`` (``commands/cli.py``) and ``python -m simulators.emulator`` both use it, so the
emulator's own entry point no longer goes through the front door above it. It imports neither.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 2, 3  # as docs/scenario-format.md and docs/emulator.md say


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors are exit 2 with a clear line
        self.print_usage(sys.stderr)
        print(f"concierge-sim: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_INVALID)


def run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace, *, debug: bool,
                one_line: tuple[type[Exception], ...] = ()) -> int:
    """``handler(args)``'s exit code; what it raises becomes one line on stderr. ``one_line``: errors
    whose message is the whole story (e.g. a report folder that cannot be written), exit 3."""
    try:
        return handler(args)
    except one_line as exc:
        print(f"concierge-sim: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the harness itself failed (I/O, memory, environment, a bug): exit 3
        from .harness_errors import describe

        if debug:
            import traceback

            traceback.print_exc()

        print(f"concierge-sim: harness error: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
