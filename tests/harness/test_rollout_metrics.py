"""Metrics against hand-computed values; tallies merge exactly; gates and triggers."""

import json

import pytest
from support import run_folder

from simulators.html.rollout_page import write_gate_page
from simulators.rollout import gates
from simulators.rollout.gates import judge, markdown, ocr_eval_accuracy
from simulators.rollout.metrics import Tally, finalize, load_prices, merge, percentile


def gate_main(phase: str, argv: list[str]) -> int:
    """The rollout gate as the front door runs it, with its page."""
    return gates.main(phase, argv, gate_page=write_gate_page)


PRICES = {"whatsapp": {"client_message_usd": 0.0, "vendor_message_usd": 0.004},
          "brain": {"chars_per_token": 4, "input_usd_per_million_tokens": 0.15,
                    "output_usd_per_million_tokens": 0.60},
          "ocr": {"per_call_usd": 0.0015}, "calls": {"per_minute_usd": 0.20}}


def test_percentile_nearest_rank_and_never():
    hist = {60: 1, 120: 2, 300: 1}
    assert percentile(hist, 0, 0.5) == 120  # rank 2 of 4
    assert percentile(hist, 0, 0.95) == 300  # rank 4 of 4
    assert percentile(hist, 1, 0.95) is None  # rank 5 of 5 is a request that never got one
    assert percentile({}, 0, 0.5) is None


def test_finalize_hand_computed():
    t = Tally(requests=4, errors=1, handed_off=3, shortlists_delivered=3, outreach_sent=10,
              outreach_replied=7, brain_called=8, brain_rejected=2, ocr_jobs=2, ocr_failed=1,
              calls=2, calls_failed=1, call_centiminutes=150, wa_vendor_messages=10,
              brain_input_chars=4000, brain_output_chars=400, ocr_calls=2, redeliveries=5,
              duplicates_suppressed=5, tts_hist={66: 2, 400: 1}, tts_never=1)
    m = finalize(t, PRICES)
    assert m["error_rate"] == 0.25 and m["handoff_rate"] == 0.75
    assert m["vendor_reply_rate"] == 0.7 and m["brain_rejection_rate"] == 0.25
    assert m["ocr_failure_rate"] == 0.5 and m["call_failure_rate"] == 0.5
    assert m["duplicate_suppression_rate"] == 1.0
    assert m["time_to_shortlist_p50_s"] == 66 and m["time_to_shortlist_p95_s"] is None
    # 10 x 0.004 + 1000 tok x 0.15e-6 + 100 tok x 0.60e-6 + 2 x 0.0015 + 1.5 min x 0.20 = 0.34321
    assert m["cost_total_usd"] == pytest.approx(0.34321)
    assert m["cost_per_request"] == pytest.approx(0.0858025)


def test_price_table_file_has_every_price():
    prices = load_prices()
    assert set(prices) == {"whatsapp", "brain", "ocr", "calls"}
    assert prices["whatsapp"]["vendor_message_usd"] > 0


def test_merge_is_exact_and_grouping_free():
    parts = [Tally(requests=i, tts_hist={60 * i: 1}, max_vendors_contacted=i) for i in range(1, 6)]
    one = merge(parts)
    two = merge([merge(parts[:2]), merge(parts[2:])])
    assert one == two and one["requests"] == 15 and one["max_vendors_contacted"] == 5
    assert Tally.from_json(json.loads(json.dumps(one.to_json()))) == one


def _metrics(**over):
    m = {"requests": 120, "successful_flows": 110, "shortlists_delivered": 110, "error_rate": 0.02,
         "time_to_shortlist_p50_s": 90, "time_to_shortlist_p95_s": 300, "time_to_shortlist_never": 0,
         "unsolicited_calls": 0, "injection_breaches": 0, "injection_attempts": 3,
         "ocr_accuracy": 0.95, "ai_clients": 40, "max_vendors_contacted": 10,
         "vendor_reply_rate": 0.8, "brain_rejection_rate": 0.01, "ocr_failure_rate": 0.0,
         "ocr_jobs": 5, "call_failure_rate": None, "calls": 0, "cost_per_request": 0.01}
    m.update(over)
    return m


@pytest.mark.parametrize("phase", ["phase1", "phase2", "phase3"])
def test_healthy_metrics_may_proceed(phase):
    report = judge(phase, _metrics(), baseline={"cost_per_request": 0.01})
    assert report["may_proceed"], [r for r in report["rows"] if r["verdict"] in ("fail", "fire")]


