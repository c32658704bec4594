"""A real PostgreSQL (Debian's ``postgresql`` package) for tests: a throwaway cluster in a
temporary directory on a free port.

PostgreSQL refuses to run as root, so as root the cluster belongs to the unprivileged
``postgres`` user (which the package, or scripts/ensure-system-packages.sh, creates) and
its programs run as that user (``subprocess.Popen(user=…)``, no wrapper process in
between, so signals reach the server). Authentication is SCRAM with a generated password,
over TCP on 127.0.0.1 only, as a production server would be reached.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from citytwin.credentials import new_secret
from tests.services import ManagedProcess, free_port

POSTGRES_USER = "postgres"
SUPERUSER = "citytwin"


def postgres_bin() -> Path:
    """The directory of the newest installed PostgreSQL's programs."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise RuntimeError("PostgreSQL is not installed; run `make test` (it installs it)")
    return versions[-1].parent


@dataclass
class Postgres:
    """A running cluster: its superuser's password and a way to make databases."""

    port: int
    password: str
    managed: ManagedProcess
    root: Path
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    def url(self, database: str, *, with_password: bool = True) -> str:
        """A SQLAlchemy URL of ``database`` (psycopg 3 driver)."""
        secret = f":{self.password}" if with_password else ""
        return f"postgresql+psycopg://{self.user}{secret}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            autocommit=True,
        )

    def create_database(self, name: str) -> None:
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"'.encode())

    def stop(self) -> None:
        self.managed.stop(signal.SIGINT)  # "fast" shutdown; SIGTERM waits for clients
        shutil.rmtree(self.root, ignore_errors=True)


def _run_as() -> tuple[str | None, int | None, int | None]:
    """The user to run PostgreSQL as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None, None, None
    try:
        entry = pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise RuntimeError(
            "PostgreSQL cannot run as root and there is no 'postgres' user;"
            " run scripts/ensure-system-packages.sh"
        ) from None
    return POSTGRES_USER, entry.pw_uid, entry.pw_gid


def start_postgres() -> Postgres:
    """initdb + postgres on a free port; returns once it accepts the superuser."""
    user, uid, gid = _run_as()
    # not under pytest's tmp_path: its parents are private to root
    root = Path(tempfile.mkdtemp(prefix="citytwin-postgres-"))
    data, pwfile = root / "data", root / "pwfile"
    password = new_secret()
    pwfile.write_text(password + "\n")
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
        os.chown(pwfile, uid, gid)
    bin_dir = postgres_bin()
    initdb = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D", str(data),
            "-U", SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        user=user,
        group=gid,
        capture_output=True,
        check=False,
    )  # fmt: skip
    pwfile.unlink()
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed: {initdb.stderr.decode(errors='replace')}")
    port = free_port()
    argv = [
        str(bin_dir / "postgres"),
        "-D", str(data),
        "-p", str(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", f"unix_socket_directories={root}",
        "-c", "fsync=off",  # a throwaway cluster: durability is not what the tests test
        "-c", "full_page_writes=off",
        "-c", "max_connections=50",
    ]  # fmt: skip
    managed = _ManagedAs(
        "postgres", argv, port, root / "postgres.log", run_user=user, run_group=gid
    )
    if uid is not None and gid is not None:
        (root / "postgres.log").touch()
        os.chown(root / "postgres.log", uid, gid)
    managed.start()
    server = Postgres(port, password, managed, root)
    _wait_accepting(server)
    return server


@dataclass
class _ManagedAs(ManagedProcess):
    """A ManagedProcess started as another user."""

    run_user: str | None = None
    run_group: int | None = None

    def start(self) -> None:
        from tests.services import wait_for_port

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.run_user,
                group=self.run_group,
            )
        wait_for_port(self.port)


def _wait_accepting(server: Postgres, attempts: int = 100) -> None:
    """The port opens before recovery ends ("the database system is starting up")."""
    import time

    for _ in range(attempts):
        try:
            with server.connect():
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    log = server.managed.log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"PostgreSQL on port {server.port} does not accept connections:\n{log}")
