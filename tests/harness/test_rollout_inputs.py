"""simulate's input files (--params, --prices) are checked before a run spends its time: every
mistake is named with its file and key, exit 2, no traceback, no run folder half written."""

import pytest

from simulators.html.rollout_page import write_run_pages
from simulators.rollout.metrics import load_prices
from simulators.rollout.population import WorldParams
from simulators.rollout.simulate import main


@pytest.mark.parametrize("over, words", [
    ({"reply_prob": "high"}, "reply_prob: expected a [low, high] pair of numbers, got 'high'"),
    ({"reply_prob": 7}, "reply_prob: expected a [low, high] pair"),
    ({"reply_prob": [0.2, 1.5]}, "reply_prob: expected numbers in 0..1"),
    ({"price_spread": [1.3, 0.8]}, "price_spread: low 1.3 is above high 0.8"),
    ({"client_answer_delay_s": [20.5, 30]}, "client_answer_delay_s: expected whole numbers"),
    ({"language_weights": [0, 0, 0]}, "language_weights: the weights add up to 0"),
    ({"language_weights": [1, 1]}, "language_weights: expected a list of 3 weights"),
    ({"busy_rate": 1.5}, "busy_rate: expected a share between 0 and 1"),
    ({"crash_per_send": 2}, "crash_per_send: expected a share between 0 and 1"),
    ({"reply_sigma": -1}, "reply_sigma: expected a number >= 0"),
    ({"brain_timeout_s": True}, "brain_timeout_s: expected a number >= 0, got True"),
    ({"brain_batch_size": 0}, "brain_batch_size: expected a whole number >= 1 or null"),
])
def test_a_wrong_world_parameter_is_named_with_what_it_should_be(over, words):
    with pytest.raises(ValueError) as info:
        WorldParams.with_overrides(over)
    assert words in str(info.value)


def test_good_overrides_keep_their_types():
    p = WorldParams.with_overrides({"reply_prob": [0.1, 0.2], "client_answer_delay_s": [5.0, 10],
                                    "brain_batch_size": 5, "busy_rate": 0})
    assert p.reply_prob == (0.1, 0.2) and p.client_answer_delay_s == (5, 10)
    assert isinstance(p.client_answer_delay_s[0], int) and p.brain_batch_size == 5 and p.busy_rate == 0


def _run(tmp_path, *extra):
    return main(["--clients", "3", "--vendors", "2", "--hours", "1", "--no-plots",
                 "--out", str(tmp_path / "run"), *extra], run_pages=write_run_pages)


@pytest.mark.parametrize("text, words", [
    ("[1, 2\n", "p.yaml: while parsing"),
    ("- 1\n- 2\n", "p.yaml: expected a mapping of world parameters, got list"),
    ("reply_prob: high\n", "p.yaml: reply_prob: expected a [low, high] pair"),
])
def test_simulate_refuses_a_bad_params_file_by_name(tmp_path, capsys, text, words):
    (tmp_path / "p.yaml").write_text(text)
    assert _run(tmp_path, "--params", str(tmp_path / "p.yaml")) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text, words", [
    ("whatsapp_message: abc\n", "(top level): 'prices' is a required property"),
    ("prices:\n  whatsapp: {client_message_usd: 0, vendor_message_usd: cheap}\n"
     "  brain: {chars_per_token: 4, input_usd_per_million_tokens: 1, output_usd_per_million_tokens: 1}\n"
     "  ocr: {per_call_usd: 0}\n  calls: {per_minute_usd: 0}\n",
     "prices.whatsapp.vendor_message_usd: 'cheap' is not of type 'number'"),
    ("prices: [\n", "not YAML"),
])
def test_simulate_refuses_a_bad_price_table_before_running(tmp_path, capsys, text, words):
    (tmp_path / "prices.yaml").write_text(text)
    assert _run(tmp_path, "--prices", str(tmp_path / "prices.yaml")) == 2
    err = capsys.readouterr().err
    assert "prices.yaml" in err and words in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_the_shipped_price_table_is_valid():
    assert load_prices()["whatsapp"]["vendor_message_usd"] > 0
