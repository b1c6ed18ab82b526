"""A started child's scratch folder (its ready file, the emulator's default log) goes with the
object that started it: each start once left one in the temporary folder for good. It is a
``run_folder.RunFolder`` (its owner lock held), so one a killed test run leaves is swept by the next
start (``tests/harness/blackbox/test_run_folder.py`` covers the sweep itself)."""

from __future__ import annotations

import gc
from pathlib import Path

from service.spawn import start_service
from simulators.emulator.spawn import start_emulator

from .emulator_proc import SECRETS
from .graph_receiver import GraphReceiver
from .service_proc import ACCESS_TOKEN, ENV, START_S


def test_the_emulators_folder_outlives_stop_and_goes_with_the_object():
    emulator = start_emulator(**SECRETS)
    scratch = emulator.scratch
    assert scratch is not None and (scratch / "ready.json").exists() and (scratch / ".owner").exists()
    assert Path(emulator.log_path).parent == scratch  # its default log lives there
    emulator.stop()
    emulator.log_text()  # still readable after stop, while the object is held
    del emulator
    gc.collect()
    assert not scratch.exists()


def test_the_services_ready_folder_goes_with_the_object(tmp_path):
    receiver = GraphReceiver(ACCESS_TOKEN).start()
    try:
        service = start_service(receiver.url, str(tmp_path / "ledger.sqlite"), env=ENV, timeout=START_S)
        scratch = service.scratch
        assert scratch is not None and (scratch / "ready.json").exists() and (scratch / ".owner").exists()
        service.stop()
        del service
        gc.collect()
        assert not scratch.exists()
        assert (tmp_path / "ledger.sqlite.log").exists()  # the log the caller placed stays
    finally:
        receiver.stop()
