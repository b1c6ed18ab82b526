"""`concierge-sim import golden`: golden JSON files (tests/golden/, every key of the format) become
scenarios that load and run; what differs is commented and summarised; invalid files exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.commands.cli import main
from simulators.replay.golden.convert import APPROXIMATED, UNTRANSLATED
from simulators.replay.loader import load_scenario
from simulators.replay.runner import run_scenario

GOLDEN = Path(__file__).parents[1] / "golden"
FILES = sorted(str(p) for p in GOLDEN.glob("*.json"))
# The one imported scenario expected to fail, and why: the golden file expects outreach after an
# injection attempt, but this concierge keeps only the need clauses of a message, finds none, and
# keeps asking (the request stays in collecting_requirements).
EXPECTED_FAILURE = ("golden_prescription_photo_redelivered_brain_asks",
                    "expect.state: expected awaiting_vendor_replies, got collecting_requirements")


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("imported")
    assert main(["import", "golden", *FILES, "--out", str(out)]) == 0
    return out


def test_the_fixtures_use_every_key_of_the_golden_format():
    text = "".join(Path(f).read_text("utf-8") for f in FILES)
    for key in ("client_inbound", "vendor_inbound", "moltbot_output", "ocr_result", "call_event", "wait_ms",
                '"assert"', "request_state", "outbound_messages", '"contains"', '"type"', '"to"',
                "vendor_outreach_count", "shortlist_wa_link_count", "no_duplicate_outreach", "injection_flagged",
                "db_row_count", '"where"', "initial_state", "conversation", "requirements", "call_consent",
                '"duplicate"', '"interactive"', '"image"', '"vendors"', '"clients"'):
        assert key in text, key


def test_imported_scenarios_run_and_pass_or_fail_for_the_stated_reason(imported):
    results = {r.scenario.id: r for r in (run_scenario(load_scenario(p)) for p in sorted(imported.glob("*.yaml")))}
    assert len(results) == len(FILES)
    for sid, result in results.items():
        if sid == EXPECTED_FAILURE[0]:
            assert result.verdict == "fail" and EXPECTED_FAILURE[1] in result.failure.headline("")
        else:
            assert result.verdict == "pass", result.failure


def test_brain_output_is_queued_before_the_inbound_it_answers(imported):
    steps = load_scenario(imported / "golden_prescription_photo_redelivered_brain_asks.yaml").steps
    assert [s.kind for s in steps[:5]] == ["ocr_result", "brain_next", "client", "redeliver", "advance"]


def test_every_approximation_is_a_comment_in_the_yaml_and_a_summary_line(tmp_path, capsys):
    assert main(["import", "golden", str(GOLDEN / "seeded_calling.json"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    text = (tmp_path / "golden_seeded_consent_and_calls.yaml").read_text("utf-8")
    assert "2 assertion(s) faithful, 2 approximated, 2 not translated" in out
    for line in out.splitlines()[1:]:
        where, kind, differs = line.strip().split(": ", 2)
        assert kind in (APPROXIMATED, UNTRANSLATED)
        assert f"# {where}: {kind}: {differs}" in text
    assert "no ledger table like 'payments'" in text and "consents" in text


def test_invalid_golden_files_exit_2_naming_file_and_json_path(tmp_path, capsys):
    bad = sorted(str(p) for p in (GOLDEN / "invalid").glob("*.json"))
    assert main(["import", "golden", *bad, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "bad_shape.json:$.steps[1].assert.request_state: 3 is not of type 'string'" in err
    assert "bad_shape.json:$.steps[0].client_inbound: a client_inbound carries exactly one of" in err
    assert "bad_shape.json:$.steps[2].wait_ms: -5 is less than the minimum of 0" in err
    assert "syntax.json:3:20 json: Expecting property name" in err
    assert "Traceback" not in err and not list(tmp_path.glob("*.yaml"))
