"""What a population run is: its sizes, world and policy, and how its shards are seeded.

``RunConfig`` is what ``simulate``, a sweep point and the bench all build; it travels to worker
processes as is (a frozen dataclass), so each shard rebuilds the same world from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .env import Profile, profile
from .population import WorldParams


@dataclass(frozen=True)
class RunConfig:
    clients: int
    vendors: int
    hours: float
    seed: int
    profile: str | None = None
    env_file: str | None = None
    params: WorldParams = field(default_factory=WorldParams)
    shards: int = 1
    ocr: str = "model"  # model | tesseract
    invariants: bool = False  # check Phase 0's invariants over the whole run (keeps the sent log)
    brain: Any = None  # a BrainSpec: an HTTP brain behind a cassette instead of the rule brain
    ledger: str | None = None  # a folder to keep the ledgers in, one file per shard (default: a scratch folder)
    review: int = 20  # shortlists kept for the manual review page (the runbook's first 20)

    def settings(self) -> Profile:
        return profile(self.profile, self.env_file)


def shard_seed(seed: int, shard: int) -> int:
    return int.from_bytes(hashlib.sha256(f"rollout:{seed}:{shard}".encode()).digest()[:6], "big")


def size_problem(clients: int, vendors: int, hours: float, shards: int | None, workers: int = 1) -> str | None:
    """What is wrong with a run's sizes (``simulate``'s options, a sweep point's), or None."""
    if clients < 1 or vendors < 1 or hours <= 0 or workers < 1:
        return "--clients, --vendors, --workers must be >= 1 and --hours > 0"
    if shards is not None and not 1 <= shards <= min(clients, vendors):
        return (f"--shards must be between 1 and min(--clients, --vendors) = {min(clients, vendors)}, "
                f"got {shards}")
    return None

