"""``python -m simulators.emulator`` is ``concierge-sim emulate``: the same subcommand, the same
one-line errors and exit codes, run through the frame it shares with the front door
(``simulators/command_line.py``) rather than through the front door above it."""

from __future__ import annotations

import subprocess
import sys

MODULE = [sys.executable, "-m", "simulators.emulator"]
FRONT_DOOR = [sys.executable, "-m", "simulators.commands.cli", "emulate"]
NOBODY = ["log", "--emulator", "http://127.0.0.1:1", "--phone", "+250780000001"]  # port 1: refused at once


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_a_bad_flag_is_one_usage_line_and_exit_2():
    done = _run([*MODULE, "--bogus"])
    assert done.returncode == 2
    assert "concierge-sim: error: unrecognized arguments: --bogus" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_emulator_there_is_the_same_line_and_exit_3_as_the_front_doors():
    module, front_door = _run([*MODULE, *NOBODY]), _run([*FRONT_DOOR, *NOBODY])
    assert module.returncode == front_door.returncode == 3
    assert module.stderr == front_door.stderr
    assert module.stderr.startswith("concierge-sim emulate log: no emulator at http://127.0.0.1:1")


def test_the_emulator_entry_does_not_load_the_front_door():
    probe = ("import runpy, sys\n"
             "sys.argv = ['x', '--help']\n"
             "try:\n    runpy.run_module('simulators.emulator', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('simulators.commands' in sys.modules, 'service' in sys.modules)\n")
    done = _run([sys.executable, "-c", probe])
    assert done.stdout.strip().splitlines()[-1] == "False False"
    assert "usage: concierge-sim emulate" in done.stdout
