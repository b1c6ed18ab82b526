"""The richer message checks and the context-pack check of `expect:`, as vocabulary and leaf checks.

``check_expect`` splices ``MESSAGE_RULES`` into `client_received`/`vendor_received`, adds
``AUTHORING_EXPECT`` to its keys and asks ``AUTHORING_LEAVES`` for the leaf kinds it does not know.
"""

from __future__ import annotations

import re
from typing import Any

from .check_refs import StepContext
from .checker import Checker, describe
from .model import Count
from .vocabulary_authoring import MESSAGE_TYPES
from .yamlsource import Map

NTH, REGEX, OCCURRENCES, PARTY, KEYS, TABLE, WHERE = (
    "nth", "regex", "occurrences", "party", "keys", "table", "where")

# Keys that any message check may use: `nth` picks one message (1 = first, -1 = last) and the others
# then judge that message; without `nth`, `type`/`buttons`/`rows` judge the last message, `matches`
# any message, and `count_of` counts a text in all of them.
MESSAGE_RULES: dict[str, Any] = {
    "nth": NTH, "type": MESSAGE_TYPES, "buttons": "text_list", "rows": "text_list", "matches": REGEX,
    "count_of": OCCURRENCES,
}
AUTHORING_EXPECT: dict[str, Any] = {
    # Every message the concierge sent, to anyone, in order: `to` names a client or a vendor.
    "sent": {"count": "count", "to": PARTY, "contains": "texts", "not_contains": "texts",
             "last_contains": "texts", **MESSAGE_RULES},
    # The last context pack the brain was given: keys present, keys absent, no unmasked phone.
    "context_pack": {"has": KEYS, "lacks": KEYS, "redacted": "bool", "event": "text", "state": "state"},
    # Rows of a ledger table (the SQLite schema in concierge/ledger.py), optionally filtered by
    # column = value; `client` scoping does not apply: a table is counted whole.
    "db_rows": {"table": TABLE, "where": WHERE, "count": "count"},
}
AUTHORING_EXPECT_REQUIRED = {"db_rows": ("table", "count")}


def _nth(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value != 0:
        return value
    c.add(line, key, f"expected a message position: 1 for the first, 2 for the second, -1 for the last; "
                     f"got {describe(value)}")
    return value


def _regex(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        c.add(line, key, f"expected a regular expression or a list of them, got {describe(value)}")
        return value
    for pattern in items:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            c.add(line, key, f"{pattern!r} is not a valid regular expression ({exc}); quote it in single quotes "
                             "so YAML keeps backslashes")
    return [str(p) for p in items]


def _occurrences(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    if not isinstance(value, Map) or not value:
        c.add(line, key, f"expected a mapping of texts to counts, like {{\"wa.me/\": 3}}, got {describe(value)}")
        return value
    for text, count in value.items():
        try:
            Count.parse(count)
        except ValueError as exc:
            c.add(value.key_line(text), f"{key}.{text}", str(exc))
    return dict(value)


def _party(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    known = ctx.client_ids | ctx.vendor_ids
    if not isinstance(value, str) or value not in known:
        from .checker import suggest

        c.add(line, key, f"expected a client or vendor id (defined: {', '.join(sorted(known)) or 'none'}), "
                         f"got {describe(value)}{suggest(value, sorted(known))}")
    return value


def _keys(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    return c.texts(value, line, key) or value


def _table(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    from .checker import suggest
    from .ledger_tables import ledger_tables

    if not isinstance(value, str) or value not in ledger_tables():
        c.add(line, key, f"expected a ledger table ({', '.join(ledger_tables())}), got {describe(value)}"
                         f"{suggest(value, ledger_tables())}")
    return value


def _where(c: Checker, value: Any, line: int, key: str, ctx: StepContext) -> Any:
    from .checker import suggest
    from .ledger_tables import ledger_tables

    if not isinstance(value, Map):
        c.add(line, key, f"expected a mapping of column names to values, like {{status: sent}}, got {describe(value)}")
        return value
    columns = sorted({col for cols in ledger_tables().values() for col in cols})
    for column, wanted in value.items():
        if column not in columns:
            c.add(value.key_line(column), f"{key}.{column}", f"no ledger table has a column {column!r}"
                                                             f"{suggest(column, columns)}")
        elif isinstance(wanted, (dict, list)):
            c.add(value.key_line(column), f"{key}.{column}", f"expected a plain value, got {describe(wanted)}")
    return dict(value)


AUTHORING_LEAVES = {NTH: _nth, REGEX: _regex, OCCURRENCES: _occurrences, PARTY: _party, KEYS: _keys,
                    TABLE: _table, WHERE: _where}
