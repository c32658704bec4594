"""Supervision of the embedded stack's child processes.

Each child (Mosquitto, InfluxDB, the HTTP app, ingest, simulators) runs in its own process
group with its output appended to ``logs/{name}.log``. A child that dies is restarted with
exponential backoff; a child that stays up for a minute earns a fresh backoff. On stop every
child gets SIGTERM, then SIGKILL after a grace period. Children also get SIGTERM from the
kernel if the supervisor itself dies (``PR_SET_PDEATHSIG``), so no orphan outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from twins.backoff import Backoff

logger = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[bool]]

_PR_SET_PDEATHSIG = 1


class SupervisorError(RuntimeError):
    """A child that could not be started or never became healthy."""


@dataclass(slots=True, frozen=True)
class ChildSpec:
    """How to run and check one child process."""

    name: str
    argv: Sequence[str]
    health: HealthProbe
    env: Mapping[str, str] | None = None
    start_timeout: float = 30.0
    stop_timeout: float = 10.0


HEALTHY_AFTER_SECONDS = 60.0
"""A child up this long earns a fresh backoff: its next restart waits 0.5 s again."""


def _die_with_parent() -> None:
    """Run in the child before exec: get SIGTERM when the supervisor dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildProcess:
    """One supervised child: started, watched, restarted, stopped."""

    def __init__(self, spec: ChildSpec, log_dir: Path, run_dir: Path) -> None:
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}.log"
        self.pid_path = run_dir / f"{spec.name}.pid"
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._backoff = Backoff(first=0.5, maximum=30.0)
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        """Start the child and wait until its health probe passes."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.pid_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(self.spec.env or {})}
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.pid_path.write_text(f"{self.process.pid}\n", encoding="utf-8")
        logger.info("started %s (pid %d)", self.spec.name, self.process.pid)
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.spec.start_timeout
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise SupervisorError(
                    f"{self.spec.name} exited with code {self.process.returncode} while"
                    f" starting; see {self.log_path}"
                )
            healthy = False
            with contextlib.suppress(Exception):  # a probe that fails means "not yet"
                healthy = await self.spec.health()
            if healthy:
                logger.info("%s is healthy", self.spec.name)
                return
            await asyncio.sleep(0.2)
        raise SupervisorError(
            f"{self.spec.name} was not healthy after {self.spec.start_timeout:.0f} s;"
            f" see {self.log_path}"
        )

    async def watch(self) -> None:
        """Restart the child whenever it dies, until ``stop`` is called."""
        while not self._stopping:
            assert self.process is not None
            started = time.monotonic()
            code = await self.process.wait()
            if self._stopping:
                return
            uptime = time.monotonic() - started
            if uptime >= HEALTHY_AFTER_SECONDS:
                self._backoff.reset()
            delay = self._backoff.next_delay()
            logger.warning(
                "%s (pid %d) exited with code %s after %.1f s; restarting in %.1f s",
                self.spec.name,
                self.process.pid,
                code,
                uptime,
                delay,
            )
            await asyncio.sleep(delay)
            if self._stopping:
                return
            self.restarts += 1
            try:
                await self.start()
            except (SupervisorError, OSError) as exc:  # e.g. the program was uninstalled
                logger.error("restart of %s failed: %s", self.spec.name, exc)

    async def stop(self) -> None:
        """SIGTERM the child's process group, SIGKILL it after the grace period."""
        self._stopping = True
        process = self.process
        if process is None or process.returncode is not None:
            self.pid_path.unlink(missing_ok=True)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.spec.stop_timeout)
        except TimeoutError:
            logger.warning("%s ignored SIGTERM; killing it", self.spec.name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything it left in its group
        self.pid_path.unlink(missing_ok=True)
        logger.info("stopped %s", self.spec.name)


class Supervisor:
    """Starts children in order (each healthy before the next), watches, stops in reverse.

    Use as ``async with Supervisor(specs, log_dir, run_dir) as supervisor:`` then
    ``await supervisor.run_until(stop_event)``.
    """

    def __init__(self, specs: Sequence[ChildSpec], log_dir: Path, run_dir: Path) -> None:
        self.children = [ChildProcess(spec, log_dir, run_dir) for spec in specs]

    async def __aenter__(self) -> Supervisor:
        started: list[ChildProcess] = []
        try:
            for child in self.children:
                await child.start()
                started.append(child)
        except BaseException:
            for child in reversed(self.children[: len(started) + 1]):
                await child.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for child in reversed(self.children):
            await child.stop()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Watch every child until ``stop`` is set."""
        async with asyncio.TaskGroup() as group:
            watchers = [
                group.create_task(child.watch(), name=f"watch-{child.spec.name}")
                for child in self.children
            ]
            await stop.wait()
            for child in reversed(self.children):
                await child.stop()
            for watcher in watchers:
                watcher.cancel()
