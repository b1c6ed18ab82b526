"""Brain cassettes: what is written down (and what never is), replay without a socket, misses."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concierge.errors import BrainUnavailable
from concierge.safety import phones_in
from simulators import brain_setup
from simulators.brain_spec import BrainSpec
from simulators.brain_wire import Answer, OpenAIWire, Usage
from simulators.cassette import Cassette, CassetteBrain, StableNames
from simulators.replay.loader import load_scenario
from simulators.replay.runner import run_scenario
from simulators.standin_llm import serve

ROOT = Path(__file__).resolve().parents[2]
HAPPY = ROOT / "scenarios" / "phase0" / "happy" / "pharmacy_text_happy_path.yaml"
SHIPPED = sorted((ROOT / "scenarios" / "phase0" / "brains").glob("*.yaml"))
VENDOR_PHONES = ("+250788000101", "250788000102", "788000103")


class FakeLive:
    """The live side of a cassette brain, answering from a list (no HTTP)."""

    system_prompt = "SYSTEM"

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked = 0

    def body(self, pack):
        return OpenAIWire().body("m", self.system_prompt, pack)

    def answer(self, pack):
        self.asked += 1
        return Answer(self.answers.pop(0), Usage(10, 5))


def pack(text="I need paracetamol", phone="+250788000101"):
    return {"request_id": "req-00007", "event": "vendor_reply", "state": "awaiting_vendor_replies",
            "created_at": 1_700_000_123.5, "messages": [{"from": "client", "text": text}],
            "outreach": {"replies": [{"vendor_id": "v1", "vendor_phone": phone}]}}


def test_recorded_line_names_volatile_values_and_restores_them(tmp_path):
    cassette = Cassette(tmp_path / "c.jsonl")
    answer = json.dumps({"type": "shortlist", "items": [{"vendor_phone": "+250788000101"}], "ref": "req-00007"})
    rec = CassetteBrain(FakeLive([answer]), cassette, provider="openai", model="m", mode="record")
    assert rec.propose(pack()) == answer
    line = json.loads((tmp_path / "c.jsonl").read_text().splitlines()[0])
    assert list(line) == sorted(line)
    assert line["context_pack"]["request_id"] == "<request:1>" and line["context_pack"]["created_at"] == "<time>"
    assert "<phone:1>" in line["answer"] and "+250788000101" not in line["answer"]
    assert line["usage"] == {"input_tokens": 10, "output_tokens": 5}
    # Another run: other request id and time, same vendor -> the same key, and this run's values back.
    live = FakeLive([])
    replay = CassetteBrain(live, Cassette(tmp_path / "c.jsonl"), provider="openai", model="m", mode="replay")
    again = {**pack(), "request_id": "req-00007", "created_at": 1_800_000_000.0}
    assert json.loads(replay.propose(again))["items"][0]["vendor_phone"] == "+250788000101"
    assert live.asked == 0 and replay.usage[0]["source"] == "cassette"


def test_a_changed_context_pack_or_prompt_is_a_miss(tmp_path):
    path = tmp_path / "c.jsonl"
    CassetteBrain(FakeLive(['{"type": "escalate"}']), Cassette(path), provider="openai", model="m",
                  mode="record").propose(pack())
    changed = CassetteBrain(FakeLive([]), Cassette(path), provider="openai", model="m", mode="replay",
                            record_hint="concierge-sim run X --cassette-mode record")
    with pytest.raises(BrainUnavailable):
        changed.propose(pack(text="I need ibuprofen"))
    assert "no recorded answer for request key" in changed.misses[0]
    assert "concierge-sim run X --cassette-mode record" in changed.misses[0]
    live = FakeLive([])
    live.system_prompt = "SYSTEM v2"
    with pytest.raises(BrainUnavailable):
        CassetteBrain(live, Cassette(path), provider="openai", model="m", mode="replay").propose(pack())
    auto = CassetteBrain(FakeLive(['{"type": "ask_client"}']), Cassette(path), provider="openai", model="m", mode="auto")
    auto.propose(pack())  # recorded: served from the file
    auto.propose(pack(text="I need ibuprofen"))  # a miss: asked live and appended
    assert auto.live.asked == 1 and len(path.read_text().splitlines()) == 2


SECRETS = ("sk-live-abcdefghijklmnop", "EAAB1234567890abcdefgh")


@given(st.sampled_from(["+250788123456", "0788 123 456", "250788123456", "+250 788 123 456"]),
       st.sampled_from(SECRETS))
def test_no_phone_number_or_secret_reaches_the_file_text(phone, secret):
    names = StableNames()
    out = json.dumps(names.normalize(pack(text=f"call me on {phone}, api_key={secret}", phone=phone)))
    assert not phones_in(out) and secret not in out and "123456" not in out


@pytest.fixture
def no_sockets(monkeypatch):
    """Socket creation raises, and is counted: the concierge would swallow the raise as an
    unavailable brain and carry on, so the count is what the test asserts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("replay opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_cassettes_replay_without_a_socket(path, no_sockets):
    result = run_scenario(load_scenario(path))
    assert no_sockets == []
    assert result.verdict == "pass", result.failure and result.failure.headline(str(path))
    recorded = sum(1 for line in Path(load_scenario(path).brain.cassette).read_text().splitlines() if line.strip())
    assert result.observed["brain_usage"]["calls"] == recorded  # every answer came from the cassette
    assert result.observed["brain_usage"]["input_tokens"] > 0


def test_record_against_loopback_keeps_the_key_and_numbers_out(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-recording-secret-0123456789")
    scenario = load_scenario(HAPPY)
    with serve() as (base, llm):
        spec = BrainSpec(provider="openai", model="standin", cassette=str(tmp_path / "rec.jsonl"),
                         mode="record", base_url=base + "/v1", timeout_s=5)
        result = run_scenario(dataclasses.replace(scenario, brain=spec))
    assert result.verdict == "pass", result.failure
    assert len(llm.requests) == 2
    text = (tmp_path / "rec.jsonl").read_text()
    assert len(text.splitlines()) == 2
    assert "sk-recording-secret" not in text and not phones_in(text)
    assert not any(p in text for p in VENDOR_PHONES + ("780000001",))
    # ... and what was recorded replays.
    replayed = run_scenario(dataclasses.replace(scenario, brain=dataclasses.replace(spec, mode="replay")))
    assert replayed.verdict == "pass"


def test_a_miss_fails_the_step_with_its_line_and_how_to_record(tmp_path):
    scenario = load_scenario(SHIPPED[0])
    prompt = tmp_path / "prompt.md"
    prompt.write_text("A different system prompt.")
    result = run_scenario(dataclasses.replace(scenario, brain=dataclasses.replace(scenario.brain, prompt=str(prompt))))
    assert result.verdict == "fail" and result.failure.key == "brain.cassette"
    assert result.failure.line == scenario.steps[0].line
    assert "request key" in result.failure.message and "--cassette-mode record" in result.failure.message
    assert str(scenario.file) in result.failure.message


def test_record_without_an_api_key_says_which_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    spec = BrainSpec(provider="gemini", model="g", cassette=str(tmp_path / "c.jsonl"), mode="record")
    brain = brain_setup.build(spec, env={})
    with pytest.raises(BrainUnavailable):
        brain.propose(pack())
    assert "$GEMINI_API_KEY is not set" in brain.misses[0]


@given(st.lists(st.integers(min_value=0, max_value=9_999_999), min_size=1, max_size=4, unique=True))
def test_answer_names_restore_to_this_runs_values(suffixes):
    phones = [f"+250788{n:07d}"[:13] for n in suffixes]
    phones = list(dict.fromkeys(p for p in phones if phones_in(p)))
    names = StableNames()
    names.normalize({"outreach": {"replies": [{"vendor_phone": p} for p in phones]}, "request_id": "req-00042"})
    answer = json.dumps({"items": [{"vendor_phone": p} for p in reversed(phones)], "ref": "req-00042"})
    stored = names.text(answer)
    assert not phones_in(stored) and "req-00042" not in stored
    assert names.restore(stored) == answer
