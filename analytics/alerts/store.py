"""The alert store: one SQLAlchemy engine on SQLite or PostgreSQL, migrated at open.

``AlertStore.open(url)`` checks the URL, connects, and runs the Alembic migrations shipped
in this package (``alembic upgrade head``; a no-op when the schema is current). On
PostgreSQL the migration holds an advisory lock, so several analytics processes starting
together migrate once.

The store is synchronous SQLAlchemy run in one worker thread per store (``run``): alert
traffic is a few transactions a second, the lifecycle reads and then writes inside one
transaction, and SQLite allows one writer at a time anyway — one thread serialises this
process's transactions, and the database (``BEGIN IMMEDIATE`` on SQLite, row locks and
the unique index of open keys on PostgreSQL) serialises processes. See docs/alerts.md.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from analytics.alerts.errors import AlertStoreError, AlertStoreUrlError
from analytics.alerts.settings import AlertStoreSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x43_54_41_4C  # "CTAL": the advisory lock id of the store's migrations
_RETRIES = 3
"""Attempts of one transaction that lost a race on a unique constraint (another process
opened the same key first): the next attempt sees the other's row."""


def default_url(state_dir: Path) -> str:
    """The embedded default: a SQLite file under the state directory."""
    return AlertStoreSettings().store_url(state_dir)


def parse_store_url(url: str, password: str = "", *, setting: str = "alerts.url") -> URL:
    """``url`` as SQLAlchemy URL with citytwin's driver, or AlertStoreUrlError naming
    ``setting``, the value (password hidden) and what would be accepted."""
    accepted = "sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise AlertStoreUrlError(f"{setting}: {url!r} is not a database URL ({accepted})") from exc
    shown = parsed.render_as_string(hide_password=True)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite":
        if driver != "pysqlite":
            raise AlertStoreUrlError(
                f"{setting}: {shown!r} asks for the SQLite driver {driver!r}; use sqlite:///PATH"
            )
        if not parsed.database or parsed.database == ":memory:":
            raise AlertStoreUrlError(
                f"{setting}: {shown!r} names no file; alerts must outlive the process"
                " (sqlite:///PATH)"
            )
        return parsed
    if backend == "postgresql":
        if driver not in ("psycopg2", "psycopg"):  # psycopg2 is SQLAlchemy's default name
            raise AlertStoreUrlError(
                f"{setting}: {shown!r} asks for the PostgreSQL driver {driver!r}; citytwin"
                " ships psycopg 3 (postgresql:// or postgresql+psycopg://)"
            )
        if not parsed.database:
            raise AlertStoreUrlError(f"{setting}: {shown!r} names no database")
        if password and parsed.password:
            raise AlertStoreUrlError(
                f"{setting}: {shown!r} has a password and the password setting too; keep one"
            )
        parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.set(password=password) if password else parsed
    raise AlertStoreUrlError(
        f"{setting}: {shown!r} is a {backend} URL; the alert store runs on SQLite or"
        f" PostgreSQL ({accepted})"
    )


def _sqlite_engine(url: URL) -> Engine:
    assert url.database is not None
    path = Path(url.database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AlertStoreError(
            f"cannot create the directory of the alert store {path}: {exc}"
        ) from exc
    engine = create_engine(url, connect_args={"timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _configure(dbapi: sqlite3.Connection, _record: object) -> None:
        # pysqlite's own transaction handling begins lazily and never for reads; take it
        # over, so that a lifecycle transaction holds the write lock from its first read
        dbapi.isolation_level = None
        cursor = dbapi.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class AlertStore:
    """The alert database behind one interface; ``run`` executes a transaction."""

    def __init__(self, engine: Engine, shown_url: str) -> None:
        self.engine = engine
        self.url = shown_url
        """The URL with its password hidden, for messages."""
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-store")

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @classmethod
    def open(cls, url: str, password: str = "", *, setting: str = "alerts.url") -> AlertStore:
        """Connect and migrate to the current schema (blocking: see ``connect``)."""
        parsed = parse_store_url(url, password, setting=setting)
        shown = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
        try:
            migrate(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            raise AlertStoreError(f"cannot open the alert store {shown}: {cause}") from exc
        except CommandError as exc:  # a revision this code does not know: a newer citytwin's
            engine.dispose()
            raise AlertStoreError(
                f"cannot migrate the alert store {shown}: {exc} (was it created by a newer"
                " citytwin?)"
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        logger.info("alert store %s open", shown)
        return cls(engine, shown)

    @classmethod
    async def connect(
        cls, url: str, password: str = "", *, setting: str = "alerts.url"
    ) -> AlertStore:
        """``open`` in a worker thread, for callers on an event loop."""
        return await asyncio.to_thread(cls.open, url, password, setting=setting)

    async def __aenter__(self) -> AlertStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Wait for the running transaction, then release every connection."""
        self._thread.shutdown(wait=True)
        self.engine.dispose()

    def transaction(self, work: Callable[[Session], T]) -> T:
        """``work`` in one transaction, committed if it returns; blocking.

        A unique-constraint race lost to another process is retried; other database
        errors become AlertStoreError naming the store.
        """
        for attempt in range(1, _RETRIES + 1):
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except IntegrityError as exc:
                if attempt == _RETRIES:
                    raise AlertStoreError(f"alert store {self.url}: {exc.orig}") from exc
                logger.info("alert store %s: retrying after %s", self.url, exc.orig)
            except DBAPIError as exc:
                raise AlertStoreError(f"alert store {self.url}: {exc.orig}") from exc
        raise AssertionError("unreachable")

    async def run(self, work: Callable[[Session], T]) -> T:
        """``transaction(work)`` in the store's worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self.transaction, work)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """``alembic upgrade head`` on ``engine``, in one transaction (a no-op when current)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
        command.upgrade(_alembic_config(connection), "head")


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: not migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision
