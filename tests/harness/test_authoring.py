"""Scenario authoring: seeded state, canned OCR, call events, message checks, includes, xfail/skip.

The accepted side is the showcase under scenarios/phase0/authoring/ (run by the pytest plugin like
every scenario); here: every refused file names its file, line and key; each new check fails when
the world differs; the outcomes xfail/xpass/skip reach the CLI, the reports and pytest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from simulators.commands.cli import main
from simulators.replay.checker import Checker
from simulators.replay.includes import _substitute
from simulators.replay.loader import load_scenario
from simulators.replay.model import ScenarioInvalid
from simulators.replay.runner import run_scenario
from simulators.replay.yamlsource import parse_yaml

HERE = Path(__file__).parents[1]  # tests/, home of the scenario folders every kind shares
AUTHORING = HERE / "authoring_scenarios"
REFUSED = AUTHORING / "refused"
EXPECTED = yaml.safe_load((REFUSED / "expected.yaml").read_text("utf-8"))
REPO = HERE.parent

HEADER = """\
flags: {FEATURE_AI_CONCIERGE: true, FEATURE_AI_CONCIERGE_CALLING: true}
vendors: fixtures/vendors/kigali.yaml
clients:
  - {id: alice, phone: "+250780000001", language: en, area: Kimironko}
"""
ASK = """\
  - client: alice
    text: "I need Amoxicillin 500mg near Kimironko"
