"""Collecting and phrasing scenario problems: file, line, key, and what was expected.

Every check reports through a ``Checker`` instead of raising, so one pass over a file finds all of
its problems; the phrasing helpers (what YAML read, "did you mean") keep the messages alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .model import Count, Problem
from .yaml_hints import written_word
from .yamlsource import Map, Seq


def suggest(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:60]!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return f"a {type(value).__name__}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


class Checker:
    """Validation of one file; ``add`` collects problems instead of stopping at the first."""

    def __init__(self, file: str, base: Path):
        self.file = file
        self.base = base
        self.problems: list[Problem] = []
        self.source: tuple[str, ...] = ()  # the file's lines, to quote back what the author wrote

    def add(self, line: int, key: str, message: str, file: str | None = None) -> None:
        self.problems.append(Problem(file or self.file, line, key, message))

    def unknown_keys(self, m: Map, allowed: Iterable[str], prefix: str, file: str | None = None) -> None:
        allowed = tuple(allowed)
        for key in m:
            if key not in allowed:
                self.add(m.key_line(key), f"{prefix}{key}",
                         f"unknown key {key!r}{suggest(key, allowed)} (expected one of: {', '.join(allowed)})",
                         file)

    def text(self, value: Any, line: int, key: str, *, file: str | None = None, empty_ok: bool = False) -> bool:
        if isinstance(value, str) and (empty_ok or value.strip()):
            return True
        if isinstance(value, (bool, int, float)) and not isinstance(value, str):
            written = written_word(self.source if file is None else (), line, value, key) \
                if isinstance(value, bool) else value
            self.add(line, key, f"expected text, but YAML read {describe(value)}; put the value in quotes "
                                f"(e.g. \"{written}\")", file)
        elif isinstance(value, str):
            self.add(line, key, "expected non-empty text", file)
        else:
            self.add(line, key, f"expected text, got {describe(value)}", file)
        return False

    def texts(self, value: Any, line: int, key: str) -> list[str] | None:
        """Text or a list of texts, as a list."""
        if isinstance(value, str):
            return [value] if self.text(value, line, key) else None
        if isinstance(value, list):
            ok = all(self.text(v, value.item_line(i) if isinstance(value, Seq) else line, f"{key}[{i}]")
                     for i, v in enumerate(value))
            if not value:
                self.add(line, key, "expected at least one text")
                return None
            return list(value) if ok else None
        self.add(line, key, f"expected text or a list of texts, got {describe(value)}")
        return None

    def choice(self, value: Any, choices: tuple[str, ...], line: int, key: str, file: str | None = None) -> bool:
        if isinstance(value, str) and value in choices:
            return True
        self.add(line, key, f"expected one of {', '.join(choices)}; got {describe(value)}{suggest(value, choices)}",
                 file)
        return False

    def boolean(self, value: Any, line: int, key: str, file: str | None = None) -> bool:
        if isinstance(value, bool):
            return True
        self.add(line, key, f"expected true or false, got {describe(value)}", file)
        return False

    def count(self, value: Any, line: int, key: str) -> bool:
        try:
            Count.parse(value)
        except ValueError as exc:
            self.add(line, key, str(exc))
            return False
        return True

    def mapping(self, value: Any, line: int, key: str, what: str, file: str | None = None) -> bool:
        if isinstance(value, Map):
            return True
        self.add(line, key, f"expected a mapping ({what}), got {describe(value)}", file)
        return False
