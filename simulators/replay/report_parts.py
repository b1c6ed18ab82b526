"""Pieces of a run's reports that must say everything: every failed key of a step, the seed each
scenario really ran with, and transcripts in full (a long shortlist or a vendor's price list is
where a failure hides, so nothing is cut; a long message is folded, marked as such, not trimmed)."""

from __future__ import annotations

from typing import Any

FOLD_AT = 300  # characters shown before a message folds (the rest is one click away, never dropped)


def failed_keys(failure: Any) -> list[dict[str, Any]]:
    """Each key that failed at the failing step, the first included, as structured fields."""
    out = []
    for f in [failure, *getattr(failure, "also", [])]:
        out.append({"step": f.step, "line": f.line, "key": f.key,
                    "message": f.message.split("\n    also ", 1)[0], "invariant": f.invariant})
    return out


def effective_seed(result: Any, override: int | None) -> int:
    """The seed the scenario ran with: the run's override, else the file's own ``seed:``."""
    return result.scenario.seed if override is None else override


def seed_phrase(override: int | None) -> str:
    return (f"seed {override} for every scenario" if override is not None
            else "each scenario with its own seed (column `seed`)")


def transcript_markdown(transcript: list[dict[str, Any]]) -> list[str]:
    lines = []
    for t in transcript:
        head = f"- `{t['at']}` **{t['from']} → {t['to']}**: "
        text = t["text"]
        if len(text) <= FOLD_AT:
            lines.append(head + text.replace("\n", " / "))
        else:
            shown = text[:FOLD_AT].replace("\n", " / ")
            lines.append(f"{head}<details><summary>{_html(shown)} … (folded: {len(text):,} characters in "
                         f"all; open to read)</summary>\n\n```text\n{text}\n```\n\n</details>")
    return lines


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def transcript_text(result: Any, override: int | None = None) -> list[str]:
    """``run -v``: a scenario's whole transcript, passing or not, as the terminal shows it."""
    lines = [f"{result.verdict.upper()} {result.scenario.file} ({result.scenario.id}), "
             f"seed {effective_seed(result, override)}: {len(result.transcript)} message(s)"]
    for t in result.transcript:
        lines.append(f"    {t['at']} {t['from']} -> {t['to']}: {t['text']!r}")
    return lines
