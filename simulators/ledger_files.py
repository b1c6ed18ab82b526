"""Where a world's ledger lives: in memory (the default: fast, and every run starts empty), or in a
file under a folder given with ``--ledger``, one file per world, so that the ledger outlives the
process and can be inspected, or reopened by a restarted process (docs/reliability.md)."""

from __future__ import annotations

import re
from pathlib import Path

MEMORY = ":memory:"


def ledger_path(folder: str | Path | None, name: str, *, fresh: bool = True) -> str:
    """The ``db_path`` of the world ``name``: ``FOLDER/NAME.sqlite``, or in memory without a folder.
    ``fresh`` removes a ledger (and its WAL) an earlier run left there: a new run starts empty."""
    if folder is None:
        return MEMORY
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    path = base / (re.sub(r"[^\w.-]", "_", name) + ".sqlite")
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return str(path)
