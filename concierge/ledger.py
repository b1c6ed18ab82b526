"""The ledger: a real SQLite database whose unique constraints are what make dedupe hold.

Every deduplication rule of docs/domain.md is a constraint here, and every write that must happen at
most once is an ``INSERT`` whose success decides whether the side effect runs ("insert first, send
only if the insert won"). The concierge never checks-then-acts in Python memory for those rules.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .json_text import json_writer, read_json
from .lifecycle import RequestState

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound (
    wamid        TEXT PRIMARY KEY,
    from_phone   TEXT NOT NULL,
    party        TEXT NOT NULL,            -- client | vendor
    kind         TEXT NOT NULL,
    received_at  REAL NOT NULL,
    request_id   TEXT
);
CREATE TABLE IF NOT EXISTS requests (
    id           TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL UNIQUE,
    client_phone TEXT NOT NULL,
    state        TEXT NOT NULL,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    data         TEXT NOT NULL DEFAULT '{}'   -- requirements, plan, counters: JSON
);
CREATE INDEX IF NOT EXISTS requests_by_client ON requests(client_phone, seq);
CREATE TABLE IF NOT EXISTS state_changes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT NOT NULL,
    source       TEXT,
    dest         TEXT NOT NULL,
    at           REAL NOT NULL,
    reason       TEXT
);
CREATE TABLE IF NOT EXISTS transcript (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT,
    direction    TEXT NOT NULL,            -- in | out
    party        TEXT NOT NULL,            -- client | vendor
    phone        TEXT NOT NULL,
    vendor_id    TEXT,
    text         TEXT NOT NULL,
    at           REAL NOT NULL,
    wamid        TEXT
);
CREATE TABLE IF NOT EXISTS outreach (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT NOT NULL,
    vendor_id    TEXT NOT NULL,
    idem_key     TEXT NOT NULL UNIQUE,
    batch        INTEGER NOT NULL,
    status       TEXT NOT NULL,            -- queued | sent | replied | no_response | failed | excluded
    queued_at    REAL NOT NULL,
    sent_at      REAL,
    replied_at   REAL,
    wamid        TEXT,
    UNIQUE (request_id, vendor_id)
);
CREATE TABLE IF NOT EXISTS replies (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   TEXT,
    vendor_id    TEXT NOT NULL,
    wamid        TEXT NOT NULL UNIQUE,
    text         TEXT NOT NULL,
    parsed       TEXT NOT NULL,
    at           REAL NOT NULL,
    acted_on     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbound (
    idem_key     TEXT PRIMARY KEY,
    request_id   TEXT,
    to_phone     TEXT NOT NULL,
    party        TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    text         TEXT NOT NULL,
    status       TEXT NOT NULL,            -- pending | sent | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    wamid        TEXT,
    created_at   REAL NOT NULL,
    sent_at      REAL,
    last_error   TEXT,
    buttons      TEXT                      -- JSON [[id, title], ...] of a reply-button message
);
CREATE TABLE IF NOT EXISTS audit (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           REAL NOT NULL,
    event        TEXT NOT NULL,
    request_id   TEXT,
    data         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vendor_status (
    vendor_id    TEXT PRIMARY KEY,
    opted_out    INTEGER NOT NULL DEFAULT 0,
    opted_out_at REAL,
    busy_until   REAL
);
CREATE TABLE IF NOT EXISTS tool_calls (
    idem_key     TEXT PRIMARY KEY,
    tool         TEXT NOT NULL,
    request_id   TEXT,
    actor        TEXT NOT NULL,
    args         TEXT NOT NULL,
    result       TEXT NOT NULL,
    at           REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shortlists (
    request_id   TEXT PRIMARY KEY,
    items        TEXT NOT NULL,
    created_at   REAL NOT NULL,
    delivered_at REAL
);
CREATE TABLE IF NOT EXISTS ocr_jobs (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    status       TEXT NOT NULL,            -- pending | completed | failed
    type         TEXT,
    result       TEXT,
    full_text    TEXT,                     -- stored, never logged
    created_at   REAL NOT NULL,
    finished_at  REAL
);
CREATE TABLE IF NOT EXISTS consents (
    request_id   TEXT PRIMARY KEY,
    status       TEXT NOT NULL,            -- not_requested | requested | granted | denied | expired
    scope        TEXT,
    requested_at REAL,
    granted_at   REAL,
    expires_at   REAL
);
CREATE TABLE IF NOT EXISTS timers (          -- armed timers only: a timer's row goes when it fires
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    request_id   TEXT,
    due          REAL NOT NULL,
    payload      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    target       TEXT NOT NULL,            -- vendor | client
    to_phone     TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   REAL NOT NULL,
    consent_ok   INTEGER NOT NULL,
    updated_at   REAL NOT NULL
);
-- Lookups the concierge makes on every message or timer. Without them each is a scan of a table
-- that grows with the run, and a one-market population of 10,000 requests turns quadratic. (The
-- audit table, the largest, is indexed by event only: the concierge never reads it by request.)
CREATE INDEX IF NOT EXISTS inbound_by_sender ON inbound(from_phone, received_at);
CREATE INDEX IF NOT EXISTS audit_by_event ON audit(event, seq);
CREATE INDEX IF NOT EXISTS transcript_by_request ON transcript(request_id, seq);
CREATE INDEX IF NOT EXISTS state_changes_by_request ON state_changes(request_id, seq);
CREATE INDEX IF NOT EXISTS outreach_by_vendor ON outreach(vendor_id, sent_at);
CREATE INDEX IF NOT EXISTS replies_by_request ON replies(request_id, seq);
CREATE INDEX IF NOT EXISTS outbound_by_request ON outbound(request_id);
CREATE INDEX IF NOT EXISTS ocr_jobs_by_request ON ocr_jobs(request_id);
CREATE INDEX IF NOT EXISTS calls_by_request ON calls(request_id);
"""


# Any write to a cached table (requests, outreach, replies, outbound, vendor_status) on the ledger's
# connection, by the ledger or by anyone else (tests and tools write them directly), empties the unit
# of work's caches of what was read from that table. Temporary: they live with the connection,
# outside the database's own schema.
_CACHED_TABLES = ("requests", "outreach", "replies", "outbound", "vendor_status")
_WRITTEN = "".join(
    f"CREATE TEMP TRIGGER IF NOT EXISTS ledger_{table}_{verb.lower()} AFTER {verb} ON main.{table}"
    f" BEGIN SELECT ledger_{table}_written(); END;\n"
    for table in _CACHED_TABLES for verb in ("INSERT", "UPDATE", "DELETE")
) + "".join(  # the count of tool calls: only a row more or less changes it
    f"CREATE TEMP TRIGGER IF NOT EXISTS ledger_tool_calls_{verb.lower()} AFTER {verb} ON main.tool_calls"
    " BEGIN SELECT ledger_tool_calls_counted(); END;\n"
    for verb in ("INSERT", "DELETE")
)


def _emptying(caches: tuple[dict[Any, Any], ...]) -> Callable[[], None]:
    """What a table's trigger calls: empty each cache of what was read from the table."""
    if len(caches) == 1:
        return caches[0].clear

    def empty() -> None:
        for cache in caches:
            cache.clear()
    return empty


