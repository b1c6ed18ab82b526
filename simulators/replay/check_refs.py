"""References between parts of a scenario: which vendor, client and step ids a step may name.

Shared by the step checks and the expectation checks, which both name parties.
"""

from __future__ import annotations

from typing import Any

from .checker import Checker, describe, suggest


class StepContext:
    def __init__(self, vendor_ids: set[str], client_ids: set[str], step_ids: dict[str, tuple[int, int, str]]):
        self.vendor_ids = vendor_ids
        self.client_ids = client_ids
        self.step_ids = step_ids  # id -> (index, line, kind)
        self.messages_before = 0  # client/vendor steps seen so far


def check_party(c: Checker, value: Any, line: int, key: str, known: set[str], what: str) -> bool:
    if not isinstance(value, str):
        c.add(line, key, f"expected a {what} id, got {describe(value)}")
        return False
    if value not in known:
        defined = ", ".join(sorted(known)) or f"none (add a `{what}s:` list)"
        c.add(line, key, f"unknown {what} {value!r} (defined {what}s: {defined}){suggest(value, sorted(known))}")
        return False
    return True
