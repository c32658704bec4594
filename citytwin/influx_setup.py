"""Users and database of the embedded InfluxDB, which runs with authentication on.

``citytwin up`` runs this as influxd's readiness check: while the instance has no user,
InfluxDB 1.x lets the first ``CREATE USER … WITH ALL PRIVILEGES`` through without
credentials, so the admin is created that way; then, as the admin, the ``citytwin`` user
with ``ALL`` on the database only, the database, its retention policies and the rollup
query, and Grafana's ``grafana`` user with ``READ`` on the database only (a board's query
can neither write nor drop anything). Ingest and the HTTP app then connect as
``citytwin``; the admin password is used for nothing else. Every step is idempotent, so
the check runs again after a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ingest.errors import InfluxRejectedError, IngestError
from ingest.influx import InfluxV1Client

logger = logging.getLogger(__name__)

NO_USER_YET = "create admin user first"
"""What InfluxDB 1.x answers an unauthenticated query while it has no user."""


@dataclass(slots=True, frozen=True)
class InfluxAccounts:
    """The users of the embedded InfluxDB and the database they may use."""

    url: str
    database: str
    admin: tuple[str, str]
    user: tuple[str, str]
    """Writes and reads (``ALL`` on the database)."""
    reader: tuple[str, str]
    """Reads only (``READ`` on the database): Grafana's datasource."""
    raw_days: int
    rollup_days: int


def _literal(text: str) -> str:
    """An InfluxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def prepare_influx(accounts: InfluxAccounts) -> bool:
    """True once InfluxDB answers and its users, database and policies are in place."""
    admin_name, admin_password = accounts.admin
    user_name, user_password = accounts.user
    async with InfluxV1Client(
        accounts.url, accounts.database, username=admin_name, password=admin_password
    ) as admin:
        if not await admin.ping():
            return False
        try:
            await _ensure_admin(accounts)
            await admin.setup(accounts.raw_days, accounts.rollup_days)
            await _ensure_user(admin, user_name, user_password, accounts.database, "ALL")
            reader_name, reader_password = accounts.reader
            await _ensure_user(admin, reader_name, reader_password, accounts.database, "READ")
        except IngestError as exc:
            logger.warning("InfluxDB at %s is not set up yet: %s", accounts.url, exc)
            return False
    return True


async def _ensure_admin(accounts: InfluxAccounts) -> None:
    name, password = accounts.admin
    async with InfluxV1Client(accounts.url, accounts.database) as anonymous:
        try:
            await anonymous.query("SHOW USERS")
        except InfluxRejectedError as exc:
            if NO_USER_YET not in str(exc):
                return  # users exist: the admin's own queries show whether it is ours
        else:
            return  # authentication is off: nothing to create
        await anonymous.query(
            f"CREATE USER {_identifier(name)} WITH PASSWORD {_literal(password)}"
            " WITH ALL PRIVILEGES"
        )
        logger.info("created InfluxDB admin user %r", name)


async def _ensure_user(
    admin: InfluxV1Client, name: str, password: str, database: str, privilege: str
) -> None:
    """A user with the password of the state dir and ``privilege`` (ALL, READ) on one
    database; a privilege granted before on that database is replaced, not added to."""
    try:
        await admin.query(f"CREATE USER {_identifier(name)} WITH PASSWORD {_literal(password)}")
        logger.info("created InfluxDB user %r", name)
    except InfluxRejectedError as exc:
        if "user already exists" not in str(exc):
            raise
        await admin.query(f"SET PASSWORD FOR {_identifier(name)} = {_literal(password)}")
    if privilege != "ALL":
        await admin.query(f"REVOKE ALL ON {_identifier(database)} FROM {_identifier(name)}")
    await admin.query(f"GRANT {privilege} ON {_identifier(database)} TO {_identifier(name)}")
