"""Opening the alert store: migrations on an empty database and again, both backends,
and the errors of a bad URL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import create_engine, event, inspect, text

from analytics.alerts.errors import AlertStoreError, AlertStoreUrlError
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.settings import AlertStoreSettings
from analytics.alerts.store import AlertStore, default_url, migrate, schema_revision
from analytics.alerts.tables import Base
from tests.analytics.alerts.support import FakeClock, signal
from tests.postgres import Postgres
from tests.services import free_port

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(120)]

TABLES = {"alerts", "alert_history", "alert_signals", "maintenance_windows", "alembic_version"}
WRITES = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")


async def test_an_empty_database_is_migrated_to_the_current_schema(store_url: str) -> None:
    store = AlertStore.open(store_url)
    try:
        assert schema_revision(store.engine) == "0002"
        assert set(inspect(store.engine).get_table_names()) >= TABLES
    finally:
        store.close()


async def test_migrating_a_current_database_writes_nothing(store_url: str) -> None:
    AlertStore.open(store_url).close()
    engine = create_engine(store_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    try:
        migrate(engine)
    finally:
        engine.dispose()
    assert statements, "the migration did not even look at the database"
    written = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
    assert written == []


async def test_alerts_outlive_the_store_and_a_second_migration(store_url: str) -> None:
    store = await AlertStore.connect(store_url)
    applied = await AlertLifecycle(store, clock=FakeClock()).apply(signal())
    store.close()
    async with await AlertStore.connect(store_url) as reopened:
        assert applied.alert is not None
        again = await AlertLifecycle(reopened, clock=FakeClock()).get(applied.alert.id)
        assert again == applied.alert


async def test_the_migrations_create_what_the_models_declare(store_url: str) -> None:
    store = AlertStore.open(store_url)
    try:
        with store.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        store.close()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = AlertStore.open(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


async def test_the_default_is_a_file_in_the_state_directory(tmp_path: Path) -> None:
    settings = AlertStoreSettings()
    assert settings.store_url(tmp_path / "var") == default_url(tmp_path / "var")
    store = AlertStore.open(settings.store_url(tmp_path / "var"))
    store.close()
    assert (tmp_path / "var" / "alerts" / "alerts.db").is_file()
    assert settings.evidence_root(tmp_path / "var") == tmp_path / "var" / "alerts" / "evidence"


async def test_the_settings_refuse_unknown_fields_and_name_them() -> None:
    with pytest.raises(ValidationError, match=r"escalation\.majr"):
        AlertStoreSettings.model_validate({"escalation": {"majr": "PT5M"}})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "alerts.url: 'not a url' is not a database URL"),
        ("mysql://ops@db.thaibinh.gov.vn/alerts", "runs on SQLite or PostgreSQL"),
        ("sqlite://", "names no file"),
        ("sqlite:///:memory:", "names no file"),
        ("sqlite+aiosqlite:///x.db", "SQLite driver 'aiosqlite'"),
        ("postgresql+asyncpg://ops@localhost/alerts", "ships psycopg 3"),
        ("postgresql://ops@localhost", "names no database"),
    ],
)
async def test_a_bad_url_is_refused_with_the_setting_and_the_value(url: str, expected: str) -> None:
    with pytest.raises(AlertStoreUrlError, match=r"^alerts\.url: ") as caught:
        AlertStore.open(url)
    assert expected in str(caught.value)


async def test_a_password_in_a_refused_url_is_not_shown() -> None:
    with pytest.raises(AlertStoreUrlError) as caught:
        AlertStore.open("mysql://ops:s3cret-pw@db/alerts")
    assert "s3cret-pw" not in str(caught.value)
    assert "ops:***@db" in str(caught.value)


async def test_an_unreachable_postgresql_is_a_clear_error() -> None:
    port = free_port()
    with pytest.raises(AlertStoreError) as caught:
        AlertStore.open(f"postgresql://ops:s3cret-pw@127.0.0.1:{port}/alerts")
    message = str(caught.value)
    assert message.startswith(
        f"cannot open the alert store postgresql+psycopg://ops:***@127.0.0.1:{port}/alerts"
    )
    assert "refused" in message
    assert "s3cret-pw" not in message


async def test_a_wrong_password_is_named_and_not_shown(
    postgres: Postgres, unique_name: str
) -> None:
    postgres.create_database(unique_name)
    url = postgres.url(unique_name, with_password=False)
    with pytest.raises(AlertStoreError, match="password authentication failed") as caught:
        AlertStore.open(url, "wrong-password-123")
    assert "wrong-password-123" not in str(caught.value)


async def test_the_password_setting_completes_a_url_without_one(
    postgres: Postgres, unique_name: str
) -> None:
    postgres.create_database(unique_name)
    store = AlertStore.open(postgres.url(unique_name, with_password=False), postgres.password)
    store.close()
    with pytest.raises(AlertStoreUrlError, match="keep one"):
        AlertStore.open(postgres.url(unique_name), postgres.password)


async def test_processes_opening_a_new_postgresql_together_migrate_once(
    postgres: Postgres, unique_name: str
) -> None:
    postgres.create_database(unique_name)
    url = postgres.url(unique_name)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        start.wait()
        try:
            AlertStore.open(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    store = AlertStore.open(url)
    try:
        assert schema_revision(store.engine) == "0002"
    finally:
        store.close()


async def test_a_database_of_a_newer_schema_is_refused_by_name(store_url: str) -> None:
    AlertStore.open(store_url).close()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(AlertStoreError, match=r"'0099'.*created by a newer citytwin"):
        AlertStore.open(store_url)


async def test_a_store_of_the_first_schema_keeps_its_history_and_gains_the_notice_outbox(
    store_url: str,
) -> None:
    """Rows written before the notice outbox existed are not notified again."""
    from alembic import command

    from analytics.alerts.store import _alembic_config, parse_store_url

    if store_url.startswith("sqlite:///"):
        Path(store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parse_store_url(store_url))
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0001")
            connection.execute(
                text(
                    "INSERT INTO alerts (id, key, rule_type, severity, state, site, sector,"
                    " device, zone, opened_at, recorded_at, last_signal_at, escalation_level,"
                    " message_vi, message_en, details) VALUES ('a1', 'r|d|', 'offline', 'major',"
                    " 'open', 's', '', 'd', '', :t, :t, :t, 0, '', '', '{}')"
                ),
                {"t": "2026-12-01T00:00:00+00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO alert_history (alert_id, at, recorded_at, actor, action,"
                    " to_state, severity, escalation_level, details, point_pending) VALUES"
                    " ('a1', :t, :t, 'system', 'opened', 'open', 'major', 0, '{}', :pending)"
                ),
                {"t": "2026-12-01T00:00:00+00:00", "pending": True},
            )
    finally:
        engine.dispose()
    store = AlertStore.open(store_url)
    try:
        assert schema_revision(store.engine) == "0002"
        with store.engine.connect() as connection:
            row = connection.execute(
                text("SELECT point_pending, notice_pending FROM alert_history")
            ).one()
        assert (bool(row.point_pending), bool(row.notice_pending)) == (True, False)
    finally:
        store.close()
