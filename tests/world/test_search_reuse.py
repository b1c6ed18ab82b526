"""A batch's vendor search reuses the search its plan (or its silence timer) made a moment before,
at the same time, with nothing written since that a search reads: the tool call is recorded again
under its own key, only the directory scan is not run twice. What is recorded must be what the
handler would have returned right then, and anything else (another time, request or argument, a
replayed first search) must be searched afresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ai_world, pharmacy

from concierge.policy import Caps
from simulators.world import SimWorld

SEARCH = "marketplace.search_vendors"
CLIENT = "+250780000401"
AREAS = ("Kimironko", "Remera", "Nyamirambo", "Kacyiru")


def _doubting(world: SimWorld) -> list[dict[str, Any]]:
    """Make every reused result be checked against the handler run at that very moment; returns
    the list of results so checked."""
    tools = world.concierge.tools
    real = tools.call
    checked: list[dict[str, Any]] = []

    def call(tool: str, args: dict[str, Any], now: float, *, known: dict[str, Any] | None = None):
        if known is not None:
            assert tools._handlers[tool](args, now) == known, (tool, args)
            checked.append(known)
        return real(tool, args, now, known=known)

    tools.call = call  # type: ignore[method-assign]
    return checked


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    areas=st.lists(st.sampled_from(AREAS), min_size=1, max_size=6),
    batch_size=st.integers(1, 3),
    area=st.sampled_from(AREAS),
    seed=st.integers(0, 50),
)
def test_a_reused_search_is_what_the_handler_answers_then(areas, batch_size, area, seed):
    vendors = [pharmacy(f"ph_{i}", f"+2507885002{i:02d}", area=a) for i, a in enumerate(areas)]
    world = ai_world(vendors, caps=Caps(batch_size_max=batch_size), seed=seed)
    try:
        checked = _doubting(world)
        world.message_from(CLIENT, kind="text", text=f"I need Amoxicillin 500mg near {area}")
        world.advance(30)
        # Nobody answers: the silence timers ask the next batches, then the limits end it.
        world.advance(3600)
        searches = world.ledger.tool_calls(SEARCH)
        found = [json.loads(s["result"])["vendors"] for s in searches]
        if found and found[0]:  # somebody to ask: the plan's batch reused the plan's search
            assert checked and checked[0]["vendors"] == found[0] == found[1]
        assert len(checked) < len(searches)
        # Each reuse is its own record, under its own key, with the same result as the search before it.
        keys = [s["idem_key"] for s in searches]
        assert len(set(keys)) == len(keys)
    finally:
        world.close()


@pytest.fixture
def planned() -> Iterator[tuple[SimWorld, list[str]]]:
    """A world whose request has a plan; the handler's runs are counted (by request id)."""
    world = ai_world([pharmacy(f"ph_{i}", f"+25078850030{i}") for i in range(3)], seed=3)
    try:
        world.message_from(CLIENT, kind="text", text="I need Amoxicillin 500mg near Kimironko")
        world.advance(1)
        tools = world.concierge.tools
        handler = tools._handlers[SEARCH]
        ran: list[str] = []

        def counted(args, now):
            ran.append(args["request_id"])
            return handler(args, now)

        tools._handlers[SEARCH] = counted
        yield world, ran
    finally:
        world.close()


def _first_search(world: SimWorld):
    """The outreach flow, the request, its plan, the time and a search made for it now."""
    flow = world.concierge.outreach
    request = world.ledger.latest_request(CLIENT)
    plan = request.data["plan"]
    now = world.clock.now()
    return flow, request, plan, now, flow._eligible(request, plan, now)


FIELDS = ("now", "request_id", "fresh", "category", "lat", "lng", "radius_km", "min_rating", "tags",
          "limit", "actor")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS), number=st.floats(0.5, 50.0))
def test_any_difference_means_a_fresh_search(planned, field, number):
    world, ran = planned
    flow, request, plan, now, first = _first_search(world)
    before = len(ran)
    assert flow._eligible(request, plan, now, searched=first).result == first.result
    assert len(ran) == before, "the same search at the same time is not run again"
    if field == "now":
        other = replace(first, now=now - number)
    elif field == "request_id":
        other = replace(first, request_id="another-request")
    elif field == "fresh":
        other = replace(first, fresh=False)
    else:
        current = first.query[field]
        if field in ("tags", "category", "actor"):
            value = {"tags": ["x"], "category": "hardware", "actor": "client"}[field]
        else:
            value = number if current is None else current + number
        other = replace(first, query={**first.query, field: value})
    other = replace(other, result={**first.result, "vendors": []})  # so a reuse would show
    again = flow._eligible(request, plan, now, searched=other)
    assert len(ran) == before + 1, f"a search differing in {field} is made afresh"
    assert again.result == first.result


def test_a_replayed_search_is_never_reused(planned):
    """A search served from an earlier record (a redelivery after a crash) answered for another
    moment: the next search is made afresh."""
    world, ran = planned
    flow, request, plan, now, first = _first_search(world)
    ledger = world.ledger
    # A result on record under the key the next search will use (the count includes this row).
    stale = {**first.result, "vendors": []}
    key = f"marketplace.search_vendors:request:{request.id}:search:{ledger.tool_call_count() + 1}"
    ledger.record_tool_call(key, SEARCH, request.id, "system", {}, stale, now)
    before = len(ran)
    replayed = flow._eligible(request, plan, now, searched=first)
    assert replayed.result == stale and not replayed.fresh and len(ran) == before
    ledger.record_tool_call("another:call", SEARCH, request.id, "system", {}, stale, now)  # the next key is new
    again = flow._eligible(request, plan, now, searched=replayed)
    assert len(ran) == before + 1 and again.fresh and again.result == first.result
