"""Twins for the registry's devices: created when missing, attributes kept in step.

Run by ``citytwin up`` once the twin API answers and by ``citytwin provision`` when it
does. A twin that exists keeps its features (reported state belongs to ingest, desired
state to operators); only the registry's attributes are merged into it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from twins.client import DittoClient
from twins.definitions import default_policy, thing_for_device
from twins.errors import DittoPreconditionFailedError
from twins.registry import RegisteredDevice, Registry

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class TwinReport:
    """How many twins one run created and updated."""

    created: int = 0
    updated: int = 0


def device_attributes(device: RegisteredDevice) -> dict[str, object]:
    """The registry facts a twin carries as attributes."""
    attributes: dict[str, object] = {**device.attributes, "siteName": device.site_name}
    if device.label:
        attributes["label"] = device.label
    return attributes


def ensure_twins(
    client: DittoClient,
    registry: Registry,
    service_subject: str,
    readers: tuple[str, ...] = (),
) -> TwinReport:
    """Create each device's policy and twin if absent; refresh the attributes otherwise.

    A policy that exists is left alone: operators may have changed it. ``readers`` are the
    subjects (``nginx:NAME``) that may read new twins — the console's operators.
    """
    report = TwinReport()
    for device in registry:
        thing_id = str(device.thing_id)
        thing = thing_for_device(
            device.thing_id,
            device.kind,
            device.site_id,
            device.sector,
            device_attributes(device),
        )
        with contextlib.suppress(DittoPreconditionFailedError):
            client.put_policy(
                default_policy(thing["policyId"], service_subject, readers=readers),
                if_none_match="*",
            )
        try:
            client.create_thing(thing)
            report.created += 1
        except DittoPreconditionFailedError:
            client.patch(thing_id, "attributes", thing["attributes"])
            report.updated += 1
    logger.info("twins: %d created, %d updated", report.created, report.updated)
    return report
