"""The words for the outcomes beside pass/fail/error: an expected failure (XFAIL), an expected
failure that passed (XPASS), a skipped scenario (SKIP); each with the reason its file gives."""

from __future__ import annotations

from typing import Any

OUTCOME_WORDS = {"xfail": "XFAIL", "xpass": "XPASS", "skip": "SKIP"}


def reason_of(result: Any) -> str | None:
    scenario = result.scenario
    return scenario.skip if result.verdict == "skip" else getattr(scenario, "xfail", None)


def outcome_line(result: Any) -> str:
    word = OUTCOME_WORDS[result.verdict]
    line = f"{word} {result.scenario.file} ({result.scenario.id}): {reason_of(result)}"
    if result.verdict == "xfail" and result.failure is not None:
        line += f"\n    failed as expected: {result.failure.headline(str(result.scenario.file))}"
    elif result.verdict == "xpass":
        line += "\n    expected to fail, but passed: remove `xfail:` if the cause is fixed"
    return line


def outcome_counts(results: list[Any]) -> str:
    """", 1 xfailed, 1 xpassed, 2 skipped" for the outcomes that occurred, else ""."""
    names = {"xfail": "xfailed", "xpass": "xpassed", "skip": "skipped"}
    parts = [f"{n} {names[v]}" for v in names if (n := sum(r.verdict == v for r in results))]
    return "".join(f", {p}" for p in parts)
