"""``gate phase2 --review FILE`` given a file that cannot be evidence: one line naming the file and
the problem, exit 2, no traceback, and no verdict written. And what a good file does to the gate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.commands.cli import main
from simulators.rollout.review import FORMAT

WORLD = "reply_prob: [0.9, 1.0]\nreply_median_min: [0.3, 1.0]\nstock_prob: [0.9, 1.0]\n"
ALL_AI = "FEATURE_AI_CONCIERGE=true\nAI_CONCIERGE_PERCENT_ROLLOUT=100\n"


def simulate(folder: Path, seed: int) -> Path:
    (folder / "world.yaml").write_text(WORLD, "utf-8")
    (folder / "all-ai.env").write_text(ALL_AI, "utf-8")
    run = folder / f"p2-seed{seed}"
    assert main(["simulate", "--clients", "40", "--vendors", "12", "--hours", "1", "--seed", str(seed),
                 "--profile", "phase2", "--env", str(folder / "all-ai.env"), "--params", str(folder / "world.yaml"),
                 "--review-shortlists", "3", "--no-plots", "--out", str(run)]) == 0
    return run


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return simulate(tmp_path_factory.mktemp("review-run"), 1)


def samples(run: Path) -> dict:
    return json.loads((run / "samples.json").read_text("utf-8"))


def review(run: Path, changes: dict | None = None) -> dict:
    s = samples(run)
    body = {"format": FORMAT, "run": {"fingerprint": s["fingerprint"]}, "reviewer": "Aline",
            "exported_at": "2026-12-07T04:00:00Z", "shortlists": len(s["shortlists"]),
            "marks": [{"id": x["id"], "verdict": "ok", "note": ""} for x in s["shortlists"]]}
    body.update(changes or {})
    return body


def gate(run: Path, review_file: Path, out: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["gate", "phase2", "--run", str(run), "--review", str(review_file), "--out", str(out)])
    return code, capsys.readouterr().err


def refused(run: Path, tmp_path: Path, capsys, content: str | None) -> str:
    """The one stderr line for a review file holding ``content`` (None: no file at all)."""
    path = tmp_path / "review.json"
    if content is not None:
        path.write_text(content, "utf-8")
    code, err = gate(run, path, tmp_path / "gate", capsys)
    assert code == 2, err
    assert "Traceback" not in err
    assert not (tmp_path / "gate").exists()  # no verdict from evidence that is not there
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_missing_review_file_is_named(run, tmp_path, capsys):
    assert refused(run, tmp_path, capsys, None) == (
        f"concierge-sim gate phase2: {tmp_path / 'review.json'}: cannot read the review file (No such file or directory)")


def test_a_review_file_that_is_not_json_is_named_with_where_it_breaks(run, tmp_path, capsys):
    line = refused(run, tmp_path, capsys, '{"format": "concierge-sim.shortlist-review.v1", "marks": [')
    assert line == (f"concierge-sim gate phase2: {tmp_path / 'review.json'}: not JSON "
                    "(Expecting value: line 1 column 59 (char 58))")


@pytest.mark.parametrize(("change", "problem"), [
    ({"format": "something-else"}, "format: 'concierge-sim.shortlist-review.v1' was expected"),
    ({"reviewer": ""}, "reviewer: '' should be non-empty"),
    ({"marks": [{"id": "0/req-00001", "verdict": "maybe", "note": ""}]},
     "marks[0].verdict: 'maybe' is not one of ['ok', 'problem']"),
    ({"marks": [{"id": "0/req-00001", "verdict": "problem", "note": ""}]}, "marks[0].note: '' should be non-empty"),
    ({"run": {"fingerprint": "not-hex"}}, "run.fingerprint: 'not-hex' does not match '^[0-9a-f]{16}$'"),
    ({"extra": 1}, "(top level): Additional properties are not allowed ('extra' was unexpected)"),
])
def test_a_review_off_the_schema_names_the_key(run, tmp_path, capsys, change, problem):
    line = refused(run, tmp_path, capsys, json.dumps(review(run, change)))
    assert line == (f"concierge-sim gate phase2: {tmp_path / 'review.json'}: not a shortlist review ({FORMAT}): "
                    f"{problem}")


def test_a_review_without_its_required_keys_is_refused(run, tmp_path, capsys):
    line = refused(run, tmp_path, capsys, "[]")
    assert "not a shortlist review" in line and "object" in line


def test_a_review_of_another_run_is_refused_naming_both_fingerprints(run, tmp_path, capsys):
    other = simulate(tmp_path, 2)
    theirs, ours = samples(other)["fingerprint"], samples(run)["fingerprint"]
    assert theirs != ours
    line = refused(run, tmp_path, capsys, json.dumps(review(other)))
    assert line == (f"concierge-sim gate phase2: {tmp_path / 'review.json'}: this review is of another run "
                    f"(fingerprint {theirs}, the run's is {ours}); review this run's review.html")


def test_a_review_marking_a_shortlist_the_run_does_not_show_is_refused(run, tmp_path, capsys):
    body = review(run)
    body["marks"].append({"id": "9/req-99999", "verdict": "ok", "note": ""})
    line = refused(run, tmp_path, capsys, json.dumps(body))
    assert line.endswith(": marks shortlists the run does not show: 9/req-99999")


def test_review_with_another_phase_is_a_usage_error(run, tmp_path, capsys):
    (tmp_path / "review.json").write_text(json.dumps(review(run)), "utf-8")
    code = main(["gate", "phase1", "--run", str(run), "--review", str(tmp_path / "review.json"),
                 "--out", str(tmp_path / "gate")])
    assert code == 2
    assert capsys.readouterr().err.strip() == ("concierge-sim gate phase1: --review is the Phase 2 manual review "
                                              "of the first shortlists; use it with gate phase2")


def manual_row(out: Path) -> dict:
    report = json.loads((out / "gate-phase2.json").read_text("utf-8"))
    return next(r for r in report["rows"] if r["id"] == "phase2.manual_review")


def test_an_all_ok_review_passes_the_manual_review_and_an_unmarked_one_holds_it(run, tmp_path, capsys):
    ids = [s["id"] for s in samples(run)["shortlists"]]
    (tmp_path / "ok.json").write_text(json.dumps(review(run)), "utf-8")
    gate(run, tmp_path / "ok.json", tmp_path / "ok", capsys)
    row = manual_row(tmp_path / "ok")
    assert (row["verdict"], row["value"], row["threshold"]) == ("pass", len(ids), len(ids))
    assert row["note"] == f"{len(ids)}/{len(ids)} shortlists reviewed by Aline: {len(ids)} ok, 0 problem"

    partial = review(run)
    partial["marks"] = partial["marks"][1:]
    (tmp_path / "partial.json").write_text(json.dumps(partial), "utf-8")
    gate(run, tmp_path / "partial.json", tmp_path / "partial", capsys)
    row = manual_row(tmp_path / "partial")
    assert row["verdict"] == "fail" and row["note"].endswith(f"; not marked: {ids[0]}")
