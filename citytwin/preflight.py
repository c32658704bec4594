"""Checks before the embedded stack starts: programs installed, ports free.

Each problem is one line a person can act on: which program or port, and what to do.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass

SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(slots=True, frozen=True)
class Program:
    """A system program the embedded stack runs, and the Debian package that has it."""

    command: str
    package: str


def find_program(command: str) -> str | None:
    """Absolute path of ``command`` (Mosquitto lives in /usr/sbin, often not on PATH)."""
    return shutil.which(command) or shutil.which(command, path=SBIN_PATH)


def missing_programs(programs: list[Program]) -> list[str]:
    """One line per program that is not installed, with the command that installs it."""
    return [
        f"{program.command} is not installed: run `apt-get install -y {program.package}` as"
        " root (Debian/Ubuntu), or deploy with docker compose (see compose/README.md)"
        for program in programs
        if find_program(program.command) is None
    ]


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def busy_ports(ports: list[tuple[str, str, int]]) -> list[str]:
    """For each ``(setting, host, port)`` in use, a line naming the port and the setting."""
    lines = []
    for setting, host, port in ports:
        if port_in_use(host, port):
            env = "CITYTWIN_" + setting.upper().replace(".", "__")
            lines.append(
                f"port {port} on {host} is already in use by another program;"
                f" set {setting} (env {env}) to a free port, or stop that program"
            )
    return lines
