"""Things and policies in one SQLite file (WAL mode), with indexed JSON paths for search.

Each thing is one row: its id, namespace, policy id, revision, timestamps and the thing
JSON (``thingId, policyId, definition, attributes, features``) as text, so a plain GET
returns stored bytes. Search runs RQL as SQL over ``json_extract``; the paths named in
``indexed_paths`` get expression indexes (``json_extract(doc, '$.attributes.site')``),
which SQLite uses when a filter compares that path — so ``eq(attributes/site,"…")``
reads only that site's rows.

Writes go through `TwinStore.transaction` — one ``BEGIN IMMEDIATE`` … ``COMMIT`` per
request, so a request changes everything it meant to or nothing. Searches run on
per-thread read-only connections, which WAL lets read while a write is under way.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from twins.pointer import parse_pointer
from twins.service.rql import Node
from twins.service.rql_sql import json_path, sql_literal, to_sql, value_expression

logger = logging.getLogger(__name__)

DEFAULT_INDEXED_PATHS: tuple[str, ...] = (
    "attributes/site",
    "attributes/kind",
    "attributes/sector",
    "features/queue/properties/waiting",
    "features/connectivity/properties/online",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS things (
    thing_id  TEXT NOT NULL PRIMARY KEY,
    namespace TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    created   TEXT NOT NULL,
    modified  TEXT NOT NULL,
    doc       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS things_namespace ON things(namespace);
CREATE INDEX IF NOT EXISTS things_policy ON things(policy_id);
CREATE TABLE IF NOT EXISTS policies (
    policy_id TEXT NOT NULL PRIMARY KEY,
    revision  INTEGER NOT NULL,
    created   TEXT NOT NULL,
    modified  TEXT NOT NULL,
    doc       TEXT NOT NULL
);
"""
_THING_COLUMNS = "thing_id, policy_id, revision, created, modified, doc"


