"""Checks of the world's configuration in a scenario: ``flags:`` and ``caps:``.

Flags are checked more strictly than production reads them: production reads a typo as "off",
which in a scenario would silently test the wrong cohort.
"""

from __future__ import annotations

from typing import Any

from concierge.flags import ALLOWLIST, FLAG_AI, FLAG_CALLING, FLAG_OCR, KNOWN_KEYS, PERCENT
from concierge.phones import InvalidPhone, normalize_phone
from concierge.policy import Caps

from .checker import Checker, describe, is_number
from .durations import DurationError, parse_duration
from .yamlsource import NODE_BUDGET, Seq, plain


def check_flags(c: Checker, value: Any, line: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not c.mapping(value, line, "flags", f"flag names to values: {', '.join(KNOWN_KEYS)}"):
        return {}
    c.unknown_keys(value, KNOWN_KEYS, "flags.")
    for name in (FLAG_AI, FLAG_OCR, FLAG_CALLING):
        if name not in value:
            continue
        v = value[name]
        if not (isinstance(v, bool) or (isinstance(v, str) and v.strip().lower() in ("true", "false"))):
            c.add(value.key_line(name), f"flags.{name}",
                  f"expected true or false, got {describe(v)} (production reads anything else as false, "
                  "so a typo would silently switch the feature off)")
    if ALLOWLIST in value:
        _check_allowlist(c, value[ALLOWLIST], value.key_line(ALLOWLIST))
    if PERCENT in value and value[PERCENT] is not None:
        v = value[PERCENT]
        try:
            pct = float(v) if not isinstance(v, bool) and isinstance(v, (int, float, str)) else None
        except ValueError:
            pct = None
        if pct is None or not 0 <= pct <= 100:
            c.add(value.key_line(PERCENT), f"flags.{PERCENT}", f"expected a number from 0 to 100, got {describe(v)}")
    return {k: plain(v, [NODE_BUDGET]) for k, v in value.items() if k in KNOWN_KEYS}


def _check_allowlist(c: Checker, value: Any, line: int) -> None:
    key = f"flags.{ALLOWLIST}"
    if value is None:
        return
    if isinstance(value, str):
        items = [(x.strip(), line) for x in value.split(",") if x.strip()]
    elif isinstance(value, list):
        items = [(x, value.item_line(i) if isinstance(value, Seq) else line) for i, x in enumerate(value)]
    else:
        c.add(line, key, f"expected comma-separated phone numbers or a list of them, got {describe(value)}")
        return
    for item, item_line in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            c.add(item_line, key, f"expected a phone number, got {describe(item)}")
            continue
        try:
            normalize_phone(str(item))
        except InvalidPhone:
            c.add(item_line, key, f"{str(item)!r} is not a phone number; expected E.164 like +250780000001")


def check_caps(c: Checker, value: Any, line: int) -> dict[str, Any]:
    if value is None:
        return {}
    if not c.mapping(value, line, "caps", "cap names to numbers, e.g. {max_vendors_per_request: 10}"):
        return {}
    defaults = Caps()
    names = Caps.names()
    c.unknown_keys(value, names, "caps.")
    out: dict[str, Any] = {}
    for name in names:
        if name not in value:
            continue
        v, key_line, key = value[name], value.key_line(name), f"caps.{name}"
        if isinstance(getattr(defaults, name), int):
            if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
                out[name] = v
            else:
                c.add(key_line, key, f"expected a whole number >= 0, got {describe(v)}")
        elif name.endswith("_s") and isinstance(v, str):
            try:
                out[name] = parse_duration(v)
            except DurationError as exc:
                c.add(key_line, key, str(exc))
        elif is_number(v) and v >= 0 and v != float("inf"):
            out[name] = float(v)
        else:
            unit = " (seconds, or a duration like 2m)" if name.endswith("_s") else ""
            c.add(key_line, key, f"expected a number >= 0{unit}, got {describe(v)}")
    return out