@pytest.mark.parametrize("over, fired", [
    ({"error_rate": 0.11}, "rollback.error_rate"),
    ({"time_to_shortlist_p95_s": 601}, "rollback.p95"),
    ({"time_to_shortlist_p95_s": None, "time_to_shortlist_never": 9}, "rollback.p95"),
    ({"unsolicited_calls": 1}, "rollback.unsolicited_call"),
    ({"injection_breaches": 1}, "rollback.prompt_injection"),
    ({"cost_per_request": 0.0201}, "rollback.cost"),
])
def test_each_trigger_fires_on_its_condition(over, fired):
    report = judge("phase2", _metrics(**over), baseline={"cost_per_request": 0.01})
    assert report["rollback"] == [fired] and not report["may_proceed"]


def test_triggers_stay_clear_on_the_line():
    report = judge("phase3", _metrics(error_rate=0.10, time_to_shortlist_p95_s=360,
                                      cost_per_request=0.02), baseline={"cost_per_request": 0.01})
    assert report["rollback"] == []


def test_phase_criteria_fail_without_a_trigger():
    report = judge("phase2", _metrics(ai_clients=51, max_vendors_contacted=11, shortlists_delivered=99))
    failed = {r["id"] for r in report["rows"] if r["verdict"] == "fail"}
    assert failed == {"phase2.pilot_users", "phase2.vendors_per_request", "phase2.exit_shortlists"}
    assert report["rollback"] == [] and not report["may_proceed"]
    report = judge("phase1", _metrics(successful_flows=9, ocr_accuracy=0.89))
    failed = {r["id"] for r in report["rows"] if r["verdict"] == "fail"}
    assert failed == {"phase1.successful_flows", "phase1.ocr_accuracy"}


def test_ocr_eval_report_accuracy_leaves_severe_out():
    report = {"rows": [{"kind": "invoice", "level": "clean", "images": 3, "total_accuracy": 1.0,
                        "date_accuracy": 0.5},
                       {"kind": "invoice", "level": "severe", "images": 3, "total_accuracy": 0.0}]}
    assert ocr_eval_accuracy(report) == 0.75


def test_gate_cli_writes_json_and_markdown_and_exit_codes(tmp_path):
    run, base = tmp_path / "run", tmp_path / "base"
    run_folder(base, metrics=json.dumps(_metrics()))
    run_folder(run, metrics=json.dumps(_metrics()))
    assert gate_main("phase2", ["--run", str(run), "--baseline", str(base)]) == 0
    run_folder(run, metrics=json.dumps(_metrics(cost_per_request=0.05)))
    assert gate_main("phase2", ["--run", str(run), "--baseline", str(base)]) == 1
    report = json.loads((run / "gate-phase2.json").read_text())
    assert report["rollback"] == ["rollback.cost"]
    assert "| rollback.cost |" in (run / "gate-phase2.md").read_text()
    assert gate_main("phase2", ["--run", str(tmp_path / "missing")]) == 2


def test_a_trigger_without_its_metric_holds_the_gate_instead_of_reading_clear():
    m = _metrics()
    del m["injection_breaches"]
    report = judge("phase2", m, baseline={"cost_per_request": 0.01})
    row = next(r for r in report["rows"] if r["id"] == "rollback.prompt_injection")
    assert row["verdict"] == "no data"
    assert report["triggers_without_data"] == ["rollback.prompt_injection"]
    assert report["rollback"] == [] and not report["may_proceed"]
    assert "Triggers without data" in markdown(report, "run")


@pytest.mark.parametrize("content, words", [
    ('{"requests": "x"}', "metric 'requests' must be a number or null, got 'x'"),
    ('{"error_rate": true}', "metric 'error_rate' must be a number"),
    ("[1, 2]", "expected a JSON object of metrics, got list"),
    ('{"requests": 1', "not JSON"),
])
def test_gate_refuses_a_metrics_file_that_is_not_metrics_by_name_and_key(tmp_path, capsys, content, words):
    run_folder(tmp_path / "run", metrics=content)
    assert gate_main("phase2", ["--run", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "metrics.json" in err and words in err and "Traceback" not in err
    assert not (tmp_path / "run" / "gate-phase2.json").exists()
