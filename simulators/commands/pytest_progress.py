"""A pytest run in a child process whose progress is shown while it runs.

The gate's unit-test phase takes over a minute on two cores; run silently, it looks hung. pytest's
own progress lines (``-q``'s dots ending in ``[ 42%]``) are passed on as they come, prefixed, and
the whole output is kept for the evidence.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TextIO


def run_with_progress(cmd: list[str], prefix: str = "gate: unit tests: ",
                      out: TextIO | None = None) -> tuple[int, str]:
    """Run ``cmd``; print each line that shows progress (``[ NN%]``) or the summary as it arrives.
    Returns the exit code and the combined output."""
    with start(cmd) as proc:
        output = pump(proc, prefix, out)
    return proc.returncode, output


def start(cmd: list[str]) -> subprocess.Popen:
    """``cmd`` started with its output (stdout and stderr together) on a pipe for ``pump``."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)


def pump(proc: subprocess.Popen, prefix: str = "gate: unit tests: ", out: TextIO | None = None) -> str:
    """Read ``proc``'s output to the end, printing each progress line as it comes; the whole output."""
    out = out or sys.stdout
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        shown = line.rstrip()
        if shown.endswith("%]"):
            percent = shown[shown.rindex("[") :]
            print(f"{prefix}{percent} done", file=out, flush=True)
    return "".join(lines)
