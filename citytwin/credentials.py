"""Secrets on disk and Mosquitto password hashes.

Mosquitto 2's password file stores ``user:$7$iterations$salt$hash`` — PBKDF2-HMAC-SHA512
with a 12-byte salt. citytwin writes it itself instead of calling ``mosquitto_passwd``
once per device, which would put every plaintext password on a command line (visible in
``ps``) and fork hundreds of processes for a province.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

MOSQUITTO_ITERATIONS = 101
"""What mosquitto_passwd 2.0 uses; Mosquitto reads the count from each line."""


def new_secret() -> str:
    """A random password for a device or a service (URL-safe, 192 bits)."""
    return secrets.token_urlsafe(24)


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """The ``$7$…`` hash Mosquitto 2 checks a password against."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    return (
        f"$7${MOSQUITTO_ITERATIONS}$"
        f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # two writers never share one
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def stored_secret(path: Path) -> str:
    """The secret kept in ``path``, created (mode 0600) the first time it is asked for."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    value = new_secret()
    write_private(path, value + "\n")
    return value
