"""The session's servers are watched: one that dies on its own is back at once, and the
crash is kept with the end of its log; one stopped on purpose stays stopped."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.services import Watchdog, start_broker, wait_for_port


def test_a_broker_that_dies_on_its_own_is_restarted_and_its_crash_kept(tmp_path: Path) -> None:
    own = start_broker(tmp_path / "mosquitto")
    try:
        with Watchdog(own.managed, interval=0.05) as watchdog:
            first = own.managed.pid
            own.managed.process.send_signal(signal.SIGSEGV)  # type: ignore[union-attr]
            deadline = time.monotonic() + 20
            while not watchdog.crashes and time.monotonic() < deadline:
                time.sleep(0.05)
            wait_for_port(own.port)
            (crash,) = watchdog.crashes
            assert own.managed.pid != first
            assert crash.returncode == -signal.SIGSEGV
            log = (tmp_path / "mosquitto" / "mosquitto.log").read_text()
            assert crash.log_tail.strip()
            assert log.startswith(crash.log_tail)  # the end of its log, before the restart
            assert "signal 11" in str(crash)

            own.managed.stop()  # on purpose: not a crash, not restarted
            time.sleep(0.3)
            assert own.managed.process.poll() is not None  # type: ignore[union-attr]
            assert len(watchdog.crashes) == 1
    finally:
        own.managed.stop()
