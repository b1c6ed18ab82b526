"""Output sets (simulators/outputs.py): what is published is whole, and any change to it after
publication is refused by the reader."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.outputs import OutputError, OutputSet, verify

NAMES = st.sampled_from(["report.json", "report.md", "junit.xml", "metrics.json", "plot.png", "report.html"])
FILES = st.dictionaries(NAMES, st.binary(max_size=200), min_size=1, max_size=4)


@settings(max_examples=30, deadline=None)
@given(files=FILES, victim=st.integers(min_value=0), cut=st.integers(min_value=0))
def test_a_published_set_verifies_and_any_file_changed_after_is_refused(files, victim, cut):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "set"
        with OutputSet(folder, seed=7) as out:
            for name, data in files.items():
                out.write_bytes(name, data)
            out.commit()
        manifest = verify(folder)
        assert set(manifest["files"]) == set(files) and manifest["seed"] == 7
        name = sorted(files)[victim % len(files)]
        data = files[name]
        changed = data[: cut % len(data)] if data else b"x"  # cut off (or, if empty, grown)
        (folder / name).write_bytes(changed)
        with pytest.raises(OutputError, match="does not match run.json"):
            verify(folder)


def test_leaving_without_commit_publishes_nothing_and_removes_the_previous_set(tmp_path):
    folder = tmp_path / "set"
    with OutputSet(folder) as out:
        out.write_text("report.json", "{}")
        out.commit()
    with pytest.raises(RuntimeError), OutputSet(folder) as out:
        out.write_text("report.json", '{"half": ')
        raise RuntimeError("the run died")
    assert not folder.exists() and list(tmp_path.iterdir()) == [tmp_path / ".set.lock"]


def test_a_file_type_a_newer_writer_added_is_replaceable_when_its_manifest_lists_it(tmp_path):
    folder = tmp_path / "set"
    with OutputSet(folder) as out:
        out.write_text("summary.csv", "a,b\n")
        out.commit()
    with OutputSet(folder) as out:  # replaces it: the manifest vouched for summary.csv
        out.write_text("report.json", "{}")
        out.commit()
    assert set(json.loads((folder / "run.json").read_text())["files"]) == {"report.json"}


def test_amending_keeps_the_run_and_records_who_added_what(tmp_path):
    folder = tmp_path / "run"
    with OutputSet(folder, seed=1) as out:
        out.write_text("metrics.json", "{}")
        first = out.commit()
    with OutputSet(folder, amend=True) as out:
        out.write_text("gate-phase2.json", "{}")
        out.commit()
    manifest = verify(folder)
    assert manifest["run_id"] == first["run_id"] and set(manifest["files"]) == {"metrics.json", "gate-phase2.json"}
    assert manifest["amended"][0]["files"] == ["gate-phase2.json"]


def test_an_input_carried_in_the_folder_survives_reruns_failures_and_a_killed_writer(tmp_path):
    folder, carry = tmp_path / "run", ("brain-cassette.*.jsonl",)
    folder.mkdir()
    (folder / "brain-cassette.openai.jsonl").write_text("recorded\n")
    (folder / "metrics.json").write_text("{}")  # an older run's result: it goes
    with OutputSet(folder, carry=carry) as out:
        assert sorted(p.name for p in folder.iterdir()) == ["brain-cassette.openai.jsonl"]
        with (folder / "brain-cassette.openai.jsonl").open("a") as f:  # recorded during the run
            f.write("more\n")
        out.write_text("metrics.json", '{"a": 1}')
        out.commit()
    assert set(verify(folder)["files"]) == {"metrics.json", "brain-cassette.openai.jsonl"}
    with pytest.raises(RuntimeError), OutputSet(folder, carry=carry):
        raise RuntimeError("the run died")
    assert (folder / "brain-cassette.openai.jsonl").read_text() == "recorded\nmore\n"
    # A writer killed between its two renames left the cassette only in its staging folder.
    leftover = tmp_path / ".run.partial-99999"
    folder.rename(leftover)
    with OutputSet(folder, carry=carry) as out:
        out.commit()
    assert (folder / "brain-cassette.openai.jsonl").read_text() == "recorded\nmore\n"
    assert not leftover.exists()
