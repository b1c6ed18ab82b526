"""``-k`` and ``--tag`` over files that may be broken: an invalid file the selection does not pick
is reported as a warning and the selected scenarios run (a work-in-progress file in the same folder
must not stop ``run scenarios/ -k other``); an invalid file it does pick is still an error (exit 2).

Whether a broken file is picked is judged on what can still be read of it: its path, and the
``scenario:`` id and ``tags:`` written at its top level (read as YAML nodes, without building
anything, so no alias is expanded; the id line alone when the YAML does not parse). A file whose tags cannot be read is not picked by ``--tag``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

_ID_LINE = re.compile(r"^scenario:\s*['\"]?([A-Za-z0-9_-]+)", re.M)


def _top_level(path: Path) -> tuple[str | None, set[str]]:
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, ValueError):
        return None, set()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):  # a syntax error further down: the id line still reads
        found = _ID_LINE.search(text)
        return (found.group(1) if found else None), set()
    if not isinstance(node, yaml.MappingNode):
        return None, set()
    sid, tags = None, set()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        if key.value == "scenario" and isinstance(value, yaml.ScalarNode):
            sid = value.value
        elif key.value == "tags":
            items = value.value if isinstance(value, yaml.SequenceNode) else [value]
            tags = {i.value for i in items if isinstance(i, yaml.ScalarNode)}
    return sid, tags


def picks_broken_file(file: str, keyword: str | None, tags: Sequence[str]) -> bool:
    """Whether ``-k keyword`` and ``--tag`` (as ``cli.select`` applies them) pick this invalid file."""
    sid, file_tags = _top_level(Path(file))
    if keyword and keyword not in file and (sid is None or keyword not in sid):
        return False
    return not tags or bool(set(tags) & file_tags)


def warning_for(file: str, problems: int) -> str:
    return (f"warning: {file} is invalid ({problems} problem(s)) and not selected; skipped "
            f"(see them with: concierge-sim validate {file})")