def utc_now() -> datetime:
    """The real clock (tests pass a fake one to `TwinStore.open`)."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as Ditto writes ``_created``/``_modified``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True, frozen=True)
class StoredThing:
    """One thing row; ``doc`` is the thing JSON text."""

    thing_id: str
    policy_id: str
    revision: int
    created: str
    modified: str
    doc: str

    @property
    def namespace(self) -> str:
        """The part of the id before the first ``:``."""
        return self.thing_id.partition(":")[0]

    def parsed(self) -> dict[str, Any]:
        """The thing JSON as a dict."""
        value: dict[str, Any] = orjson.loads(self.doc)
        return value

    def with_meta(self) -> dict[str, Any]:
        """The thing with its read-only ``_`` fields, as fields selection and RQL see it."""
        value = self.parsed()
        value["_namespace"] = self.namespace
        value["_revision"] = self.revision
        value["_created"] = self.created
        value["_modified"] = self.modified
        return value


@dataclass(slots=True, frozen=True)
class StoredPolicy:
    """One policy row; ``doc`` is the policy JSON (with ``policyId``) as a dict."""

    policy_id: str
    revision: int
    created: str
    modified: str
    doc: dict[str, Any]


def _lower(value: str | int | float | bytes | None) -> str | int | float | bytes | None:
    return value.lower() if isinstance(value, str) else value


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    connection = sqlite3.connect(
        target, uri=uri, isolation_level=None, check_same_thread=False, timeout=10.0
    )
    connection.create_function("citytwin_lower", 1, _lower, deterministic=True)
    connection.execute("PRAGMA busy_timeout = 10000")
    return connection


class Transaction:
    """Reads and writes inside one ``BEGIN IMMEDIATE`` … ``COMMIT``."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        clock: Callable[[], datetime],
        policy_written: Callable[[], None],
    ) -> None:
        self._connection = connection
        self.now = format_timestamp(clock())
        self._policy_written = policy_written

    def get_thing(self, thing_id: str) -> StoredThing | None:
        """The thing, or None."""
        row = self._connection.execute(
            f"SELECT {_THING_COLUMNS} FROM things WHERE thing_id = ?", (thing_id,)
        ).fetchone()
        return None if row is None else StoredThing(*row)

    def put_thing(self, thing: dict[str, Any], previous: StoredThing | None) -> StoredThing:
        """Write ``thing`` (create when ``previous`` is None); returns the new row."""
        thing_id = thing["thingId"]
        doc = orjson.dumps(thing).decode()
        if previous is None:
            stored = StoredThing(thing_id, thing["policyId"], 1, self.now, self.now, doc)
            self._connection.execute(
                "INSERT INTO things (thing_id, namespace, policy_id, revision, created,"
                " modified, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (thing_id, stored.namespace, stored.policy_id, 1, self.now, self.now, doc),
            )
            return stored
        stored = StoredThing(
            thing_id, thing["policyId"], previous.revision + 1, previous.created, self.now, doc
        )
        self._connection.execute(
            "UPDATE things SET policy_id = ?, revision = ?, modified = ?, doc = ?"
            " WHERE thing_id = ?",
            (stored.policy_id, stored.revision, self.now, doc, thing_id),
        )
        return stored

    def delete_thing(self, thing_id: str) -> None:
        """Remove the thing (its policy stays, as in Ditto)."""
        self._connection.execute("DELETE FROM things WHERE thing_id = ?", (thing_id,))

    def get_policy(self, policy_id: str) -> StoredPolicy | None:
        """The policy, or None."""
        row = self._connection.execute(
            "SELECT policy_id, revision, created, modified, doc FROM policies WHERE policy_id = ?",
            (policy_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredPolicy(row[0], row[1], row[2], row[3], orjson.loads(row[4]))

    def put_policy(self, policy: dict[str, Any], previous: StoredPolicy | None) -> StoredPolicy:
        """Write ``policy`` (with ``policyId``); returns the new row."""
        policy_id = policy["policyId"]
        doc = orjson.dumps(policy).decode()
        self._policy_written()
        if previous is None:
            self._connection.execute(
                "INSERT INTO policies (policy_id, revision, created, modified, doc)"
                " VALUES (?, 1, ?, ?, ?)",
                (policy_id, self.now, self.now, doc),
            )
            return StoredPolicy(policy_id, 1, self.now, self.now, policy)
        revision = previous.revision + 1
        self._connection.execute(
            "UPDATE policies SET revision = ?, modified = ?, doc = ? WHERE policy_id = ?",
            (revision, self.now, doc, policy_id),
        )
        return StoredPolicy(policy_id, revision, previous.created, self.now, policy)

    def delete_policy(self, policy_id: str) -> None:
        """Remove the policy (things that use it become invisible to everyone else)."""
        self._policy_written()
        self._connection.execute("DELETE FROM policies WHERE policy_id = ?", (policy_id,))


@dataclass(slots=True, frozen=True)
class SearchQuery:
    """A search, as the API parsed it."""

    filter: Node | None = None
    namespaces: tuple[str, ...] = ()
    policy_ids: tuple[str, ...] | None = None  # None: no restriction (full-rights caller)
    sort: tuple[tuple[tuple[str, ...], bool], ...] = ()
    limit: int = 25
    offset: int = 0


class TwinStore:
    """The SQLite file of the twin service; open with `TwinStore.open`."""

    def __init__(
        self,
        path: Path,
        connection: sqlite3.Connection,
        clock: Callable[[], datetime],
    ) -> None:
        self.path = path
        self._writer = connection
        self._clock = clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._policy_writes = 0

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        indexed_paths: Sequence[str] = DEFAULT_INDEXED_PATHS,
        clock: Callable[[], datetime] = utc_now,
    ) -> TwinStore:
        """Open (creating if needed) the store at ``path``, in WAL mode."""
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = _connect(str(path))
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.executescript(_SCHEMA)
        store = cls(path, connection, clock)
        store.ensure_indexes(indexed_paths)
        logger.info("twin store %s open", path)
        return store

    def ensure_indexes(self, indexed_paths: Sequence[str]) -> None:
        """Create the expression indexes of each JSON path (``attributes/site``) if missing.

        Two per path: its value, for comparisons, and its JSON type, so that the branch of
        a comparison that looks into arrays (``json_type(…) = 'array'``, see
        `twins.service.rql_sql`) is an index lookup too and the OR of both stays indexed.
        """
        with self._lock:
            for text in indexed_paths:
                pointer = parse_pointer(text, where="indexed path")
                name = "things_ix_" + re.sub(r"[^A-Za-z0-9]+", "_", "_".join(pointer))
                path = sql_literal(json_path(pointer))
                self._writer.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON things(json_extract(doc, {path}))"
                )
                self._writer.execute(
                    f"CREATE INDEX IF NOT EXISTS {name}_type ON things(json_type(doc, {path}))"
                )

    def close(self) -> None:
        """Close every connection (checkpointing the WAL into the file)."""
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
        with self._lock:
            self._writer.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One atomic unit of work; an exception rolls everything back."""
        with self._lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._writer, self._clock, self._count_policy_write)
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def get_thing(self, thing_id: str) -> StoredThing | None:
        """The thing, read outside any transaction."""
        with self._lock:
            row = self._writer.execute(
                f"SELECT {_THING_COLUMNS} FROM things WHERE thing_id = ?", (thing_id,)
            ).fetchone()
        return None if row is None else StoredThing(*row)

    def get_policy(self, policy_id: str) -> StoredPolicy | None:
        """The policy, read outside any transaction."""
        with self._lock:
            row = self._writer.execute(
                "SELECT policy_id, revision, created, modified, doc FROM policies"
                " WHERE policy_id = ?",
                (policy_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredPolicy(row[0], row[1], row[2], row[3], orjson.loads(row[4]))

    def _count_policy_write(self) -> None:
        self._policy_writes += 1

    def policy_generation(self) -> tuple[int, int]:
        """Changes whenever any policy may have changed: policy writes of this process,
        and SQLite's ``data_version`` of the writer, which moves when another connection
        (another process) commits. Caches of policies are keyed on it."""
        with self._lock:
            version = int(self._writer.execute("PRAGMA data_version").fetchone()[0])
            return self._policy_writes, version

    def policies_granting(self) -> list[StoredPolicy]:
        """Every policy (for working out which ones let a caller read)."""
        rows = self._reader().execute(
            "SELECT policy_id, revision, created, modified, doc FROM policies"
        )
        return [StoredPolicy(r[0], r[1], r[2], r[3], orjson.loads(r[4])) for r in rows]

    def _reader(self) -> sqlite3.Connection:
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = _connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            self._local.reader = reader
            with self._readers_lock:
                self._readers.append(reader)
        return reader

    def _where(self, query: SearchQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.filter is not None:
            condition = to_sql(query.filter)
            clauses.append(condition.text)
            params.extend(condition.params)
        if query.namespaces:
            clauses.append(f"namespace IN ({', '.join('?' * len(query.namespaces))})")
            params.extend(query.namespaces)
        if query.policy_ids is not None:
            clauses.append("policy_id IN (SELECT value FROM json_each(?))")
            params.append(orjson.dumps(list(query.policy_ids)).decode())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def search(self, query: SearchQuery) -> list[StoredThing]:
        """One page of matching things (safe to call from any thread)."""
        where, params = self._where(query)
        order = [
            f"{value_expression(field)[0]} {'ASC' if ascending else 'DESC'}"
            for field, ascending in query.sort
        ]
        order.append("thing_id ASC")
        sql = (
            f"SELECT {_THING_COLUMNS} FROM things{where} ORDER BY {', '.join(order)}"
            " LIMIT ? OFFSET ?"
        )
        rows = self._reader().execute(sql, (*params, query.limit, query.offset))
        return [StoredThing(*row) for row in rows]

    def count(self, query: SearchQuery) -> int:
        """How many things match (safe to call from any thread)."""
        where, params = self._where(query)
        row = self._reader().execute(f"SELECT count(*) FROM things{where}", params).fetchone()
        return int(row[0])

    def explain(self, query: SearchQuery) -> list[str]:
        """SQLite's query plan for a search (benchmarks and tests check indexes are used)."""
        where, params = self._where(query)
        rows = self._reader().execute(
            f"EXPLAIN QUERY PLAN SELECT thing_id FROM things{where}", params
        )
        return [str(row[3]) for row in rows]

    def list_ids(self, limit: int) -> list[str]:
        """The first ``limit`` thing ids in order."""
        rows = self._reader().execute(
            "SELECT thing_id FROM things ORDER BY thing_id LIMIT ?", (limit,)
        )
        return [row[0] for row in rows]
