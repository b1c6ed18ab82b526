"""A report folder that cannot be written is an environment problem: exit 3 and one line naming it."""
from pathlib import Path

from simulators.replay.cli import main

ROOT = Path(__file__).resolve().parent.parent
HAPPY = ROOT / "scenarios/phase0/happy"


def test_run_report_dir_under_a_file_is_exit_3_naming_the_path(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["run", str(HAPPY), "--report-dir", str(blocker / "r")]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if str(blocker) in line]
    assert len(lines) == 1
