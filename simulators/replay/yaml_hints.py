"""Hints for the two YAML slips a new author makes most: a word YAML reads as a boolean, and a line
indented to a column that belongs to no block.

The loader sees ``True`` where the author wrote ``yes``; suggesting quotes around ``"true"`` sends them
to change their text. The written word is read back from the source line instead. PyYAML's
``expected <block end>, but found ...`` names the parser's state, not the author's mistake: it
means the line is indented less (or more) than the block it seems to belong to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Every spelling YAML 1.1 (PyYAML) reads as a boolean.
_BOOL_WORD = re.compile(r"(?<![\w\"'])(yes|no|true|false|on|off)(?![\w\"'])", re.I)


def written_word(source: Sequence[str], line: int, value: Any, key: str = "") -> str:
    """The word the author wrote on ``line`` that YAML read as the boolean ``value`` (``yes``,
    ``Off``...), looked for after the key's own name first; ``true``/``false`` if it cannot be found."""
    fallback = str(value).lower()
    if not 1 <= line <= len(source):
        return fallback
    text = source[line - 1].split(" #", 1)[0]
    name = re.split(r"[ .\[]", key)[-1] if key else ""
    at = text.find(f"{name}:") if name else -1
    rest = text[at + len(name) + 1:] if at >= 0 else text.split(":", 1)[-1]
    for found in _BOOL_WORD.finditer(rest):
        word = found.group(1)
        if (word.lower() in ("yes", "true", "on")) == bool(value):
            return word
    return fallback


def indentation_hint(what: str, line: int, column: int) -> str:
    """A hint for an indentation mistake, or ''."""
    if "expected <block end>" not in what and "did not find expected key" not in what:
        return ""
    return (f"; check the indentation at line {line} (it starts at column {column}): a line indented more "
            "or less than the keys or '- ' items it belongs with ends its block where YAML does not "
            "expect it; indent it with spaces exactly like its siblings")