def _where(*fixed: str, **equals: Any) -> tuple[str, list[Any]]:
    """`` WHERE a=? AND b=?`` for the filters given (None means: no filter on that column)."""
    clauses = list(fixed) + [f"{column}=?" for column, value in equals.items() if value is not None]
    params = [value for value in equals.values() if value is not None]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _in_list(values: list[Any]) -> tuple[str, list[Any]]:
    """Placeholders and parameters for ``IN (...)`` over ``values`` (at least one). The list is
    padded with its last value to a power of two, so that a handful of statement texts (each
    compiled once, then cached by sqlite3) serve every length; a repeated value changes nothing."""
    size = 4
    while size < len(values):
        size *= 2
    params = list(values) + [values[-1]] * (size - len(values))
    return ",".join("?" * size), params


# The ledger's JSON columns: sorted keys, compact, UTF-8 as it is. What the ledger is given to write
# is a tree (built by the concierge or decoded from JSON), never a cycle, so the writer need not
# track every container it enters; a cycle would still fail, with RecursionError instead of
# ValueError. json_writer writes exactly json's text, with orjson when that is sure (json_text.py).
_dumps = json_writer(sort_keys=True, ensure_ascii=False, check_circular=False)


# An outbound row's columns, in the order of ``SELECT *`` (the schema's), with the affinity each
# gives a value written to it: what the ledger writes is kept as SQLite would read it back.
_OUTBOUND = (
    ("idem_key", "TEXT"), ("request_id", "TEXT"), ("to_phone", "TEXT"), ("party", "TEXT"),
    ("purpose", "TEXT"), ("text", "TEXT"), ("status", "TEXT"), ("attempts", "INTEGER"),
    ("wamid", "TEXT"), ("created_at", "REAL"), ("sent_at", "REAL"), ("last_error", "TEXT"),
    ("buttons", "TEXT"),
)
_OUTBOUND_COLUMNS = tuple(name for name, _ in _OUTBOUND)
_OUTBOUND_SLOTS = {name: (position, affinity) for position, (name, affinity) in enumerate(_OUTBOUND)}
# A new row's values before its insert's own: the columns' defaults.
_OUTBOUND_DEFAULTS = (None,) * 6 + ("pending", 0) + (None,) * 5


class _NotKnown(Exception):
    """A value whose stored form the ledger does not work out itself (it reads it back instead)."""


def _as_stored(affinity: str, value: Any) -> Any:
    """``value`` as a column of this affinity reads it back; ``_NotKnown`` for anything but the
    plain values the concierge writes (None, str, int, finite float)."""
    kind = type(value)
    if value is None or (kind is str and affinity == "TEXT") or (kind is int and affinity == "INTEGER"
                                                               and -2**63 <= value < 2**63):
        return value
    if affinity == "REAL":
        # An integer is read back as a float; -0.0 and NaN are not kept as given (NULL for NaN).
        if kind is int and -2**53 <= value <= 2**53:
            return float(value)
        if kind is float and value == value and (value or str(value)[0] != "-"):
            return value
    raise _NotKnown


def _as_written(row: tuple[Any, ...], changes: dict[str, Any],
                slots: dict[str, tuple[int, str]]) -> tuple[Any, ...] | None:
    """A cached row's values (as SQLite reads them) with ``changes`` (column -> value as bound)
    written to it, as SQLite would read them back; None when one of them is not known."""
    values = list(row)
    try:
        for name, value in changes.items():
            position, affinity = slots[name]
            values[position] = _as_stored(affinity, value)
    except _NotKnown:
        return None
    return tuple(values)


# A cached request row: these columns, in the order of ``RequestRow`` (data, the JSON text, last).
_ROW = "id, client_phone, state, created_at, updated_at, data"
_ROW_SLOTS = {name: (position, affinity) for position, (name, affinity) in enumerate(
    (("id", "TEXT"), ("client_phone", "TEXT"), ("state", "TEXT"), ("created_at", "REAL"),
     ("updated_at", "REAL"), ("data", "TEXT")))}
_GET_ROW = f"SELECT {_ROW} FROM requests WHERE id=?"
_LATEST_ROW = f"SELECT {_ROW} FROM requests WHERE client_phone=? ORDER BY seq DESC LIMIT 1"


class RequestRow:
    """A request as the ledger holds it. Read from the ledger, ``data`` (the JSON column) is decoded
    when first used, into a dict of this row's own: about half of the reads only look at the state."""

    __slots__ = ("id", "client_phone", "state", "created_at", "updated_at", "_data", "_text")
    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value, as the dataclass was

    def __init__(self, id: str, client_phone: str, state: str, created_at: float, updated_at: float,
                 data: dict[str, Any]):
        self.id, self.client_phone, self.state = id, client_phone, state
        self.created_at, self.updated_at = created_at, updated_at
        self._data, self._text = data, None

    @classmethod
    def _read(cls, values: Iterable[Any]) -> RequestRow:
        """From ``_ROW``'s values (data as its JSON text)."""
        row = cls.__new__(cls)
        row.id, row.client_phone, row.state, row.created_at, row.updated_at, row._text = values
        row._data = None
        return row

    @property
    def data(self) -> dict[str, Any]:
        if self._text is not None:
            self._data, self._text = read_json(self._text), None
        return self._data  # type: ignore[return-value]

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self._data, self._text = value, None

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"RequestRow({', '.join(f'{n}={v!r}' for n, v in zip(_FIELDS, self._values(), strict=True))})"

    def _values(self) -> tuple[Any, ...]:
        return (self.id, self.client_phone, self.state, self.created_at, self.updated_at, self.data)


_FIELDS = ("id", "client_phone", "state", "created_at", "updated_at", "data")


@dataclass
class OutreachRow:
    id: int
    request_id: str
    vendor_id: str
    idem_key: str
    batch: int
    status: str
    queued_at: float
    sent_at: float | None
    replied_at: float | None
    wamid: str | None


class _UnitOfWork:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def __enter__(self) -> None:
        if self.ledger._depth == 0:
            self.ledger._forget()
            self.ledger._open()
        self.ledger._depth += 1

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> bool:
        if kind is not None and not issubclass(kind, Exception):
            return False  # a crash: nothing more happens in this process
        self.ledger._depth -= 1
        if self.ledger._depth == 0:
            self.ledger._forget()
            self.ledger._commit()
        return False


# A scratch ledger commits for real once every this many commits of its units and checkpoints (about
# a dozen requests): in between, each is a savepoint released (see ``Ledger.__init__``). The bound
# keeps the rollback journal, which holds in memory the old content of every page the open
# transaction has written, from growing with the run.
HELD_COMMITS = 256


