"""The ledger's tables and their columns, read from its own schema: what `db_rows:` may name."""

from __future__ import annotations

import re
from functools import cache

from concierge.ledger import SCHEMA

_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", re.S)


@cache
def ledger_tables() -> dict[str, tuple[str, ...]]:
    """Table name -> column names, in schema order."""
    out = {}
    for name, body in _TABLE.findall(SCHEMA):
        columns = [line.split()[0] for line in body.strip().splitlines()
                   if line.strip() and not line.strip().startswith(("UNIQUE", "PRIMARY", "--", "FOREIGN"))]
        out[name] = tuple(columns)
    return out
