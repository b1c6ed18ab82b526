"""An HTTP brain inside a running world: its faults take the concierge's existing paths."""

from __future__ import annotations

import json

import httpx
from support import ai_world, latest_request, pharmacy, texts_to

from concierge.texts import text_for
from simulators import brain_setup
from simulators.brain_spec import BrainSpec

CLIENT = "+250780000401"
NEED = "I need Amoxicillin 500mg near Kimironko"
VENDORS = [pharmacy("kim_1", "+250788700001"), pharmacy("kim_2", "+250788700002")]


def world_with(tmp_path, handler, sleeps):
    world = ai_world(VENDORS)
    spec = BrainSpec(provider="openai", model="m", cassette=str(tmp_path / "c.jsonl"), mode="record", retries=2)
    brain = brain_setup.build(spec, env={"OPENAI_API_KEY": "sk-world-test-123456"}, sleep=sleeps.append,
                              transport=httpx.MockTransport(handler))
    world.brain.inner = brain
    return world, brain


def events(world, name):
    return world.ledger.audit_events(name)


def test_5xx_until_the_retries_run_out_is_unavailable_and_the_coded_workflow_answers(tmp_path):
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(502)

    sleeps: list[float] = []
    world, brain = world_with(tmp_path, handler, sleeps)
    try:
        world.message_from(CLIENT, kind="text", text=NEED)
        assert len(calls) == 3 and sleeps == [0.5, 1.0]
        assert len(events(world, "brain.unavailable")) == 1 and not events(world, "brain.output_rejected")
        assert latest_request(world, CLIENT).state == "awaiting_vendor_replies"  # the coded plan ran
        assert not (tmp_path / "c.jsonl").exists()  # nothing answered, nothing recorded
    finally:
        world.close()


def test_a_refusal_is_rejected_with_the_safe_message_and_recorded(tmp_path):
    def handler(request):
        return httpx.Response(200, json={"choices": [{"message": {"content": None, "refusal": "No."}}],
                                         "usage": {"prompt_tokens": 50, "completion_tokens": 2}})

    world, brain = world_with(tmp_path, handler, [])
    try:
        world.message_from(CLIENT, kind="text", text=NEED)
        rejected = events(world, "brain.output_rejected")
        assert len(rejected) == 1 and "not JSON" in rejected[0]["data"]["reason"]
        assert texts_to(world, CLIENT)[-1] == text_for("processing", "en")
        assert latest_request(world, CLIENT).state == "collecting_requirements"
        line = json.loads((tmp_path / "c.jsonl").read_text())
        assert line["answer"] == "No." and line["finish"] == "refusal"
        assert brain_setup.usage(world)["input_tokens"] == 50
    finally:
        world.close()
