"""YAML with line numbers: every mapping key and sequence item remembers where it was written.

Scenario problems must name a line, and PyYAML's nodes know it; this loader keeps it on the values
(``Map.line``, ``Map.key_lines``), refuses duplicate keys, and copies values out with a node budget
so that an alias bomb or a self-referencing alias is a problem, never a hang.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .model import Problem
from .yaml_hints import indentation_hint

NODE_BUDGET = 200_000  # nodes copied out of one file: an alias bomb must not eat the machine


class Map(dict):
    """A YAML mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 1
    key_lines: dict[Any, int]

    def key_line(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class Seq(list):
    """A YAML sequence that remembers the line of itself and of each item (1-based)."""

    line: int = 1
    item_lines: list[int]

    def item_line(self, i: int) -> int:
        return self.item_lines[i] if i < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry lines, and which reports duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[int, str, str]] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode):
    data = Map()
    data.line, data.key_lines = node.start_mark.line + 1, {}
    yield data
    explicit: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in explicit:
            loader.duplicates.append((line, str(key), f"duplicate key {key!r}: first at line {explicit[key]}, "
                                                      f"again at line {line}; a key may appear once per mapping"))
        else:
            explicit[key] = line
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            loader.duplicates.append((line, "key", "a key must be plain text, not a list or mapping"))
            continue
        data[key] = loader.construct_object(value_node, deep=False)
        data.key_lines[key] = line


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode):
    data = Seq()
    data.line = node.start_mark.line + 1
    data.item_lines = [item.start_mark.line + 1 for item in node.value]
    yield data
    data.extend(loader.construct_object(item, deep=False) for item in node.value)


def yaml_problem(file: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    column = mark.column + 1 if mark is not None else 1
    what = " ".join(str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
    what = what or str(exc).splitlines()[0]
    hint = ""
    if "\\t" in what or "'\\t'" in what or "\t" in what:
        hint = "; indent with spaces, not tabs"
    elif "mapping values are not allowed" in what:
        hint = "; a value containing ': ' must be quoted, or the indentation is off"
    elif "expected a single document" in what:
        hint = "; one scenario per file (remove the extra '---')"
    else:
        hint = indentation_hint(what, line, column)
    context = getattr(exc, "context_mark", None)
    if context is not None and mark is not None and context.line != mark.line:
        hint += f" (the construct began at line {context.line + 1}, column {context.column + 1})"
    return Problem(file, line, "yaml", f"YAML syntax error at line {line}, column {column}: {what}{hint}")


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    loader = None
    try:
        loader = _LineLoader(text)  # the reader rejects control characters already here
        data = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        return None, [Problem(file, line, "file", f"character #x{exc.character:04x} at line {line} is not "
                                                  "allowed in YAML; is this a binary file? expected a YAML scenario")]
    except yaml.YAMLError as exc:
        return None, [yaml_problem(file, exc)]
    except RecursionError:
        return None, [Problem(file, 1, "yaml", "the YAML nests too deeply to read; expected a scenario mapping")]
    finally:
        if loader is not None:
            loader.dispose()
    return data, [Problem(file, line, key, msg) for line, key, msg in loader.duplicates]


def read_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    try:
        if path.is_dir():
            return None, [Problem(file, 0, "file", "is a folder; expected a .yaml scenario file")]
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(file, 0, "file", "no such file")]
    except (OSError, ValueError) as exc:
        return None, [Problem(file, 0, "file", f"cannot read the file: {exc}")]
    bad_at = raw.find(b"\x00")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_at = exc.start if bad_at < 0 else min(bad_at, exc.start)
        text = None
    if bad_at >= 0:
        line = raw[:bad_at].count(b"\n") + 1
        return None, [Problem(file, line, "file", f"not UTF-8 text (byte 0x{raw[bad_at]:02x} at line {line}); "
                                                  "is this a binary file? expected a YAML scenario")]
    return text, []


class Cyclic(Exception):
    pass


def plain(value: Any, budget: list[int], active: set[int] | None = None) -> Any:
    """A plain dict/list copy (aliases copied, cycles refused, size bounded)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise Cyclic("the step is too large (YAML aliases expanding without end?)")
    if isinstance(value, (dict, list)):
        active = active if active is not None else set()
        if id(value) in active:
            raise Cyclic("the step refers to itself through a YAML alias")
        active.add(id(value))
        try:
            if isinstance(value, dict):
                return {k: plain(v, budget, active) for k, v in value.items()}
            return [plain(v, budget, active) for v in value]
        finally:
            active.discard(id(value))
    return value


def collect_key_lines(node: Any, prefix: str, out: dict[str, int], budget: list[int], depth: int = 0) -> None:
    if not isinstance(node, Map) or depth > 8:
        return
    for key, line in node.key_lines.items():
        budget[0] -= 1
        if budget[0] < 0:
            return
        path = f"{prefix}.{key}" if prefix else str(key)
        out.setdefault(path, line)
        collect_key_lines(node.get(key), path, out, budget, depth + 1)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)


_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
