"""Twins for the registry's devices: provisioning owns them.

Run by ``citytwin up`` once the twin API answers and by ``citytwin provision`` when it
does. For each device, provisioning makes the twin's policy (named like the thing) the
one citytwin gives devices (`device_policy`) and points the twin at it:

* a policy that differs — made by hand, or left by whoever created the thing before it
  was provisioned — is replaced, and the replacement is logged;
* a twin that uses another policy is pointed back at its own, logged too;
* a twin whose policy does not let citytwin's account manage it (Ditto has no
  super-user, and neither has citytwin) is reported as refused, logged as an error:
  an admin must delete it or give it back.

A twin that exists keeps its features (reported state belongs to ingest, desired state
to operators); the registry's attributes, the kind's definition and any feature the kind
has and the twin lacks are merged into it.

Roles become policy entries: every user may read device twins; operators and admins may
also write each feature's ``desiredProperties``; nobody but citytwin writes reported
``properties`` or the policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.registry_file import RegistryFile
from twins.client import DittoClient
from twins.definitions import default_policy, thing_for_device
from twins.errors import DittoForbiddenError, DittoNotFoundError, DittoPreconditionFailedError
from twins.registry import RegisteredDevice, Registry
from twins.settings import TwinRole, TwinSettings

logger = logging.getLogger(__name__)

SUBJECT_ISSUER = "nginx"


@dataclass(slots=True, frozen=True)
class TwinAccess:
    """Who provisioning lets into device twins: citytwin's subject and users by role."""

    service: str
    viewers: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: TwinSettings) -> TwinAccess:
        """The subjects (``nginx:NAME``) of ``settings.users``, grouped by role."""

        def subjects(role: TwinRole) -> tuple[str, ...]:
            return tuple(
                f"{SUBJECT_ISSUER}:{name}"
                for name, user in sorted(settings.users.items())
                if user.role is role
            )

        return cls(
            f"{SUBJECT_ISSUER}:{settings.username}",
            subjects(TwinRole.VIEWER),
            subjects(TwinRole.OPERATOR),
            subjects(TwinRole.ADMIN),
        )


@dataclass(slots=True)
class TwinReport:
    """What one run did; ``refused`` lists the twins citytwin may not manage."""

    created: int = 0
    updated: int = 0
    replaced_policies: int = 0
    refused: list[str] = field(default_factory=list)


def provisioned_namespaces(registry_path: Path) -> Callable[[], frozenset[str]]:
    """The registry's site ids, reread when the file changes: the namespaces where only
    admins may create things and policies (the embedded twin service asks on creation)."""
    registry = RegistryFile(registry_path)

    def namespaces() -> frozenset[str]:
        registry.refresh()
        return frozenset(site.id for site in registry.registry.spec.sites)

    return namespaces


def device_attributes(device: RegisteredDevice) -> dict[str, object]:
    """The registry facts a twin carries as attributes."""
    attributes: dict[str, object] = {**device.attributes, "siteName": device.site_name}
    if device.label:
        attributes["label"] = device.label
    return attributes


def device_policy(thing: dict[str, Any], access: TwinAccess) -> dict[str, Any]:
    """The policy of a device twin: citytwin owns it, users read it, operators desire.

    Operators and admins get WRITE on each ``features/{id}/desiredProperties`` the thing
    has (a Ditto policy names resources, it has no wildcard for feature ids).
    """
    readers = access.viewers + access.operators + access.admins
    policy = default_policy(thing["policyId"], access.service, readers=readers)
    desirers = access.operators + access.admins
    desired = sorted(
        name for name, feature in thing["features"].items() if "desiredProperties" in feature
    )
    if desirers and desired:
        policy["entries"]["desired-state"] = {
            "subjects": {subject: {"type": "operator"} for subject in desirers},
            "resources": {
                f"thing:/features/{name}/desiredProperties": {"grant": ["WRITE"], "revoke": []}
                for name in desired
            },
        }
    return policy


def ensure_twins(client: DittoClient, registry: Registry, access: TwinAccess) -> TwinReport:
    """Make each device's policy and twin provisioning's; refresh the attributes."""
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
        try:
            _ensure_policy(client, device_policy(thing, access), thing_id, report)
            _ensure_thing(client, thing, report)
        except (DittoNotFoundError, DittoForbiddenError) as exc:
            logger.error(
                "twin %s: its policy does not let %s manage it (%s); an admin must delete"
                " the thing or give its policy back to provisioning",
                thing_id,
                access.service,
                exc.message,
            )
            report.refused.append(thing_id)
    logger.info(
        "twins: %d created, %d updated, %d policies replaced, %d refused",
        report.created,
        report.updated,
        report.replaced_policies,
        len(report.refused),
    )
    return report


def _ensure_policy(
    client: DittoClient, policy: dict[str, Any], thing_id: str, report: TwinReport
) -> None:
    policy_id = policy["policyId"]
    try:
        current = client.get_policy(policy_id)
    except DittoNotFoundError:
        client.put_policy(policy, if_none_match="*")  # 404 when it exists, hidden from us
        return
    if current.get("entries") == policy["entries"]:
        return
    client.put_policy(policy)
    report.replaced_policies += 1
    logger.warning(
        "twin %s: policy %s was not provisioning's (entries %s); replaced by citytwin's",
        thing_id,
        policy_id,
        ", ".join(sorted(current.get("entries", {}))) or "none",
    )


def _ensure_thing(client: DittoClient, thing: dict[str, Any], report: TwinReport) -> None:
    thing_id = thing["thingId"]
    try:
        client.create_thing(thing)
    except DittoPreconditionFailedError:
        pass
    else:
        report.created += 1
        return
    current = client.get(thing_id, fields="policyId,features")
    policy_id = current.get("policyId")
    if policy_id != thing["policyId"]:
        client.put(thing_id, "policyId", thing["policyId"])
        logger.warning(
            "twin %s: used the policy %s, not provisioning's; now uses %s",
            thing_id,
            policy_id,
            thing["policyId"],
        )
    patch: dict[str, Any] = {"definition": thing["definition"], "attributes": thing["attributes"]}
    have = current.get("features") or {}
    missing = {name: value for name, value in thing["features"].items() if name not in have}
    if missing:
        patch["features"] = missing
    client.patch(thing_id, "", patch)
    report.updated += 1
