"""Judging a finished shard beyond its metrics: Phase 0's invariants over everything its world did,
and liveness (every request ends), which the step-by-step invariants cannot judge.

A population run with ``--invariants`` is then a large property test of the concierge, not only
a source of metrics.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from concierge.lifecycle import ENDED_STATES
from simulators.world import SimWorld

from .metrics import Tally


def check_invariants(world: SimWorld, clients: Iterable[Any], stuck: list[str], tally: Tally,
                     shard: int) -> list[tuple[str, str]]:
    """The scenario runner's invariants, over everything this shard's world did, plus the ``stuck``
    requests (``stuck_requests``). Each violation is counted per invariant in ``tally`` and printed
    (with the shard) on stderr."""
    from simulators.invariants import Context, check_all

    problems = check_all(world, Context(tuple(c.phone for c in clients)))
    problems += [("requests_end", p) for p in stuck]
    tally.add("invariant_shards")
    tally.add("invariant_violations", len(problems))
    for name, message in problems:
        tally.add(f"invariant_{name}")
        print(f"simulate: invariant {name} broken in shard {shard}: {message}", file=sys.stderr)
    return problems


def stuck_requests(world: SimWorld) -> list[str]:
    """At the end of a run every request has ended or been handed off, unless it moved recently.
    Each wait the concierge starts has its own end (30-minute idle close, 10-minute hard limit, OCR
    and send retries), so a request untouched for twice the idle window is stuck."""
    limit = 2 * world.config.caps.idle_close_s
    now = world.clock.now()
    return [f"{r.id} stuck in {r.state} for {int(now - r.updated_at)} s"
            for r in world.ledger.requests_not_in(tuple(sorted(s.value for s in ENDED_STATES)))
            if now - r.updated_at > limit]
