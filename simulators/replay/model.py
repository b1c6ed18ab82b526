"""What a loaded scenario file is: plain frozen values the runner consumes, with their file lines.

Everything here has already been validated by ``loader.load_scenario``; the runner trusts it and
never re-checks shapes. Lines are 1-based lines of the scenario file, so a failure can point at the
YAML the author wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file: where, which key, what was expected."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.key}: {self.message}"


class ScenarioInvalid(Exception):
    """A scenario file that cannot run; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid scenario")


_COUNT = re.compile(r"\s*(>=|<=|==|!=|>|<)?\s*(\d+)\s*")
_OPS = {
    "==": lambda n, k: n == k,
    "!=": lambda n, k: n != k,
    ">=": lambda n, k: n >= k,
    "<=": lambda n, k: n <= k,
    ">": lambda n, k: n > k,
    "<": lambda n, k: n < k,
}


@dataclass(frozen=True)
class Count:
    """An expected count: exact (``3``) or a comparison (``">=3"``, ``"<2"``, ``"!=0"``)."""

    op: str
    value: int

    @classmethod
    def parse(cls, raw: Any) -> Count:
        """From an int or a string; ``ValueError`` names the accepted forms."""
        if isinstance(raw, Count):
            return raw
        if isinstance(raw, int) and not isinstance(raw, bool):
            if raw < 0:
                raise ValueError(f"a count cannot be negative, got {raw}")
            return cls("==", raw)
        if isinstance(raw, str):
            m = _COUNT.fullmatch(raw)
            if m:
                return cls(m.group(1) or "==", int(m.group(2)))
        raise ValueError(
            f"expected a count: a whole number (3) or a comparison string like \">=3\", \"<=5\", "
            f"\">0\", \"<2\", \"==1\", \"!=0\"; got {raw!r}"
        )

    def matches(self, n: int) -> bool:
        return _OPS[self.op](n, self.value)

    def __str__(self) -> str:
        return str(self.value) if self.op == "==" else f"{self.op}{self.value}"


@dataclass(frozen=True)
class VendorSpec:
    id: str
    name: str
    phone: str  # E.164, normalized
    categories: tuple[str, ...]
    area: str | None = None
    lat: float | None = None  # filled from the gazetteer when only `area` is given
    lng: float | None = None
    rating: float = 0.0
    avg_response_minutes: float = 30.0
    active: bool = True
    opted_out: bool = False
    language: str = "en"
    tags: tuple[str, ...] = ()
    line: int = 0
    # Extensions (ports.Vendor has them; docs/domain.md's eligibility rules mention both).
    blocked: bool = False
    has_whatsapp: bool = True
    file: str = ""  # the fixture file when the vendor came from `vendors: PATH`


@dataclass(frozen=True)
class ClientSpec:
    id: str
    phone: str  # E.164, normalized
    language: str = "en"
    area: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Step:
    index: int  # 1-based position in `steps`
    line: int  # line of the step's first key
    kind: str  # an ACTIONS word of vocabulary.py (include steps are expanded by the loader)
    args: dict[str, Any]  # the step mapping minus id/note, normalized (see loader)
    id: str | None = None
    note: str | None = None
    # "expect.outreach.count" -> line, for pointing a failed expectation at its own YAML line.
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Scenario:
    id: str
    description: str
    tags: tuple[str, ...]
    seed: int
    flags: dict[str, Any]  # raw values as written; concierge.flags parses them
    caps: dict[str, Any]  # known cap names only (concierge.policy.Caps)
    vendors: tuple[VendorSpec, ...]
    clients: tuple[ClientSpec, ...]
    steps: tuple[Step, ...]
    file: str
    source_lines: tuple[str, ...] = field(default=(), compare=False, repr=False)
    expected_log_errors: tuple[str, ...] = ()
    brain: Any = None  # a check_brain.BrainSpec: an HTTP brain behind a cassette, or None (rule brain)
    # Authoring extensions (vocabulary_authoring): a seeded starting point, expected failure, skip.
    initial_state: dict[str, Any] | None = None
    initial_state_line: int = 0
    xfail: str | None = None  # the reason this scenario is expected to fail
    skip: str | None = None  # the reason it is not run