class Ledger:
    """All durable facts of one concierge deployment."""

    def __init__(self, path: str = ":memory:", *, wal: bool = False, power_safe: bool = True,
                 scratch: bool = False):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self._held = 0  # commits held in a savepoint between two real ones (0: every one is real)
        self._since_real = 0  # commits since the last real one (a scratch ledger's)
        if scratch and path != ":memory:":
            # A scratch ledger (``scratch``): a file only so that memory stays flat, which this one
            # connection alone opens and which is thrown away with the run (the rollout
            # simulator's, without ``--ledger``). Nothing must survive its process, not even a
            # killed one: a crash the simulator plays out is ``abandon``, a ROLLBACK on this
            # connection, which the rollback journal in memory serves as a file's would. So no
            # journal file, no fsync (synchronous=OFF), and the file's lock taken once, not at
            # every transaction (locking_mode=EXCLUSIVE: no other connection may even read it).
            # And since nothing but this connection sees the file, a commit need not reach it: one
            # is a real COMMIT only every ``HELD_COMMITS`` (each writes its dirty pages to the
            # file), the others end a savepoint inside one long transaction (``_commit``). A unit of
            # work opens the savepoint (``_open``), a checkpoint releases it and opens the next, and
            # ``abandon`` rolls back to it: exactly what a ROLLBACK after the last commit leaves.
            self._held = HELD_COMMITS
            self.db.execute("PRAGMA journal_mode=MEMORY")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
        elif wal or path != ":memory:":
            # A ledger on disk is one that must survive its process. WAL: a commit is one append,
            # and a reader (an operator's sqlite3 shell) never blocks the one writer.
            # synchronous=FULL: each commit is fsync'd before it returns, and the concierge commits
            # just before each send, so what the world has seen is on disk even after a power cut.
            # NORMAL would survive a killed process but could lose the last commits to a power cut:
            # enough (``power_safe=False``) for a simulated world's ledger, whose "world" is gone
            # with the machine anyway, and a third of the CPU cheaper.
            # The busy timeout covers a reader holding a checkpoint briefly.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if power_safe else 'NORMAL'}")
            self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)
        self._depth = 0  # nesting of units of work (a handler may run inside another's)
        # Rows read in the open unit of work, as SQLite returned them: a handler reads its request
        # ~4 times between two writes, a batch its request's outreach and replies several times,
        # each time a SELECT. A table's cache is emptied by any write to that table on this
        # connection (the triggers), and every cache at the start and end of a unit (other
        # connections may write between units) and by ``abandon`` (the rollback). Callers get
        # their own copies: request rows hold the data's JSON text, decoded by each row that uses
        # it; outreach rows are new ``OutreachRow``s, replies new dicts. The ledger's own writes of
        # a request or outbound row put back the row they wrote, worked out in Python as SQLite
        # would read it back (``_as_stored``), never from a write's RETURNING clause: that left a
        # statement open when a crash came between execute and fetch (see docs/performance.md).
        self._rows: dict[str, tuple[Any, ...]] = {}  # request id -> ``_ROW``'s values
        self._outreach_rows: dict[str, list[sqlite3.Row]] = {}  # request id -> its rows, by id
        self._replies_rows: dict[str, list[sqlite3.Row]] = {}  # request id -> its replies, by seq
        # idem key -> the outbound row's values (``_OUTBOUND``). A send reads its row ~5 times in
        # one unit (the outbox, the tool's result, the world's behaviour) around the 2-3 writes the
        # ledger made itself: those writes put back what they wrote, as SQLite would read it.
        self._outbound_rows: dict[str, tuple[Any, ...]] = {}
        # What the vendor search reads of its candidates (opt-outs and busy times, outreach sent
        # in the last day and pending, by vendor), by the statement's arguments: a plan searches
        # once to see that anyone is left, then again for its first batch, in the same unit and
        # with no write to either table between (the two searches are two audited tool calls).
        self._vendor_facts: dict[tuple[Any, ...], dict[str, Any]] = {}
        caches = {"requests": (self._rows,), "outreach": (self._outreach_rows, self._vendor_facts),
                  "replies": (self._replies_rows,), "outbound": (self._outbound_rows,),
                  "vendor_status": (self._vendor_facts,)}
        for table in _CACHED_TABLES:
            self.db.create_function(f"ledger_{table}_written", 0, _emptying(caches[table]))
        # How many tool calls the ledger holds (part of the vendor search's key), or None: not
        # known. A COUNT(*) walks the whole table, which grows with the run (~16 rows a request):
        # quadratic over a long run. So the count is kept for as long as it is known to hold: any
        # row added or removed on this connection forgets it (the triggers), but the one
        # ``record_tool_call`` adds, which it counts itself once the insert is done; so do
        # ``abandon`` (the rollback) and a commit by another connection (``PRAGMA data_version``
        # changes then; it is read instead of counting).
        self._tool_calls: tuple[int, int] | None = None  # (count, data_version it was read at)
        self.db.create_function("ledger_tool_calls_counted", 0, self._forget_tool_call_count)
        self.db.executescript(_WRITTEN)

    def _forget_tool_call_count(self) -> None:
        self._tool_calls = None

    def _forget(self) -> None:
        self._rows.clear()
        self._outreach_rows.clear()
        self._replies_rows.clear()
        self._outbound_rows.clear()
        self._vendor_facts.clear()

    def close(self) -> None:
        if self._held and self._depth:  # a unit a crash left open: gone, as a ROLLBACK at closing
            self.abandon()
        self._settle()
        self.db.close()

    # --- units of work ------------------------------------------------------------------------
    def unit_of_work(self) -> _UnitOfWork:
        """One handler's writes as one transaction: all of them, or after a crash none since the
        last checkpoint. Nested units join the outer one. An ``Exception`` (a bug) still commits
        what was done, as before; a crash (``BaseException``) leaves the transaction open: the
        process is dead, and whoever restarts it calls ``abandon``."""
        return _UnitOfWork(self)

    def checkpoint(self) -> None:
        """Commit what is done before a side effect the world will see (a send, a call): a crash
        after it must not undo the record of it."""
        if self._depth and self.db.in_transaction:
            self._commit()
            self._open()

    def abandon(self) -> None:
        """The process died: the database rolls its open transaction back (a scratch ledger's
        to the savepoint of its last commit: what a ROLLBACK would leave)."""
        depth, self._depth = self._depth, 0
        self._forget()
        self._tool_calls = None
        if not self.db.in_transaction:
            return
        if not self._held:
            self.db.execute("ROLLBACK")
        elif depth:  # back to the last commit, held or real (outside a unit all is committed)
            self.db.execute("ROLLBACK TO held")
            self.db.execute("RELEASE held")

    def _open(self) -> None:
        """A unit of work starts, or goes on after a checkpoint."""
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
        if self._held:  # what ``abandon`` goes back to: the state of the last commit
            self.db.execute("SAVEPOINT held")

    def _commit(self) -> None:
        """A unit of work's writes so far are committed (its end, or a checkpoint in it)."""
        if not self.db.in_transaction:  # none open (a script's COMMIT ended it early)
            return
        if self._held:
            self._since_real += 1
            if self._since_real < self._held:
                self.db.execute("RELEASE held")
                return
            self._since_real = 0
        self.db.execute("COMMIT")

    def _settle(self) -> None:
        """A scratch ledger's held commits made real, between units of work: before closing, or
        anything that runs its own transaction (``refill``)."""
        if self._held and not self._depth and self.db.in_transaction:
            self._since_real = 0
            self.db.execute("COMMIT")

    def _insert_unique(self, sql: str, params: Iterable[Any]) -> bool:
        try:
            self.db.execute(sql, tuple(params))
        except sqlite3.IntegrityError:
            return False
        return True

    # --- inbound ------------------------------------------------------------------------------
    def record_inbound(self, wamid: str, from_phone: str, party: str, kind: str, at: float) -> bool:
        """True when this wamid is new; False for a redelivery (nothing else must happen then)."""
        return self._insert_unique(
            "INSERT INTO inbound (wamid, from_phone, party, kind, received_at) VALUES (?,?,?,?,?)",
            (wamid, from_phone, party, kind, at),
        )

    def link_inbound(self, wamid: str, request_id: str) -> None:
        self.db.execute("UPDATE inbound SET request_id=? WHERE wamid=?", (request_id, wamid))

    def inbound_count(self, wamid: str | None = None) -> int:
        if wamid is None:
            return self.db.execute("SELECT COUNT(*) FROM inbound").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM inbound WHERE wamid=?", (wamid,)).fetchone()[0]

    def inbound_for_request(self, request_id: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM inbound WHERE request_id=?", (request_id,)
        ).fetchone()[0]

    # --- requests -----------------------------------------------------------------------------
    def create_request(self, client_phone: str, state: str, at: float, data: dict[str, Any]) -> str:
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM requests").fetchone()[0]
        request_id = f"req-{seq:05d}"
        written = _dumps(data)
        self.db.execute(
            "INSERT INTO requests (id, seq, client_phone, state, created_at, updated_at, data)"
            " VALUES (?,?,?,?,?,?,?)",
            (request_id, seq, client_phone, state, at, at, written),
        )
        self._keep_request((None,) * 6, {"id": request_id, "client_phone": client_phone, "state": state,
                                         "created_at": at, "updated_at": at, "data": written})
        self.db.execute(
            "INSERT INTO state_changes (request_id, source, dest, at, reason) VALUES (?,?,?,?,?)",
            (request_id, None, state, at, "opened"),
        )
        return request_id

    def _keep_request(self, row: tuple[Any, ...], changes: dict[str, Any]) -> None:
        """The request row the ledger has just written (``row``, ``_ROW``'s values, with ``changes``),
        kept as SQLite reads it back: the write's trigger emptied the cache, and the handler reads
        the row again."""
        if self._depth:  # the cache lives only as long as a unit of work
            written = _as_written(row, changes, _ROW_SLOTS)
            if written is not None:
                self._rows[written[0]] = written

    def _request(self, row: sqlite3.Row | None) -> RequestRow | None:
        if row is None:
            return None
        return RequestRow._read(
            (row["id"], row["client_phone"], row["state"], row["created_at"], row["updated_at"], row["data"])
        )

    def get_request(self, request_id: str) -> RequestRow | None:
        entry = self._rows.get(request_id)
        if entry is None:
            row = self.db.execute(_GET_ROW, (request_id,)).fetchone()
            if row is None:
                return None
            entry = tuple(row)
            if self._depth:  # the cache lives only as long as a unit of work
                self._rows[request_id] = entry
        return RequestRow._read(entry)

    def latest_request(self, client_phone: str) -> RequestRow | None:
        row = self.db.execute(_LATEST_ROW, (client_phone,)).fetchone()
        if row is None:
            return None
        entry = tuple(row)
        if self._depth:
            self._rows[entry[0]] = entry
        return RequestRow._read(entry)

    def requests(self) -> list[RequestRow]:
        rows = self.db.execute("SELECT * FROM requests ORDER BY seq").fetchall()
        return [r for r in (self._request(row) for row in rows) if r is not None]

    def requests_not_in(self, states: Iterable[str]) -> list[RequestRow]:
        """Requests in any state but these (e.g. the open ones), oldest first."""
        marks = list(states)
        rows = self.db.execute(
            f"SELECT * FROM requests WHERE state NOT IN ({','.join('?' * len(marks))}) ORDER BY seq", marks
        ).fetchall() if marks else self.db.execute("SELECT * FROM requests ORDER BY seq").fetchall()
        return [r for r in (self._request(row) for row in rows) if r is not None]

    def save_request_data(self, request_id: str, data: dict[str, Any], at: float) -> None:
        before = self._rows.get(request_id)
        written = _dumps(data)
        self.db.execute("UPDATE requests SET data=?, updated_at=? WHERE id=?", (written, at, request_id))
        if before is not None:  # the row was there (cached): the update found it
            self._keep_request(before, {"updated_at": at, "data": written})

    def set_state(self, request_id: str, source: str, dest: str, at: float, reason: str) -> None:
        before = self._rows.get(request_id)
        self.db.execute(
            "UPDATE requests SET state=?, updated_at=? WHERE id=?", (dest, at, request_id)
        )
        if before is not None:
            self._keep_request(before, {"state": dest, "updated_at": at})
        self.db.execute(
            "INSERT INTO state_changes (request_id, source, dest, at, reason) VALUES (?,?,?,?,?)",
            (request_id, source, dest, at, reason),
        )

    def state_changes(self, request_id: str | None = None) -> list[dict[str, Any]]:
        if request_id is None:
            rows = self.db.execute("SELECT * FROM state_changes ORDER BY seq").fetchall()
        else:
            rows = self.db.execute(
                "SELECT * FROM state_changes WHERE request_id=? ORDER BY seq", (request_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    # --- transcript ---------------------------------------------------------------------------
    def add_transcript(
        self, request_id: str | None, direction: str, party: str, phone: str, text: str,
        at: float, *, vendor_id: str | None = None, wamid: str | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO transcript (request_id, direction, party, phone, vendor_id, text, at, wamid)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (request_id, direction, party, phone, vendor_id, text, at, wamid),
        )

    def transcript(self, request_id: str | None = None, limit: int | None = None) -> list[dict]:
        sql = "SELECT * FROM transcript"
        params: tuple[Any, ...] = ()
        if request_id is not None:
            sql += " WHERE request_id=?"
            params = (request_id,)
        if limit is not None and limit > 0:  # the last rows: read from the end, not the whole conversation
            sql = f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq"
            return [dict(r) for r in self.db.execute(sql, (*params, limit)).fetchall()]
        sql += " ORDER BY seq"
        rows = [dict(r) for r in self.db.execute(sql, params).fetchall()]
        return rows[-limit:] if limit else rows

    def last_heard_from_client(self, request_id: str) -> float | None:
        """When the request's client last wrote (its latest inbound transcript line), if ever."""
        return self.db.execute(
            "SELECT MAX(at) FROM transcript WHERE request_id=? AND direction='in' AND party='client'",
            (request_id,),
        ).fetchone()[0]

    # --- outreach -----------------------------------------------------------------------------
    def insert_outreach(
        self, request_id: str, vendor_id: str, idem_key: str, batch: int, at: float
    ) -> bool:
        """Insert first, send only if the insert won: False means this vendor was already asked."""
        return self._insert_unique(
            "INSERT INTO outreach (request_id, vendor_id, idem_key, batch, status, queued_at)"
            " VALUES (?,?,?,?,'queued',?)",
            (request_id, vendor_id, idem_key, batch, at),
        )

    def _outreach(self, rows: list[sqlite3.Row]) -> list[OutreachRow]:
        return [
            OutreachRow(
                r["id"], r["request_id"], r["vendor_id"], r["idem_key"], r["batch"], r["status"],
                r["queued_at"], r["sent_at"], r["replied_at"], r["wamid"],
            )
            for r in rows
        ]

    def outreach(self, request_id: str | None = None, vendor_id: str | None = None) -> list[OutreachRow]:
        if request_id is not None and vendor_id is None:  # a request's outreach: cached in a unit
            rows = self._outreach_rows.get(request_id)
            if rows is None:
                rows = self.db.execute("SELECT * FROM outreach WHERE request_id=? ORDER BY id",
                                       (request_id,)).fetchall()
                if self._depth:
                    self._outreach_rows[request_id] = rows
            return self._outreach(rows)
        where, params = _where(request_id=request_id, vendor_id=vendor_id)
        rows = self.db.execute(f"SELECT * FROM outreach{where} ORDER BY id", params).fetchall()
        return self._outreach(rows)

    def outreach_answered_by(self, vendor_id: str, context_wamid: str | None) -> OutreachRow | None:
        """The outreach a vendor's message answers: the first (by id) whose wamid it quotes, else
        the one sent, replied or excluded with the latest ``sent_at`` (then the highest id)."""
        if context_wamid:
            rows = self.db.execute(
                "SELECT * FROM outreach WHERE vendor_id=? AND wamid=? ORDER BY id LIMIT 1",
                (vendor_id, context_wamid),
            ).fetchall()
            if rows:
                return self._outreach(rows)[0]
        rows = self.db.execute(
            "SELECT * FROM outreach WHERE vendor_id=? AND status IN ('sent','replied','excluded')"
            " AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1",
            (vendor_id,),
        ).fetchall()
        return self._outreach(rows)[0] if rows else None

    def set_outreach_status(
        self, request_id: str, vendor_id: str, status: str, at: float, *, wamid: str | None = None
    ) -> None:
        column = {"sent": "sent_at", "replied": "replied_at"}.get(status)
        if column:
            self.db.execute(
                f"UPDATE outreach SET status=?, {column}=?, wamid=COALESCE(?, wamid)"
                " WHERE request_id=? AND vendor_id=?",
                (status, at, wamid, request_id, vendor_id),
            )
        else:
            self.db.execute(
                "UPDATE outreach SET status=? WHERE request_id=? AND vendor_id=?",
                (status, request_id, vendor_id),
            )

    def exclude_pending_outreach(self, request_id: str | None = None, vendor_id: str | None = None) -> int:
        where, params = _where("status IN ('queued','sent')", request_id=request_id, vendor_id=vendor_id)
        cur = self.db.execute("UPDATE outreach SET status='excluded'" + where, params)
        return cur.rowcount

    def outreach_pending(self, vendor_id: str) -> int:
        """Outreach to this vendor queued but not yet sent (a send being retried), any request."""
        return self.db.execute(
            "SELECT COUNT(*) FROM outreach WHERE vendor_id=? AND status='queued' AND sent_at IS NULL",
            (vendor_id,),
        ).fetchone()[0]

    def outreach_pending_by_vendor(self, vendor_ids: list[str]) -> dict[str, int]:
        """``outreach_pending`` for several vendors in one query (vendors with none are left out)."""
        return self._by_vendor(
            "SELECT vendor_id, COUNT(*) FROM outreach WHERE vendor_id IN ({marks})"
            " AND status='queued' AND sent_at IS NULL GROUP BY vendor_id", vendor_ids)

    def _by_vendor(self, sql: str, vendor_ids: list[str], *after: Any) -> dict[str, Any]:
        """vendor id -> the rest of its row of ``sql`` (its one value, if one) over these vendors
        (``{marks}``: their placeholders; ``after``: the parameters that follow them), kept for
        the unit of work by its arguments (``_vendor_facts``)."""
        if not vendor_ids:
            return {}
        key = (sql, *after, *vendor_ids)
        found = self._vendor_facts.get(key)
        if found is None:
            marks, params = _in_list(vendor_ids)
            rows = self.db.execute(sql.format(marks=marks), (*params, *after)).fetchall()
            found = {r[0]: r[1] if len(r) == 2 else tuple(r[1:]) for r in rows}
            if self._depth:  # the cache lives only as long as a unit of work
                self._vendor_facts[key] = found
        return dict(found)

    def outreach_sent_since_by_vendor(self, vendor_ids: list[str], since: float) -> dict[str, tuple[int, float]]:
        """For several vendors in one query: how many outreach messages went out at or after
        ``since`` and when the latest did, i.e. ``len()`` and ``[-1]`` of ``outreach_sent_since``
        (vendors with none are left out)."""
        return self._by_vendor(
            "SELECT vendor_id, COUNT(*), MAX(sent_at) FROM outreach WHERE vendor_id IN ({marks})"
            " AND sent_at IS NOT NULL AND sent_at>=? GROUP BY vendor_id", vendor_ids, since)

    def outreach_sent_since(self, vendor_id: str, since: float) -> list[float]:
        rows = self.db.execute(
            "SELECT sent_at FROM outreach WHERE vendor_id=? AND sent_at IS NOT NULL AND sent_at>=?"
            " ORDER BY sent_at",
            (vendor_id, since),
        ).fetchall()
        return [r[0] for r in rows]

    # --- replies ------------------------------------------------------------------------------
    def record_reply(
        self, request_id: str | None, vendor_id: str, wamid: str, text: str, parsed: dict, at: float
    ) -> bool:
        return self._insert_unique(
            "INSERT INTO replies (request_id, vendor_id, wamid, text, parsed, at) VALUES (?,?,?,?,?,?)",
            (request_id, vendor_id, wamid, text, _dumps(parsed), at),
        )

    def replies(self, request_id: str) -> list[dict[str, Any]]:
        rows = self._replies_rows.get(request_id)
        if rows is None:
            rows = self.db.execute(
                "SELECT * FROM replies WHERE request_id=? ORDER BY seq", (request_id,)
            ).fetchall()
            if self._depth:
                self._replies_rows[request_id] = rows
        out = []
        for r in rows:
            d = dict(r)
            d["parsed"] = read_json(d["parsed"])
            out.append(d)
        return out

    # --- outbound -----------------------------------------------------------------------------
    def insert_outbound(
        self, idem_key: str, request_id: str | None, to_phone: str, party: str, purpose: str,
        text: str, at: float, buttons: list[tuple[str, str]] | None = None,
    ) -> bool:
        written = _dumps([list(b) for b in buttons]) if buttons else None
        if not self._insert_unique(
            "INSERT INTO outbound (idem_key, request_id, to_phone, party, purpose, text, status,"
            " created_at, buttons) VALUES (?,?,?,?,?,?,'pending',?,?)",
            (idem_key, request_id, to_phone, party, purpose, text, at, written),
        ):
            return False
        self._keep_outbound(_OUTBOUND_DEFAULTS, {
            "idem_key": idem_key, "request_id": request_id, "to_phone": to_phone, "party": party,
            "purpose": purpose, "text": text, "created_at": at, "buttons": written})
        return True

    def _keep_outbound(self, row: tuple[Any, ...], changes: dict[str, Any]) -> None:
        """The outbound row the ledger has just written (``row`` with ``changes``), kept as SQLite
        reads it back (the write's trigger emptied the cache); else read back when next asked."""
        if self._depth:  # the cache lives only as long as a unit of work
            written = _as_written(row, changes, _OUTBOUND_SLOTS)
            if written is not None:
                self._outbound_rows[written[0]] = written

    def get_outbound(self, idem_key: str) -> dict[str, Any] | None:
        entry = self._outbound_rows.get(idem_key)
        if entry is None:
            row = self.db.execute("SELECT * FROM outbound WHERE idem_key=?", (idem_key,)).fetchone()
            if row is None:
                return None
            entry = tuple(row)
            if self._depth:
                self._outbound_rows[idem_key] = entry
        return dict(zip(_OUTBOUND_COLUMNS, entry, strict=True))

    def update_outbound(self, idem_key: str, **fields: Any) -> None:
        before = self._outbound_rows.get(idem_key)
        cols = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE outbound SET {cols} WHERE idem_key=?", (*fields.values(), idem_key))
        if before is not None:  # the row was there (cached): the update found it
            self._keep_outbound(before, fields)

    def client_text_since(self, request_id: str, text: str, since: float) -> bool:
        """Whether this exact text went (or is going) to the request's client after ``since``."""
        return self.db.execute(
            "SELECT 1 FROM outbound WHERE request_id=? AND party='client' AND text=? AND created_at>?"
            " AND status IN ('pending','sent') LIMIT 1", (request_id, text, since),
        ).fetchone() is not None

    def outbound(self, party: str | None = None, to_phone: str | None = None) -> list[dict[str, Any]]:
        where, params = _where(party=party, to_phone=to_phone)
        return [
            dict(r)
            for r in self.db.execute(
                f"SELECT * FROM outbound{where} ORDER BY created_at, rowid", params
            ).fetchall()
        ]

    def pending_outbound(self) -> list[dict[str, Any]]:
        """Sends a crash may have interrupted: recorded, neither sent nor failed for good."""
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM outbound WHERE status='pending' ORDER BY created_at, rowid").fetchall()]

    def latest_client_question(self, request_id: str) -> str | None:
        """The purpose of the latest question-like message to the request's client, if any."""
        row = self.db.execute(
            "SELECT purpose FROM outbound WHERE request_id=? AND party='client'"
            " AND purpose IN ('question','widen_search','consent_prompt') ORDER BY created_at DESC, rowid DESC"
            " LIMIT 1",
            (request_id,),
        ).fetchone()
        return row[0] if row else None

    # --- rate limits --------------------------------------------------------------------------
    def client_inbound_since(self, phone: str, since: float) -> int:
        """Recorded client messages from this phone after ``since`` (redeliveries are never recorded twice)."""
        return self.db.execute(
            "SELECT COUNT(*) FROM inbound WHERE from_phone=? AND party='client' AND received_at>?",
            (phone, since),
        ).fetchone()[0]

    def last_rate_limited(self, client_key: str) -> float | None:
        """When this client (by its key) was last rate-limited, from the audit trail."""
        # The pattern is built in SQL: SQLite compiles a statement whose LIKE pattern is bound
        # directly anew for each new pattern (it may choose an index by its prefix).
        return self.db.execute(
            "SELECT MAX(at) FROM audit WHERE event='client.rate_limited' AND data LIKE '%' || ? || '%'",
            (f'"client_key":"{client_key}"',),
        ).fetchone()[0]

    # --- consent and calls --------------------------------------------------------------------
    def consent_row(self, request_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM consents WHERE request_id=?", (request_id,)).fetchone()
        return dict(row) if row else None

    def ask_consent(self, request_id: str, scope: str, at: float) -> None:
        """Consent is (again) requested for ``scope``: any earlier grant is gone."""
        self.db.execute(
            "INSERT INTO consents (request_id, status, scope, requested_at) VALUES (?,?,?,?)"
            " ON CONFLICT(request_id) DO UPDATE SET status='requested', scope=excluded.scope,"
            " requested_at=excluded.requested_at, granted_at=NULL, expires_at=NULL",
            (request_id, "requested", scope, at),
        )

    def grant_consent(self, request_id: str, at: float, expires_at: float) -> None:
        self.db.execute("UPDATE consents SET status='granted', granted_at=?, expires_at=? WHERE request_id=?",
                        (at, expires_at, request_id))

    def set_consent_status(self, request_id: str, status: str) -> None:
        """``denied`` or ``expired``."""
        self.db.execute("UPDATE consents SET status=? WHERE request_id=?", (status, request_id))

    def insert_call(self, call_id: str, request_id: str, target: str, to_phone: str, at: float) -> None:
        self.db.execute(
            "INSERT INTO calls (id, request_id, target, to_phone, status, started_at, consent_ok, updated_at)"
            " VALUES (?,?,?,?,?,?,1,?)",
            (call_id, request_id, target, to_phone, "starting", at, at),
        )

    def call(self, call_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM calls WHERE id=?", (call_id,)).fetchone()
        return dict(row) if row else None

    def calls_count(self, request_id: str | None = None) -> int:
        where, params = _where(request_id=request_id)
        return self.db.execute(f"SELECT COUNT(*) FROM calls{where}", params).fetchone()[0]

    def last_call_started(self, request_id: str) -> float | None:
        return self.db.execute("SELECT MAX(started_at) FROM calls WHERE request_id=?", (request_id,)).fetchone()[0]

    def set_call_status(self, call_id: str, status: str, at: float) -> None:
        self.db.execute("UPDATE calls SET status=?, updated_at=? WHERE id=?", (status, at, call_id))

    # --- timers -------------------------------------------------------------------------------
    def arm_timer(self, name: str, request_id: str | None, due: float, payload: dict[str, Any]) -> int:
        cur = self.db.execute("INSERT INTO timers (name, request_id, due, payload) VALUES (?,?,?,?)",
                              (name, request_id, due, _dumps(payload)))
        return int(cur.lastrowid)

    def fire_timer(self, seq: int) -> bool:
        """Take an armed timer off the ledger; False when it already fired (a second copy must not run)."""
        return self.db.execute("DELETE FROM timers WHERE seq=?", (seq,)).rowcount == 1

    def armed_timers(self) -> list[tuple[int, str, str | None, float, dict[str, Any]]]:
        rows = self.db.execute("SELECT * FROM timers ORDER BY due, seq").fetchall()
        return [(r["seq"], r["name"], r["request_id"], r["due"], read_json(r["payload"])) for r in rows]

    # --- audit --------------------------------------------------------------------------------
    def audit(self, event: str, at: float, request_id: str | None = None, **data: Any) -> None:
        self.db.execute(
            "INSERT INTO audit (at, event, request_id, data) VALUES (?,?,?,?)",
            (at, event, request_id, _dumps(data)),
        )

    def audit_events(self, event: str | None = None, request_id: str | None = None) -> list[dict]:
        where, params = _where(event=event, request_id=request_id)
        rows = self.db.execute(f"SELECT * FROM audit{where} ORDER BY seq", params).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["data"] = read_json(d["data"])
            out.append(d)
        return out

    # --- vendors ------------------------------------------------------------------------------
    def vendor_status(self, vendor_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM vendor_status WHERE vendor_id=?", (vendor_id,)).fetchone()
        return dict(row) if row else {"vendor_id": vendor_id, "opted_out": 0, "busy_until": None}

    def vendor_statuses(self, vendor_ids: list[str]) -> dict[str, tuple[int, float | None]]:
        """``(opted_out, busy_until)`` of several vendors in one query (vendors without a row are
        left out: ``vendor_status`` reads them as ``(0, None)``)."""
        return self._by_vendor(
            "SELECT vendor_id, opted_out, busy_until FROM vendor_status WHERE vendor_id IN ({marks})", vendor_ids)

    def opt_out_vendor(self, vendor_id: str, at: float) -> bool:
        """True the first time (one confirmation); False when already opted out."""
        current = self.vendor_status(vendor_id)
        if current["opted_out"]:
            return False
        self.db.execute(
            "INSERT INTO vendor_status (vendor_id, opted_out, opted_out_at) VALUES (?,1,?)"
            " ON CONFLICT(vendor_id) DO UPDATE SET opted_out=1, opted_out_at=excluded.opted_out_at",
            (vendor_id, at),
        )
        return True

    def set_vendor_busy(self, vendor_id: str, until: float) -> None:
        self.db.execute(
            "INSERT INTO vendor_status (vendor_id, busy_until) VALUES (?,?)"
            " ON CONFLICT(vendor_id) DO UPDATE SET busy_until=excluded.busy_until",
            (vendor_id, until),
        )

    def opted_out_vendors(self) -> list[str]:
        rows = self.db.execute(
            "SELECT vendor_id FROM vendor_status WHERE opted_out=1 ORDER BY opted_out_at, vendor_id"
        ).fetchall()
        return [r[0] for r in rows]

    # --- tool idempotency ---------------------------------------------------------------------
    def tool_result(self, idem_key: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT result FROM tool_calls WHERE idem_key=?", (idem_key,)).fetchone()
        return read_json(row[0]) if row else None

    def record_tool_call(
        self, idem_key: str, tool: str, request_id: str | None, actor: str, args: dict,
        result: dict, at: float,
    ) -> None:
        known = self._tool_calls
        added = self.db.execute(
            "INSERT OR IGNORE INTO tool_calls (idem_key, tool, request_id, actor, args, result, at)"
            " VALUES (?,?,?,?,?,?,?)",
            (idem_key, tool, request_id, actor, _dumps(args), _dumps(result), at),
        ).rowcount
        if known is not None and added == 1:  # the trigger forgot the count: this is the row it missed
            self._tool_calls = (known[0] + 1, known[1])

    def tool_call_count(self) -> int:
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if self._tool_calls is None or self._tool_calls[1] != version:
            self._tool_calls = (self.db.execute("SELECT COUNT(*) FROM tool_calls").fetchone()[0], version)
        return self._tool_calls[0]

    def tool_calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        if tool:
            rows = self.db.execute("SELECT * FROM tool_calls WHERE tool=? ORDER BY rowid", (tool,))
        else:
            rows = self.db.execute("SELECT * FROM tool_calls ORDER BY rowid")
        return [dict(r) for r in rows.fetchall()]

    # --- shortlist ----------------------------------------------------------------------------
    def persist_shortlist(self, request_id: str, items: list[dict], at: float) -> bool:
        return self._insert_unique(
            "INSERT INTO shortlists (request_id, items, created_at) VALUES (?,?,?)",
            (request_id, _dumps(items), at),
        )

    def shortlist(self, request_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM shortlists WHERE request_id=?", (request_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["items"] = read_json(d["items"])
        return d

    def mark_shortlist_delivered(self, request_id: str, at: float) -> None:
        self.db.execute(
            "UPDATE shortlists SET delivered_at=? WHERE request_id=? AND delivered_at IS NULL",
            (at, request_id),
        )

    # --- ocr ----------------------------------------------------------------------------------
    def create_ocr_job(self, job_id: str, request_id: str, at: float) -> bool:
        return self._insert_unique(
            "INSERT INTO ocr_jobs (id, request_id, status, created_at) VALUES (?,?,'pending',?)",
            (job_id, request_id, at),
        )

    def finish_ocr_job(
        self, job_id: str, status: str, at: float, *, type_: str | None = None,
        result: dict | None = None, full_text: str | None = None,
    ) -> None:
        self.db.execute(
            "UPDATE ocr_jobs SET status=?, type=?, result=?, full_text=?, finished_at=? WHERE id=?",
            (status, type_, _dumps(result) if result is not None else None, full_text, at, job_id),
        )

    def ocr_jobs(self, request_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM ocr_jobs WHERE request_id=? ORDER BY created_at, id", (request_id,)
        ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["result"] = read_json(d["result"]) if d["result"] else None
            out.append(d)
        return out

    # --- reads and seams for the simulated world's judges (invariants, checks, sweeps) ----------
    # The harness judges a run by the ledger's rows and the fakes' records, never by the concierge's
    # opinion; these are its only ways in, so that no module outside this one runs SQL here.
    def calls(self, request_id: str | None = None, started_after: float | None = None) -> list[dict[str, Any]]:
        """Call rows in the order they were recorded."""
        where, params = _where(request_id=request_id)
        if started_after is not None:
            where, params = f"{where} AND started_at>?" if where else " WHERE started_at>?", [*params, started_after]
        return [dict(r) for r in self.db.execute(f"SELECT * FROM calls{where} ORDER BY rowid", params)]

    def opted_out_at(self) -> dict[str, float]:
        """Each opted-out vendor and when it opted out."""
        return {r["vendor_id"]: r["opted_out_at"]
                for r in self.db.execute("SELECT * FROM vendor_status WHERE opted_out=1 ORDER BY rowid")}

    def ocr_job_requests(self) -> list[str]:
        """The request of each OCR job, one entry per job."""
        return [r[0] for r in self.db.execute("SELECT request_id FROM ocr_jobs ORDER BY rowid")]

    def inbound(self, party: str | None = None) -> list[dict[str, Any]]:
        """Inbound rows in the order they were recorded."""
        where, params = _where(party=party)
        return [dict(r) for r in self.db.execute(f"SELECT * FROM inbound{where} ORDER BY rowid", params)]

    def count_rows(self, table: str, **equals: Any) -> int:
        """Rows of ``table`` whose columns equal the values given (None matches NULL): a scenario's
        ``db_rows:`` check, whose table and columns the caller has checked against ``SCHEMA``."""
        where = " WHERE " + " AND ".join(f"{column} IS ?" for column in equals) if equals else ""
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}{where}", tuple(equals.values())).fetchone()[0])

    def journal_connection(self) -> sqlite3.Connection:
        """The connection a simulated service keeps its own journal on (the scripted brain's script
        taken), so that its writes commit and roll back with the concierge's units of work: a
        crash forgets what the dead process took, as it forgets the process's own writes."""
        return self.db

    @contextmanager
    def statements_through(self, wrap: Callable[[sqlite3.Connection], Any]) -> Iterator[None]:
        """Fault injection's seam (the crash sweep's ``at="writes"``): inside the block every
        statement of the ledger goes through ``wrap(connection)``, which may kill the process
        before or after a write; the ledger's own connection is back when the block ends."""
        connection = self.db
        self.db = wrap(connection)
        try:
            yield
        finally:
            self.db = connection

    def refill(self, tables: dict[str, list[dict[str, Any]]], only_these: bool = False) -> None:
        """Every row replaced by ``tables`` (table -> rows as column -> value, another ledger's
        dump), in one transaction: a black-box run's copy of the target's ledger, which the very
        checks and invariants of an in-process run then read. Tables this schema lacks are skipped.
        ``only_these``: only the tables given are emptied and refilled (the target said which
        changed), the others kept as they are."""
        known = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        self._settle()
        self.db.execute("BEGIN")
        try:
            if only_these:
                for name in set(tables) & set(known):
                    self.db.execute(f'DELETE FROM "{name}"')
                    if "sqlite_sequence" in known:  # as a fresh copy's: it follows the rows inserted
                        self.db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
            else:
                for name in known:  # sqlite_sequence too: as a fresh copy's, it follows the rows inserted
                    self.db.execute(f'DELETE FROM "{name}"')
            for name, rows in tables.items():
                if name not in known or not rows:
                    continue
                columns = list(rows[0])
                sql = f'INSERT OR REPLACE INTO "{name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
                self.db.executemany(sql, [tuple(row.get(c) for c in columns) for row in rows])
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- whole-ledger reads for the rollout simulator (its collector, samples and liveness check) ---
    # Cursors, not lists: a shard's ledger holds tens of thousands of requests. The rows are
    # sqlite3.Row (read by column name) in the order each docstring gives.
    def handlers_at_open(self) -> dict[str, str]:
        """request id -> who handled it ("ai" or "coded"), as audited when it opened."""
        return {r["request_id"]: read_json(r["data"])["handled_by"] for r in self.db.execute(
            "SELECT request_id, data FROM audit WHERE event='request.opened' ORDER BY seq")}

    def every_state_change(self) -> Iterable[sqlite3.Row]:
        """(request_id, dest, reason) of every move, in order."""
        return self.db.execute("SELECT request_id, dest, reason FROM state_changes ORDER BY seq")

    def delivered_shortlists(self) -> Iterable[sqlite3.Row]:
        """(request_id, items, delivered_at) of every shortlist the client got."""
        return self.db.execute(
            "SELECT request_id, items, delivered_at FROM shortlists WHERE delivered_at IS NOT NULL")

    def every_request(self) -> Iterable[sqlite3.Row]:
        """(id, client_phone, state, created_at, data) of every request, oldest first."""
        return self.db.execute("SELECT id, client_phone, state, created_at, data FROM requests ORDER BY seq")

    def replied_pairs(self) -> set[tuple[str, str]]:
        """(request_id, vendor_id) of every vendor that answered a request."""
        return {(r["request_id"], r["vendor_id"]) for r in self.db.execute(
            "SELECT DISTINCT request_id, vendor_id FROM replies WHERE request_id IS NOT NULL")}

    def every_outreach(self) -> Iterable[sqlite3.Row]:
        """(request_id, vendor_id, sent_at) of every outreach row."""
        return self.db.execute("SELECT request_id, vendor_id, sent_at FROM outreach")

    def audit_counts(self, events: Iterable[str]) -> Iterable[sqlite3.Row]:
        """(request_id, event, n): how often each of ``events`` was audited per request."""
        marks, params = _in_list(list(events))
        return self.db.execute(f"SELECT request_id, event, COUNT(*) AS n FROM audit WHERE event IN ({marks})"
                               " GROUP BY request_id, event ORDER BY request_id, event", params)

    def audit_count(self, event: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM audit WHERE event=?", (event,)).fetchone()[0]

    def every_ocr_job(self) -> Iterable[sqlite3.Row]:
        """(request_id, status, result) of every OCR job, in the order they were made."""
        return self.db.execute("SELECT request_id, status, result FROM ocr_jobs ORDER BY id")

    def sent_outbound(self) -> Iterable[sqlite3.Row]:
        """(request_id, party, text) of every message Meta accepted."""
        return self.db.execute("SELECT request_id, party, text FROM outbound WHERE status='sent'")

    def every_call(self) -> Iterable[sqlite3.Row]:
        """(request_id, status) of every call placed, in order."""
        return self.db.execute("SELECT request_id, status FROM calls ORDER BY id")

    def opted_out_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM vendor_status WHERE opted_out=1").fetchone()[0]

    def button_titles(self, request_id: str) -> dict[str, list[str]]:
        """wamid -> button titles of the interactive messages sent for a request."""
        return {r["wamid"]: [title for _id, title in read_json(r["buttons"])] for r in self.db.execute(
            "SELECT wamid, buttons FROM outbound WHERE request_id=? AND buttons IS NOT NULL AND wamid IS NOT NULL",
            (request_id,))}

    def slowest_shortlists(self, limit: int) -> list[sqlite3.Row]:
        """(request_id, tts) of the ``limit`` slowest delivered shortlists, slowest first."""
        return self.db.execute(
            "SELECT s.request_id, s.delivered_at - r.created_at AS tts FROM shortlists s JOIN requests r"
            " ON r.id = s.request_id WHERE s.delivered_at IS NOT NULL ORDER BY tts DESC, r.seq LIMIT ?",
            (limit,)).fetchall()

    def asked_never_shortlisted(self, limit: int) -> list[sqlite3.Row]:
        """(id, seq) of the first requests whose vendors were asked but whose client never got a
        shortlist (and did not cancel)."""
        return self.db.execute(
            "SELECT r.id, r.seq FROM requests r WHERE r.id NOT IN (SELECT request_id FROM shortlists WHERE"
            " delivered_at IS NOT NULL) AND r.id IN (SELECT request_id FROM state_changes WHERE"
            " dest=?) AND r.id NOT IN (SELECT request_id FROM state_changes WHERE"
            " reason='client_cancelled') ORDER BY r.seq LIMIT ?", (RequestState.VENDOR_OUTREACH.value, limit)).fetchall()

    def first_errors(self, limit: int) -> list[sqlite3.Row]:
        """(id, seq, data) of the first requests that ended in error."""
        return self.db.execute("SELECT id, seq, data FROM requests WHERE state=? ORDER BY seq LIMIT ?",
                               (RequestState.ERROR.value, limit)).fetchall()

    def injection_flagged_requests(self) -> set[str]:
        return {r["request_id"] for r in self.db.execute(
            "SELECT DISTINCT request_id FROM audit WHERE event='injection.flagged' AND request_id IS NOT NULL")}

    def request_open_times(self) -> Iterable[sqlite3.Row]:
        return self.db.execute("SELECT created_at FROM requests")

    def shortlist_delivery_times(self) -> Iterable[sqlite3.Row]:
        """(delivered_at, tts) of every delivered shortlist."""
        return self.db.execute("SELECT s.delivered_at, s.delivered_at - r.created_at AS tts FROM shortlists s"
                               " JOIN requests r ON r.id = s.request_id WHERE s.delivered_at IS NOT NULL")

    def error_times(self) -> Iterable[sqlite3.Row]:
        """(at) of every move into error."""
        return self.db.execute("SELECT at FROM state_changes WHERE dest=?", (RequestState.ERROR.value,))

    def first_ai_shortlists(self, count: int) -> list[sqlite3.Row]:
        """(request_id, items, delivered_at) of the first ``count`` shortlists the AI path delivered."""
        return self.db.execute(
            "SELECT s.request_id, s.items, s.delivered_at FROM shortlists s JOIN requests r ON r.id = s.request_id"
            " WHERE s.delivered_at IS NOT NULL AND json_extract(r.data, '$.handled_by') = 'ai'"
            " ORDER BY s.delivered_at, r.seq LIMIT ?", (count,)).fetchall()

    def shortlist_messages(self, request_id: str) -> list[str]:
        """The texts of the shortlist messages sent for a request."""
        return [r["text"] for r in self.db.execute(
            "SELECT text FROM outbound WHERE request_id=? AND purpose='shortlist' AND status='sent'"
            " ORDER BY idem_key", (request_id,))]
