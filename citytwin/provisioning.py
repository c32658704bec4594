"""Provisioning: the registry file becomes broker users, ACLs and device credentials.

The registry also becomes ``var/registry.yaml``, which the running ingest rereads.
Idempotent: a device already provisioned keeps its password; a new device gets a random
one, written in plaintext only to the credentials file (mode 0600) for the simulator or the
installer, while the broker gets the hash; a device gone from the registry loses its user
and ACL. The running broker rereads both files on SIGHUP — no restart, no dropped session.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from citytwin.accounts import BrokerAccount
from citytwin.broker import acl_text, password_text, read_password_file
from citytwin.credentials import mosquitto_hash, new_secret, write_private
from citytwin.paths import StatePaths
from twins.registry import Registry
from twins.thing_id import ThingId

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ProvisionReport:
    """What one provisioning run changed."""

    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    broker_reloaded: bool = False


@dataclass(slots=True, frozen=True)
class DeviceCredentials:
    """What a device needs to connect: its thing id, kind, MQTT user and password."""

    thing_id: str
    kind: str
    username: str
    password: str


def load_device_credentials(paths: StatePaths) -> dict[str, DeviceCredentials]:
    """The credentials file: thing id → credentials (empty when nothing is provisioned)."""
    if not paths.device_credentials.exists():
        return {}
    raw = json.loads(paths.device_credentials.read_text(encoding="utf-8"))
    return {entry["thing_id"]: DeviceCredentials(**entry) for entry in raw["devices"]}


def provision(
    registry: Registry,
    paths: StatePaths,
    service_accounts: Sequence[BrokerAccount],
    *,
    add_only: bool = False,
) -> ProvisionReport:
    """Bring the broker's users and ACL in line with ``registry`` and reload the broker.

    ``service_accounts`` are citytwin's own broker users, each with its ACL; any other
    service user in the files (an account of an older version) is revoked. With
    ``add_only`` the registry's devices join those already provisioned (a simulation next
    to the field devices) instead of replacing them. One provisioning runs at a time per
    state dir: ``up``, ``provision`` and ``simulate`` may overlap, and each reads and then
    rewrites the same four files.
    """
    paths.mosquitto_dir.mkdir(parents=True, exist_ok=True)
    with (paths.mosquitto_dir / "provision.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if add_only and paths.effective_registry.exists():
            known = Registry.load(paths.effective_registry).spec
            registry = Registry(known.merged_with(registry.spec))
        return _provision_locked(registry, paths, service_accounts)


def _provision_locked(
    registry: Registry, paths: StatePaths, service_accounts: Sequence[BrokerAccount]
) -> ProvisionReport:
    report = ProvisionReport()
    old_hashes = read_password_file(paths.password_file)
    old_credentials = load_device_credentials(paths)
    hashes: dict[str, str] = {}
    credentials: dict[str, DeviceCredentials] = {}

    for account in service_accounts:
        hashes[account.username] = _keep_or_hash(old_hashes.get(account.username), account.password)

    for device in registry:
        thing_id = str(device.thing_id)
        username = device.thing_id.mqtt_username
        known = old_credentials.get(thing_id)
        if known is not None and username in old_hashes:
            credentials[thing_id] = DeviceCredentials(
                thing_id, device.kind, username, known.password
            )
            hashes[username] = old_hashes[username]
            report.kept.append(thing_id)
        else:
            password = new_secret()
            credentials[thing_id] = DeviceCredentials(thing_id, device.kind, username, password)
            hashes[username] = mosquitto_hash(password)
            report.added.append(thing_id)

    report.revoked = sorted(user for user in old_hashes if user not in hashes)
    paths.mosquitto_dir.mkdir(parents=True, exist_ok=True)
    write_private(paths.password_file, password_text(hashes))
    write_private(
        paths.acl_file,
        acl_text(service_accounts, (ThingId.parse(thing_id) for thing_id in credentials)),
    )
    write_private(
        paths.device_credentials,
        json.dumps(
            {"devices": [_as_json(entry) for entry in credentials.values()]},
            indent=1,
            ensure_ascii=False,
        ),
    )
    write_effective_registry(paths, registry)
    report.broker_reloaded = reload_broker(paths)
    logger.info(
        "provisioned %d devices: %d added, %d kept, %d revoked; broker reloaded: %s",
        len(credentials),
        len(report.added),
        len(report.kept),
        len(report.revoked),
        report.broker_reloaded,
    )
    return report


def write_effective_registry(paths: StatePaths, registry: Registry) -> None:
    """Make ``registry`` the one the running ingest and HTTP ingest read (they watch it).

    Without this a device could connect (the broker knows it) while ingest dead-letters
    its messages as ``unknown_device``.
    """
    spec = registry.spec.model_dump(mode="json", exclude_none=True)
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    paths.effective_registry.parent.mkdir(parents=True, exist_ok=True)
    tmp = paths.effective_registry.with_name(paths.effective_registry.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, paths.effective_registry)  # readers never see half a file


def reload_broker(paths: StatePaths) -> bool:
    """Send SIGHUP to the embedded Mosquitto, if it runs; True when it was signalled.

    The pid file outlives a killed ``up``, and its pid may since belong to another
    program, for which SIGHUP is usually fatal: only a process named mosquitto is sent it.
    """
    pid_file = paths.pid_file("mosquitto")
    try:
        pid = int(pid_file.read_text(encoding="utf-8").strip())
        name = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
        if name != "mosquitto":
            logger.warning("%s names pid %d, which is %s, not mosquitto", pid_file, pid, name)
            return False
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return False
    return True


def _keep_or_hash(old_hash: str | None, password: str) -> str:
    """Keep a hash that still matches ``password`` so the file does not churn."""
    if old_hash is not None:
        parts = old_hash.split("$")
        if len(parts) == 5 and parts[1] == "7":
            salt = base64.b64decode(parts[3])
            if mosquitto_hash(password, salt=salt) == old_hash:
                return old_hash
    return mosquitto_hash(password)


def _as_json(entry: DeviceCredentials) -> dict[str, str]:
    return {
        "thing_id": entry.thing_id,
        "kind": entry.kind,
        "username": entry.username,
        "password": entry.password,
    }
