"""The durable inbox: a verified webhook is stored before Meta gets its 200, and removed once the
worker has handled it. Meta does not redeliver what was answered 200, so a process killed between
the answer and the handling would otherwise lose the message; handled twice (killed after the
ledger's commit, before the removal) it is a duplicate the ledger's dedupe absorbs.

Its own SQLite file next to the ledger's (``<db>.inbox``), so that storing a webhook never waits
for the ledger's writer, which may be in the middle of a send.
"""

from __future__ import annotations

import sqlite3
import threading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    body         BLOB NOT NULL,
    signature    TEXT,
    received_at  REAL NOT NULL
)
"""


def inbox_path(db_path: str) -> str:
    return ":memory:" if db_path == ":memory:" else f"{db_path}.inbox"


class Inbox:
    """One connection; safe to share between threads (a lock around each statement)."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def put(self, body: bytes, signature: str | None, received_at: float) -> int:
        with self._lock:
            cursor = self.db.execute("INSERT INTO inbox (body, signature, received_at) VALUES (?, ?, ?)",
                                     (body, signature, received_at))
            return int(cursor.lastrowid)

    def oldest(self, limit: int = 64) -> list[tuple[int, bytes, str | None]]:
        with self._lock:
            rows = self.db.execute("SELECT seq, body, signature FROM inbox ORDER BY seq LIMIT ?",
                                   (limit,)).fetchall()
        return [(int(seq), bytes(body), signature) for seq, body, signature in rows]

    def done(self, seq: int) -> None:
        with self._lock:
            self.db.execute("DELETE FROM inbox WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.db.close()
