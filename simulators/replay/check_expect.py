"""Checks of ``expect:`` steps: what may be checked, and each value normalized for the runner.

``EXPECT`` is the schema of an expectation (a leaf kind, or a mapping of sub-keys to leaf kinds);
the runner's ``expectations.py`` evaluates what this module lets through.
"""

from __future__ import annotations

from typing import Any

from .check_expect_authoring import (
    AUTHORING_EXPECT,
    AUTHORING_EXPECT_REQUIRED,
    AUTHORING_LEAVES,
    MESSAGE_RULES,
)
from .check_refs import StepContext, check_party
from .checker import Checker, describe
from .vocabulary import (
    CALL_ROW_STATUSES,
    CONSENT_STATUSES,
    OCR_STATUSES,
    OCR_TYPES,
    STATES,
)
from .yamlsource import NODE_BUDGET, Map, Seq, plain

# Leaf kinds of expectation values.
COUNT, BOOL, TEXTS, TEXT_LIST, VENDOR, VENDORS, STATE, STATE_LIST, CLIENT = (
    "count", "bool", "texts", "text_list", "vendor", "vendors", "state", "state_list", "client")

EXPECT: dict[str, Any] = {
    "state": STATE,
    "states": STATE_LIST,
    "outreach": {"count": COUNT, "batches": COUNT, "vendors": VENDORS, "not_vendors": VENDORS},
    "vendor_received": {"vendor": VENDOR, "count": COUNT, "contains": TEXTS, "not_contains": TEXTS,
                        "last_contains": TEXTS, **MESSAGE_RULES},
    "client_received": {"count": COUNT, "contains": TEXTS, "last_contains": TEXTS, "not_contains": TEXTS,
                        **MESSAGE_RULES},
    "shortlist": {"size": COUNT, "order": VENDORS, "includes": VENDORS, "excludes": VENDORS},
    "brain": {"calls": COUNT, "rejected": COUNT, "kill_switch": BOOL},
    "ocr": {"jobs": COUNT, "status": OCR_STATUSES, "type": OCR_TYPES, "drugs": TEXT_LIST, "uncertain": BOOL},
    "calls": {"count": COUNT, "last_status": CALL_ROW_STATUSES},
    "consent": CONSENT_STATUSES,
    "vendor_opted_out": VENDORS,
    "handled_by": ("ai", "coded"),
    "injection": {"flagged": COUNT},
    "audit": {"event": "text", "count": COUNT},
    "ledger": {"inbound": COUNT},
    "client": CLIENT,
    **AUTHORING_EXPECT,
}
EXPECT_REQUIRED = {"vendor_received": ("vendor",), "audit": ("event",), **AUTHORING_EXPECT_REQUIRED}


def step_expect(c: Checker, raw: Map, where: str, ctx: StepContext, extra: dict[str, Any]) -> None:
    spec, key = raw["expect"], f"{where} expect"
    if not c.mapping(spec, raw.key_line("expect"), key, f"what to check: {', '.join(EXPECT)}"):
        return
    if not spec:
        c.add(spec.line, key, f"nothing to check; expected at least one of: {', '.join(EXPECT)}")
    c.unknown_keys(spec, EXPECT, f"{key}.")
    normalized: dict[str, Any] = {}
    for name in spec:  # the author's order: the runner reports mismatches in this order
        if name not in EXPECT:
            continue
        rule = EXPECT[name]
        value, line, path = spec[name], spec.key_line(name), f"{key}.{name}"
        if isinstance(rule, dict):
            if not c.mapping(value, line, path, ", ".join(rule)):
                continue
            c.unknown_keys(value, rule, f"{path}.")
            for req in EXPECT_REQUIRED.get(name, ()):
                if req not in value:
                    c.add(value.line, f"{path}.{req}", f"missing; {name} needs {req}:")
            if not value:
                c.add(value.line, path, f"nothing to check; expected some of: {', '.join(rule)}")
            sub = {}
            for sub_name, sub_rule in rule.items():
                if sub_name in value:
                    sub[sub_name] = _leaf(c, value[sub_name], sub_rule, value.key_line(sub_name),
                                          f"{path}.{sub_name}", ctx)
            normalized[name] = {**plain(value, [NODE_BUDGET]), **sub}
        else:
            normalized[name] = _leaf(c, value, rule, line, path, ctx)
    extra["expect"] = normalized


def _leaf(c: Checker, value: Any, rule: Any, line: int, key: str, ctx: StepContext) -> Any:
    """Check one expectation value; returns it normalized (a single id or text becomes a list)."""
    if isinstance(rule, tuple):
        c.choice(value, rule, line, key)
    elif rule == COUNT:
        c.count(value, line, key)
    elif rule == BOOL:
        c.boolean(value, line, key)
    elif rule == "text":
        c.text(value, line, key)
    elif rule == TEXTS:
        c.texts(value, line, key)
    elif rule == TEXT_LIST:
        return c.texts(value, line, key) or value
    elif rule == STATE:
        c.choice(value, STATES, line, key)
    elif rule == STATE_LIST:
        if not isinstance(value, list) or not value:
            c.add(line, key, f"expected a list of states like [collecting_requirements, handed_off], got {describe(value)}")
        else:
            for i, s in enumerate(value):
                c.choice(s, STATES, value.item_line(i) if isinstance(value, Seq) else line, f"{key}[{i}]")
    elif rule == VENDOR:
        check_party(c, value, line, key, ctx.vendor_ids, "vendor")
    elif rule == CLIENT:
        check_party(c, value, line, key, ctx.client_ids, "client")
    elif rule == VENDORS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            c.add(line, key, f"expected a list of vendor ids, got {describe(value)}")
            return value
        for i, v in enumerate(items):
            item_line = items.item_line(i) if isinstance(items, Seq) else line
            check_party(c, v, item_line, f"{key}[{i}]" if items is value else key, ctx.vendor_ids, "vendor")
        return list(items)
    elif rule in AUTHORING_LEAVES:
        return AUTHORING_LEAVES[rule](c, value, line, key, ctx)
    return plain(value, [NODE_BUDGET])