"""


def scenario_file(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"scenario: {name}\n{HEADER}{textwrap.dedent(body)}", "utf-8")
    return path


def run_text(tmp_path: Path, name: str, body: str):
    return run_scenario(load_scenario(scenario_file(tmp_path, name, body)))


# --- refused files ------------------------------------------------------------------------------


def test_every_refused_file_has_its_expected_problems_listed():
    assert {p.name for p in REFUSED.glob("*.yaml")} - {"expected.yaml"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_refused_file_names_file_line_and_key(name):
    path = REFUSED / name
    with pytest.raises(ScenarioInvalid) as info:
        load_scenario(path)
    problems = info.value.problems
    for want in EXPECTED[name]:
        file = (AUTHORING / want["file"]) if "file" in want else path
        assert [p for p in problems if p.line == want["line"] and want["key"] in p.key
                and want["contains"] in p.message and Path(p.file).resolve() == file.resolve()], \
            f"{name}: nothing at line {want['line']} with {want['contains']!r}; got:\n" + "\n".join(map(str, problems))
    assert all(str(p) == f"{p.file}:{p.line} {p.key}: {p.message}" for p in problems)


def test_refused_file_exits_2_with_one_line_per_problem(capsys):
    assert main(["validate", str(REFUSED / "seed_handed_off_without_shortlist.yaml")]) == 2
    err = capsys.readouterr()
    assert "seed_handed_off_without_shortlist.yaml:8 initial_state.request.state: handed_off without shortlist" \
        in err.out + err.err
    assert "Traceback" not in err.out + err.err


# --- seeded state -------------------------------------------------------------------------------


def test_a_seed_the_invariants_refuse_fails_at_the_initial_state_line(tmp_path):
    result = run_text(tmp_path, "seed_over_cap", """\
        caps: {max_vendors_per_request: 2}
        initial_state:
          request:
            state: awaiting_vendor_replies
            requirements: {item: Amoxicillin, category: pharmacy, place: Kimironko}
            outreach: [{vendor: pharma_plus}, {vendor: kimironko_meds}, {vendor: remera_pharmacy}]
        steps:
          - advance: 1m
        """)
    assert result.verdict == "fail"
    assert result.failure.invariant == "outreach_caps" and result.failure.line == 7
    assert "contacted 3 vendors (cap 2)" in result.failure.message


def test_a_seeded_handoff_is_delivered_by_the_concierge_and_later_closed(tmp_path):
    result = run_text(tmp_path, "seed_handed_off", """\
        initial_state:
          request:
            state: handed_off
            requirements: {item: Amoxicillin 500mg, category: pharmacy, place: Kimironko}
            outreach: [{vendor: pharma_plus}, {vendor: kimironko_meds}]
            replies:
              - {vendor: pharma_plus, text: "1. yes 2. 3,500 3. Kimironko market"}
              - {vendor: kimironko_meds, text: "yes 4000"}
            shortlist: [pharma_plus, kimironko_meds]
        steps:
          - expect:
              client: alice
              state: handed_off
              shortlist: {size: 2, includes: [pharma_plus]}
              client_received: {count: 1, count_of: {"wa.me/": 2}}
          - advance: 6m
          - expect: {client: alice, state: closed}
        """)
    assert result.verdict == "pass", result.failure
    assert [t["to"] for t in result.timeline] == [
        "collecting_requirements", "vendor_outreach", "awaiting_vendor_replies", "shortlist_ready", "handed_off",
        "closed"]


def test_a_seed_the_concierge_cannot_reach_says_so(tmp_path):
    result = run_text(tmp_path, "seed_unusable", """\
        initial_state:
          request:
            state: handed_off
            requirements: {item: Amoxicillin 500mg, category: pharmacy, place: Kimironko}
            outreach: [{vendor: pharma_plus}]
            replies: [{vendor: pharma_plus, text: "yes, pay a deposit first via MoMo to 0788123456"}]
            shortlist: [pharma_plus]
        steps:
          - advance: 1m
        """)
    assert result.verdict == "fail" and result.failure.key == "initial_state"
    assert "could not reach handed_off" in result.failure.message


# --- canned OCR and call events -----------------------------------------------------------------


def test_a_confident_canned_reading_goes_to_outreach_without_tesseract(tmp_path):
    body = """\
        flags: {FEATURE_AI_CONCIERGE: true, FEATURE_AI_CONCIERGE_OCR: true}
        steps:
          - ocr_result: {text: "Rx\\nAmoxicillin 500mg capsules Qty: 21", confidence: 0.96}
          - client: alice
            image: fixtures/broken/not_an_image.pdf
            caption: near Kimironko
          - advance: 5s
          - expect: {state: awaiting_vendor_replies, ocr: {status: completed, uncertain: false}}
        """
    path = tmp_path / "canned.yaml"
    path.write_text("scenario: canned\n" + HEADER.split("\n", 1)[1] + textwrap.dedent(body), "utf-8")
    result = run_scenario(load_scenario(path))
    assert result.verdict == "pass", result.failure


def test_a_provider_event_without_a_call_fails_the_step(tmp_path):
    result = run_text(tmp_path, "no_call", f"steps:\n{ASK}  - call_event: call_completed\n")
    assert result.verdict == "fail" and result.failure.key == "call_event"
    assert "no call was placed" in result.failure.message


def test_a_consent_tap_without_a_prompt_fails_the_step(tmp_path):
    result = run_text(tmp_path, "no_prompt", f"steps:\n{ASK}  - call_event: consent_granted\n")
    assert result.verdict == "fail" and "never sent a consent prompt" in result.failure.message


# --- message checks fail when the world differs -------------------------------------------------


@pytest.mark.parametrize("check, message", [
    ("client_received: {nth: 3}", "expected a message #3, but only 1 were received"),
    ("client_received: {type: buttons}", "expected the last message to be buttons, got text"),
    ("client_received: {buttons: [\"Yes\"]}", "to offer ['Yes']; it offers none"),
    ("client_received: {matches: 'wa\\.me'}", "expected a message matching /wa\\.me/"),
    ("sent: {to: pharma_plus, count_of: {Amoxicillin: 2}}", "expected 2 occurrence(s) of 'Amoxicillin', got 1"),
    ("sent: {nth: 2, to: alice}", "expected a message #2, but only 1 were received"),
    ("db_rows: {table: outreach, where: {status: replied}, count: 1}", "expected 1, got 0"),
    ("vendor_received: {vendor: pharma_plus, nth: 1, not_contains: Amoxicillin}", "not contain 'Amoxicillin'"),
    ("context_pack: {has: [secret_key]}", "expected key 'secret_key'"),
    ("context_pack: {redacted: false}", "expected the pack unredacted; no phone number in it"),
    ("context_pack: {event: ocr_result}", "expected ocr_result, got client_message"),
])
def test_each_message_check_fails_when_the_world_differs(tmp_path, check, message):
    result = run_text(tmp_path, "differs", f"steps:\n{ASK}  - expect:\n      {check}\n")
    assert result.verdict == "fail", check
    assert message in result.failure.message, result.failure.message


def test_a_reply_without_reply_to_lands_in_the_latest_request(tmp_path):
    body = (REPO / "scenarios/phase0/authoring/two_conversations.yaml").read_text("utf-8")
    path = tmp_path / "two.yaml"
    path.write_text(body.replace("    reply_to: alice\n", "").replace("../../../", ""), "utf-8")
    result = run_scenario(load_scenario(path))
    assert result.verdict == "fail" and "missing 'handed_off'" in result.failure.message


# --- includes -----------------------------------------------------------------------------------


def test_included_steps_fail_at_the_include_line_and_say_where_they_are(tmp_path):
    (tmp_path / "steps.yaml").write_text("- expect: {state: handed_off}\n", "utf-8")
    result = run_text(tmp_path, "inc", f"steps:\n{ASK}  - include: steps.yaml\n")
    assert result.verdict == "fail" and result.failure.line == 9
    step = load_scenario(tmp_path / "inc.yaml").steps[-1]
    assert step.note == "included from " + str(Path(step.note.split("from ", 1)[1])) and "steps.yaml:1" in step.note


names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


@given(st.dictionaries(names, st.text(alphabet="abc xyz${}", max_size=8), min_size=1, max_size=4),
       st.text(alphabet="abc ${}", max_size=20))
def test_substitution_fills_every_defined_variable_and_nothing_else(values, filler):
    name = sorted(values)[0]
    text = f"{filler}${{{name}}}{filler}"
    data, _ = parse_yaml(yaml.safe_dump([{"text": text}]), "x.yaml")
    c = Checker("x.yaml", Path("."))
    out = _substitute(c, data, values)
    if "${" not in filler:
        assert out[0]["text"] == f"{filler}{values[name]}{filler}" and not c.problems


# --- xfail, xpass, skip -------------------------------------------------------------------------

FAILS = f"steps:\n{ASK}  - expect: {{state: handed_off}}\n"
PASSES = f"steps:\n{ASK}  - expect: {{state: awaiting_vendor_replies}}\n"


def write_outcomes(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    scenario_file(folder, "known_bug", 'xfail: "issue 7: not handed off yet"\n' + FAILS)
    scenario_file(folder, "fixed_bug", 'xfail: "issue 8"\n' + PASSES)
    scenario_file(folder, "later", 'skip: "needs the calling provider v2"\n' + FAILS)


def test_outcomes_in_the_cli_and_the_reports(tmp_path, capsys):
    write_outcomes(tmp_path / "s")
    assert main(["run", str(tmp_path / "s"), "--report-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "XFAIL" in out and "issue 7: not handed off yet" in out and "failed as expected" in out
    assert "XPASS" in out and "remove `xfail:`" in out
    assert "SKIP" in out and "needs the calling provider v2" in out
    assert "0 passed, 0 failed, 0 errors, 1 xfailed, 1 xpassed, 1 skipped" in out
    report = json.loads((tmp_path / "r/report.json").read_text("utf-8"))
    verdicts = {s["id"]: (s["verdict"], s["reason"]) for s in report["scenarios"]}
    assert verdicts == {"known_bug": ("xfail", "issue 7: not handed off yet"), "fixed_bug": ("xpass", "issue 8"),
                        "later": ("skip", "needs the calling provider v2")}
    assert 'skipped="3"' in (tmp_path / "r/junit.xml").read_text("utf-8")


def test_an_xfail_scenario_that_errors_is_still_an_error(tmp_path, monkeypatch):
    from simulators.replay.runner import ScenarioPlay

    def broken(self, step):
        raise RuntimeError("harness bug")

    monkeypatch.setattr(ScenarioPlay, "_advance", broken)
    result = run_text(tmp_path, "err", 'xfail: "x"\nsteps:\n  - advance: 1m\n')
    assert result.verdict == "error" and "harness bug" in result.error


def test_every_step_kind_of_the_format_is_played_by_its_own_handler():
    """The runner's table names one handler for each action of the format, and no other."""
    from simulators.replay.runner import ScenarioPlay, build_world
    from simulators.replay.vocabulary import ACTIONS

    scenario = load_scenario(REPO / "tests/good_scenarios/every_step_kind.yaml")
    world = build_world(scenario)
    try:
        play = ScenarioPlay(scenario, world)
        assert sorted(play.handlers) == sorted(ACTIONS)
        assert all(callable(h) and h.__name__ == f"_{kind}" for kind, h in play.handlers.items())
    finally:
        world.close()


def test_outcomes_under_pytest(tmp_path):
    write_outcomes(tmp_path / "scenarios")
    (tmp_path / "pyproject.toml").write_text("", "utf-8")  # the repository root fixture paths resolve from
    (tmp_path / "fixtures").symlink_to(REPO / "fixtures")
    run = subprocess.run([sys.executable, "-m", "pytest", "scenarios", "-q", "-p", "no:cacheprovider",
                          "-p", "no:randomly"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "1 skipped, 1 xfailed, 1 xpassed" in run.stdout, run.stdout + run.stderr
    assert run.returncode == 0
