"""The black-box run's files (the target's ``{workdir}``) on a RAM filesystem unless TMPDIR says
otherwise: the fsyncs of a durable target cost nothing there (docs/black-box.md)."""

from __future__ import annotations

import tempfile

from simulators.blackbox import run


def test_ram_filesystem_when_there_and_tmpdir_unset(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "RAM_DIRS", (str(tmp_path / "missing"), str(tmp_path)))
    assert run.scratch_root({}) == str(tmp_path)


def test_tmpdir_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "RAM_DIRS", (str(tmp_path),))
    assert run.scratch_root({"TMPDIR": "/somewhere"}) is None


def test_system_temp_without_a_ram_filesystem(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "RAM_DIRS", (str(tmp_path / "missing"),))
    assert run.scratch_root({}) is None


def test_session_folder_made_there(tmp_path, monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setattr(run, "RAM_DIRS", (str(tmp_path),))
    session = run.Session(run.TargetSpec(webhook_url="http://127.0.0.1:1/webhook", app_secret="s" * 16,
                                         verify_token="v"))
    try:
        assert session.workdir.parent == tmp_path
    finally:
        session.emulator._sock.close()
        session.emulator.http.close()
        session.folder.remove()
