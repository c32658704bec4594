"""Who owns a device's twin: provisioning, with roles gating creation where it owns.

Runs `citytwin.twin_provisioning.ensure_twins` against the real twin service, as
``citytwin up`` and ``citytwin provision`` do.
"""

from __future__ import annotations

import logging

import pytest

from citytwin.twin_provisioning import TwinAccess, TwinReport, ensure_twins
from tests.twins.conftest import TwinServer
from twins.client import DittoClient
from twins.errors import DittoForbiddenError, DittoNotFoundError
from twins.registry import Registry, RegistrySpec

EVERYTHING = {"grant": ["READ", "WRITE"], "revoke": []}


def _registry(namespace: str, *names: str) -> Registry:
    site = {
        "id": namespace,
        "name": "Trung tâm Phục vụ hành chính công",
        "sector": "public_administration",
        "devices": [{"name": name, "kind": "counter"} for name in names],
    }
    return Registry(RegistrySpec.model_validate({"sites": [site]}))


def _foreign_policy(policy_id: str) -> dict[str, object]:
    """What an admin might write by hand: operator olga may write the whole thing."""
    return {
        "policyId": policy_id,
        "entries": {
            "owners": {
                "subjects": {"nginx:adam": {"type": "admin"}, "nginx:citytwin": {"type": "x"}},
                "resources": {"thing:/": EVERYTHING, "policy:/": EVERYTHING},
            },
            "operator": {
                "subjects": {"nginx:olga": {"type": "operator"}},
                "resources": {"thing:/": EVERYTHING},
            },
        },
    }


def _provision(server: TwinServer, client: DittoClient, registry: Registry) -> TwinReport:
    return ensure_twins(client, registry, TwinAccess.from_settings(server.settings))


def test_only_an_admin_creates_in_a_provisioned_namespace(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    twin_server.provisioned.add(namespace)
    url = f"{twin_server.url}/api/2"
    thing_id = f"{namespace}:counter-01"
    with twin_server.session("olga") as olga:
        squat = olga.put(f"{url}/things/{thing_id}", json={"attributes": {"mine": True}})
        assert squat.status_code == 403
        assert squat.json()["error"] == "things:thing.notcreatable"
        assert "admin" in squat.json()["message"]
        policy = olga.put(f"{url}/policies/{namespace}:p", json=_foreign_policy(f"{namespace}:p"))
        assert policy.status_code == 403
        assert policy.json()["error"] == "policies:policy.notcreatable"
        posted = olga.post(f"{url}/things", params={"namespace": namespace}, json={})
        assert posted.status_code == 403
        # elsewhere an operator creates things of its own, as in Ditto
        assert olga.put(f"{url}/things/{namespace}.lab:x", json={}).status_code == 201
    with pytest.raises(DittoNotFoundError):
        client.get(thing_id)
    with twin_server.session("adam") as adam:
        assert adam.put(f"{url}/things/{namespace}:spare", json={}).status_code == 201


def test_citytwin_itself_is_checked_against_policies(
    twin_server: TwinServer, client: DittoClient, namespace: str
) -> None:
    thing_id = f"{namespace}:alices"
    with twin_server.client("alice") as alice:
        alice.put_thing({"thingId": thing_id, "attributes": {"a": 1}})
    with pytest.raises(DittoNotFoundError):
        client.get(thing_id)
    assert client.count(namespaces=[namespace]) == 0


def test_provisioning_replaces_a_foreign_policy_and_logs_it(
    twin_server: TwinServer,
    client: DittoClient,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    twin_server.provisioned.add(namespace)
    own, squatted = f"{namespace}:counter-01", f"{namespace}:counter-02"
    with twin_server.client("adam") as adam:
        adam.put_policy(_foreign_policy(own))
        adam.put_thing({"thingId": own, "policyId": own})
        adam.put_policy(_foreign_policy(f"{namespace}:squat"))
        adam.put_thing({"thingId": squatted, "policyId": f"{namespace}:squat"})
    with twin_server.client("olga") as olga:
        olga.patch(own, "", {"features": {"queue": {"properties": {"waiting": 99}}}})

    with caplog.at_level(logging.WARNING, logger="citytwin.twin_provisioning"):
        report = _provision(twin_server, client, _registry(namespace, "counter-01", "counter-02"))

    assert report == TwinReport(created=0, updated=2, replaced_policies=1, refused=[])
    logged = [r.getMessage() for r in caplog.records]
    assert any(own in line and "replaced" in line for line in logged), logged
    assert any(squatted in line and f"now uses {squatted}" in line for line in logged), logged
    assert client.get(squatted, "policyId") == squatted
    with twin_server.client("olga") as olga:
        for thing_id in (own, squatted):
            with pytest.raises(DittoForbiddenError):
                olga.patch(thing_id, "features/queue/properties", {"waiting": 1})
            # an operator still sets what a device should do
            olga.put(thing_id, "features/service/desiredProperties/open", True)
    with twin_server.client("bob") as bob:
        assert bob.get(own, "features/service/desiredProperties/open") is True
        with pytest.raises(DittoForbiddenError):
            bob.put(own, "features/service/desiredProperties/open", False)


def test_a_twin_citytwin_may_not_manage_is_refused_and_logged(
    twin_server: TwinServer,
    client: DittoClient,
    namespace: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    thing_id = f"{namespace}:counter-01"
    with twin_server.client("olga") as olga:  # before the site was in the registry
        olga.put_thing({"thingId": thing_id})
    twin_server.provisioned.add(namespace)
    with caplog.at_level(logging.ERROR, logger="citytwin.twin_provisioning"):
        report = _provision(twin_server, client, _registry(namespace, "counter-01", "counter-02"))
    assert report.refused == [thing_id]
    assert report.created == 1
    assert any(thing_id in r.getMessage() for r in caplog.records)
