"""Hypothesis profiles: ``ci`` (default, reproducible, fast) and ``nightly`` (many more examples).

``HYPOTHESIS_PROFILE=nightly`` is set by the noxfile's ``nightly`` session; tests whose example count
is their own (the stateful world test) scale it with the same variable.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

# CI must be reproducible: derandomized, no wall-clock deadline (a shared 2-core runner is noisy).
settings.register_profile(
    "ci", deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly", deadline=None, max_examples=1000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(PROFILE if PROFILE in ("ci", "nightly") else "ci")
