"""What ``gate phase2 --review FILE`` makes of a shortlist review, the file a reviewer exports from a
run's ``review.html`` (``simulators/html/review.py`` draws the page): the runbook's "manual review
of the first 20 shortlists", as evidence.

The file is checked against ``shortlist_review.v1.json`` (next to this module) and against the run
it claims to review (the fingerprint of the shortlists shown); either failing is invalid input
(exit 2). A valid review holds the gate while any shortlist is marked *problem* or left unmarked.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parent / "shortlist_review.v1.json"
FORMAT = "concierge-sim.shortlist-review.v1"
CRITERION = "phase2.manual_review"


class ReviewInvalid(ValueError):
    """A review file that cannot be evidence: unreadable, off the schema, or of another run."""


@lru_cache(maxsize=1)
def _check():
    from concierge.contracts import Check

    return Check(json.loads(SCHEMA.read_text("utf-8")))


def read_review(path: str | Path) -> dict[str, Any]:
    """The review file, valid against the schema, or ``ReviewInvalid`` naming the first problem."""
    source = Path(path)
    try:
        review = json.loads(source.read_text("utf-8"))
    except OSError as exc:
        raise ReviewInvalid(f"{source}: cannot read the review file ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ReviewInvalid(f"{source}: not JSON ({exc})") from None
    problem = _check().first_error(review)
    if problem is not None:
        raise ReviewInvalid(f"{source}: not a shortlist review ({FORMAT}): {problem}")
    return review


def review_row(path: str | Path, samples: dict[str, Any]) -> dict[str, Any]:
    """The manual review criterion, judged from a reviewer's file and the run's samples."""
    review = read_review(path)
    expected = samples.get("fingerprint")
    if not expected:
        raise ReviewInvalid(f"{path}: the run folder has no samples.json to check the review against "
                            "(run simulate again: it writes the shortlists the review page shows)")
    if review["run"]["fingerprint"] != expected:
        raise ReviewInvalid(f"{path}: this review is of another run (fingerprint {review['run']['fingerprint']}, "
                            f"the run's is {expected}); review this run's review.html")
    shown = [s["id"] for s in samples.get("shortlists", [])]
    marks = {m["id"]: m for m in review["marks"]}
    unknown = sorted(set(marks) - set(shown))
    if unknown:
        raise ReviewInvalid(f"{path}: marks shortlists the run does not show: {', '.join(unknown[:5])}")
    problems = [marks[i] for i in shown if i in marks and marks[i]["verdict"] == "problem"]
    unmarked = [i for i in shown if i not in marks]
    ok = bool(shown) and not problems and not unmarked
    summary = (f"{len(shown) - len(unmarked)}/{len(shown)} shortlists reviewed by {review['reviewer']}: "
               f"{len(shown) - len(unmarked) - len(problems)} ok, {len(problems)} problem")
    if problems:
        summary += "; " + "; ".join(f"{m['id']}: {m['note'][:120]}" for m in problems[:5])
    if unmarked:
        summary += f"; not marked: {', '.join(unmarked[:5])}" + (" ..." if len(unmarked) > 5 else "")
    if not shown:
        summary += "; the run delivered no shortlist to review"
    return {"id": CRITERION, "kind": "criterion", "title": "Manual review of the first 20 shortlists",
            "metric": "shortlists_reviewed_ok", "value": len(shown) - len(unmarked) - len(problems),
            "op": "==", "threshold": len(shown), "source": str(path),
            "verdict": "pass" if ok else "fail", "note": summary}
