"""`include:` steps: the steps of another file spliced in place, with variables filled in.

A steps file is a YAML list of steps, or a mapping `{vars: {...}, steps: [...]}` whose `vars` are
defaults; the including step's `vars:` override them (and a nested include sees its includer's values), and
`${name}` in any text of the included steps is replaced. Paths resolve against the including file's folder first (then the repository
root), so a steps file may include another next to it. A file that includes itself, directly or
through others, is refused with the chain that loops. Problems inside an included file are reported
against that file and its lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checker import Checker, describe
from .scenario_files import display_path, resolve_file
from .yamlsource import Map, Seq, parse_yaml, read_text

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_DEPTH = 16


@dataclass(frozen=True)
class Origin:
    """Where an included step came from, and the include step of the scenario that brought it."""

    file: str
    include_line: int


def expand_steps(c: Checker, steps: Seq) -> list[tuple[Any, int, Checker, Origin | None]]:
    """Each step of the scenario, includes expanded: (raw step, its line, whose checker, origin)."""
    out: list[tuple[Any, int, Checker, Origin | None]] = []
    _expand(c, steps, out, chain=(str(Path(c.file).resolve()),), top_line=None, values={})
    return out


def _expand(c: Checker, steps: Seq, out: list, chain: tuple[str, ...], top_line: int | None,
            values: dict[str, Any]) -> None:
    for i, raw in enumerate(steps):
        line = steps.item_line(i) if isinstance(steps, Seq) else 1
        if not (isinstance(raw, Map) and "include" in raw):
            origin = Origin(c.file, top_line) if top_line is not None else None
            out.append((raw, line, c, origin))
            continue
        _include(c, raw, out, chain, line if top_line is None else top_line, values)


def _include(c: Checker, raw: Map, out: list, chain: tuple[str, ...], top_line: int,
             inherited: dict[str, Any]) -> None:
    key, line = "include", raw.key_line("include")
    for extra in raw:
        if extra not in ("include", "vars", "note", "id"):
            c.add(raw.key_line(extra), f"include.{extra}", f"unknown key {extra!r} for an include step "
                                                           "(expected: include, vars, note)")
    target = raw["include"]
    if not isinstance(target, str) or not target.strip():
        c.add(line, key, f"expected the path of a steps file, got {describe(target)}")
        return
    resolved, tried = resolve_file(target, c.base)
    if resolved is None:
        c.add(line, key, f"steps file {target!r} not found (looked at: "
                         f"{', '.join(display_path(t) for t in tried)})")
        return
    if str(resolved) in chain:
        loop = " -> ".join(display_path(Path(p)) for p in (*chain, str(resolved)))
        c.add(line, key, f"include cycle: {loop}; a steps file cannot include itself")
        return
    if len(chain) > MAX_DEPTH:
        c.add(line, key, f"includes nest deeper than {MAX_DEPTH} files")
        return
    file = display_path(resolved)
    sub = Checker(file, resolved.parent)
    sub.problems = c.problems  # one list: the scenario reports everything at once
    text, problems = read_text(resolved, file)
    if text is None:
        c.problems.extend(problems)
        return
    data, problems = parse_yaml(text, file)
    c.problems.extend(problems)
    defaults: Any = {}
    steps = data
    if isinstance(data, Map):
        sub.unknown_keys(data, ("vars", "steps"), "")
        defaults, steps = data.get("vars") or {}, data.get("steps")
    if not isinstance(steps, list) or not steps:
        sub.add(getattr(data, "line", 1), "steps", f"a steps file is a list of steps (or {{vars:, steps: [...]}}), "
                                                   f"got {describe(steps)}")
        return
    given = raw.get("vars") or {}
    for name, value in (("vars", defaults), ("include vars", given)):
        if not isinstance(value, dict):
            c.add(line, name, f"expected a mapping of variable names to values, got {describe(value)}")
            return
    # A nested steps file sees its includer's variables; its own vars: are only defaults.
    values = {**defaults, **inherited, **given}
    _expand(sub, _substitute(sub, steps, values), out, (*chain, str(resolved)), top_line, values)


def _substitute(c: Checker, value: Any, values: dict[str, Any], line: int = 1) -> Any:
    """A copy with `${name}` replaced, keeping the YAML lines (a whole-text `${name}` takes the
    variable's own value, so a variable may hold a number or a mapping)."""
    if isinstance(value, Map):
        out = Map()
        out.line, out.key_lines = value.line, dict(value.key_lines)
        for k, v in value.items():
            out[k] = _substitute(c, v, values, value.key_line(k))
        return out
    if isinstance(value, Seq):
        seq = Seq(_substitute(c, v, values, value.item_line(i)) for i, v in enumerate(value))
        seq.line, seq.item_lines = value.line, list(value.item_lines)
        return seq
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = _VAR.fullmatch(value)
    if whole and whole.group(1) in values:
        return values[whole.group(1)]

    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            c.add(line, f"${{{m.group(1)}}}", f"undefined variable {m.group(1)!r}; define it in the steps "
                                              f"file's vars: or the include's vars: (defined: "
                                              f"{', '.join(sorted(values)) or 'none'})")
            return m.group(0)
        return str(values[m.group(1)])

    return _VAR.sub(fill, value)
