"""Why a population run has (almost) nothing on the AI path, said where a user looks.

Without ``--profile`` (or an ``--env`` block) every feature flag is off, as in production, so every
request goes to the coded workflow and the AI metrics are empty: the run prints ``error rate -``,
the plots have no bars and ``gate phaseN`` reads NO DATA. Each of those places says why instead.
"""

from __future__ import annotations

from typing import Any

FEW = 20  # below this many AI-path requests a rate is mostly noise


def ai_path_note(metrics: dict[str, Any], flags: dict[str, Any] | None, clients: int | None) -> str | None:
    """A sentence saying why the AI path is empty or nearly so, or None when it is not."""
    ai = int(metrics.get("requests") or 0)
    total = int(metrics.get("requests_total") or ai)
    if ai >= FEW:
        return None
    flags = flags or {}
    head = (f"{ai} of {total} request(s) on the AI path" if ai else
            f"no request on the AI path ({total} went to the coded workflow)")
    if flags and not flags.get("FEATURE_AI_CONCIERGE"):
        why = ("FEATURE_AI_CONCIERGE is off (no --profile and no --env set it; production's default); "
               "pass --profile phase1|phase2|phase3 or an --env block that turns it on")
    elif flags and flags.get("AI_CONCIERGE_PERCENT_ROLLOUT") == 0 and not flags.get("AI_CONCIERGE_ALLOWLIST_PHONES"):
        why = "the rollout percent is 0 and the allowlist is empty: nobody is let onto the AI path"
    elif total < FEW:
        why = (f"the cohort is too small: {total} request(s) from {clients or '?'} client(s); "
               "raise --clients or --hours")
    else:
        why = ("the flags let only a few clients onto the AI path (allowlist and rollout percent); "
               "raise AI_CONCIERGE_PERCENT_ROLLOUT or --clients")
    return f"{head}: {why}; its rates and percentiles are empty or noise"


def run_note(folder: str) -> str | None:
    """``ai_path_note`` of a run folder (metrics.json and run.json), for the gates."""
    import json
    from pathlib import Path

    try:
        metrics = json.loads((Path(folder) / "metrics.json").read_text("utf-8"))
        run = json.loads((Path(folder) / "run.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(metrics, dict) or not isinstance(run, dict):
        return None
    config = run.get("config") if isinstance(run.get("config"), dict) else {}
    return ai_path_note(metrics, run.get("flags") if isinstance(run.get("flags"), dict) else None,
                        config.get("clients"))
