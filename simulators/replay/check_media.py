"""Checks of what a client step sends as an image or document: a fixture file or a render spec.

The render spec mirrors ``simulators/render.py`` without importing it, so validating a scenario
never needs Pillow.
"""

from __future__ import annotations

from typing import Any

from .checker import Checker, describe
from .scenario_files import display_path, resolve_file
from .vocabulary import (
    MEDIA_SUFFIXES,
    RENDER_ITEM_KEYS,
    RENDER_KEYS,
    RENDER_KINDS,
    RENDER_LEVELS,
)
from .yamlsource import Map, Seq


def check_media(c: Checker, value: Any, line: int, key: str, extra: dict[str, Any]) -> None:
    if isinstance(value, Map):
        _render_spec(c, value, key)
        return
    if not isinstance(value, str) or not value.strip():
        c.add(line, key, f"expected a fixture path (PNG/JPEG/PDF) or a render spec like "
                         f"{{render: prescription, items: [...]}}, got {describe(value)}")
        return
    resolved, tried = resolve_file(value, c.base)
    if resolved is None:
        c.add(line, key, f"file {value!r} not found (looked at: {', '.join(display_path(t) for t in tried)})")
    elif resolved.suffix.lower() not in MEDIA_SUFFIXES:
        c.add(line, key, f"{value!r} is not a PNG, JPEG or PDF file (expected one of {', '.join(MEDIA_SUFFIXES)})")
    else:
        extra["path"] = str(resolved)


def _render_spec(c: Checker, spec: Map, key: str) -> None:
    kl = spec.key_line
    c.unknown_keys(spec, RENDER_KEYS, f"{key}.")
    kind = spec.get("render")
    if "render" not in spec:
        c.add(spec.line, f"{key}.render", f"missing; expected render: one of {', '.join(RENDER_KINDS)}")
    else:
        c.choice(kind, RENDER_KINDS, kl("render"), f"{key}.render")
    if "degrade" in spec:
        c.choice(spec["degrade"], RENDER_LEVELS, kl("degrade"), f"{key}.degrade")
    if "seed" in spec and (not isinstance(spec["seed"], int) or isinstance(spec["seed"], bool)):
        c.add(kl("seed"), f"{key}.seed", f"expected a whole number, got {describe(spec['seed'])}")
    if "title" in spec:
        c.text(spec["title"], kl("title"), f"{key}.title")
    items, lines = spec.get("items"), spec.get("lines")
    if lines is not None and not (isinstance(lines, list) and all(
            isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in lines)):
        c.add(kl("lines"), f"{key}.lines", f"expected a list of text lines, got {describe(lines)}")
    if items is not None:
        if not isinstance(items, list):
            c.add(kl("items"), f"{key}.items", f"expected a list of item mappings, got {describe(items)}")
        elif kind in RENDER_ITEM_KEYS:
            required, allowed = RENDER_ITEM_KEYS[kind]
            for i, item in enumerate(items):
                item_key, item_line = f"{key}.items[{i}]", items.item_line(i) if isinstance(items, Seq) else kl("items")
                if not c.mapping(item, item_line, item_key, ", ".join(allowed)):
                    continue
                for k in required:
                    if k not in item:
                        c.add(item.line, f"{item_key}.{k}", f"missing; a {kind} item needs {k}")
                c.unknown_keys(item, allowed, f"{item_key}.")
    if kind in RENDER_ITEM_KEYS and not items and not lines:
        c.add(spec.line, key, "a render spec needs items: [...] or lines: [...]")
