"""Why a Phase 0 gate failed, in one line: the criteria that failed and the gate's own scenarios
that did not pass. A failing scenario fails the gate even when every criterion it feeds passes
(the criteria count tagged scenarios; a scenario in no counted tag still has to pass), so the
verdict line names it instead of leaving a FAIL under a column of PASS."""

from __future__ import annotations

from typing import Any


def fail_causes(criteria: list[dict[str, Any]], results: list[Any]) -> list[str]:
    causes = [f"criterion {c['id']}" for c in criteria if c["verdict"] != "pass"]
    bad = [r for r in results if not r.passed]
    if bad:
        names = ", ".join(f"{r.scenario.id} ({r.verdict})" for r in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        causes.append(f"{len(bad)} of {len(results)} gate scenario(s) did not pass: {names}{more} "
                      "(details above and in report.md)")
    return causes
