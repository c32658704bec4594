"""Property-based conformance against Ditto's own OpenAPI spec (schemathesis).

The spec (``fixtures/ditto/ditto-api-2.yml``, EPL-2.0, see its NOTICE.txt) drives
generated requests at the running embedded service, for the operations citytwin
implements. Checked: no 5xx, and every documented response body valid against the spec's
schema. Two documented deviations are removed from the spec copy before the run:

* ``fields`` parameters: the spec marks ``thingId``/``policyId`` as required in a Thing,
  but Ditto itself leaves them out when ``fields`` does not select them;
* the SSE form of ``GET /api/2/things`` is tested in test_sse.py.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.twins.conftest import SERVICE_PASSWORD, TwinServer

SPEC = Path(__file__).parent / "fixtures" / "ditto" / "ditto-api-2.yml"
IMPLEMENTED: dict[str, set[str]] = {
    "/api/2/things": {"get", "post"},
    "/api/2/things/{thingId}": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/policyId": {"get", "put"},
    "/api/2/things/{thingId}/definition": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/attributes": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/attributes/{attributePath}": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/features": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/features/{featureId}": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/features/{featureId}/definition": {
        "get",
        "put",
        "patch",
        "delete",
    },
    "/api/2/things/{thingId}/features/{featureId}/properties": {"get", "put", "patch", "delete"},
    "/api/2/things/{thingId}/features/{featureId}/properties/{propertyPath}": {
        "get",
        "put",
        "patch",
        "delete",
    },
    "/api/2/things/{thingId}/features/{featureId}/desiredProperties": {
        "get",
        "put",
        "patch",
        "delete",
    },
    "/api/2/things/{thingId}/features/{featureId}/desiredProperties/{propertyPath}": {
        "get",
        "put",
        "patch",
        "delete",
    },
    "/api/2/search/things": {"get", "post"},
    "/api/2/search/things/count": {"get", "post"},
    "/api/2/policies/{policyId}": {"get", "put", "delete"},
    "/api/2/whoami": {"get"},
}


def _implemented_spec() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec = copy.deepcopy(raw)
    spec["paths"] = {}
    for path, methods in IMPLEMENTED.items():
        item = raw["paths"].get(path)
        if item is None:
            continue
        kept = {method: op for method, op in item.items() if method in methods}
        for operation in kept.values():
            operation["parameters"] = [
                parameter
                for parameter in operation.get("parameters", [])
                if not parameter.get("$ref", "").endswith("FieldsQueryParam")
                and parameter.get("name") != "fields"
            ]
            form = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/x-www-form-urlencoded", {})
            )
            form.get("schema", {}).get("properties", {}).pop("fields", None)
            form.get("encoding", {}).pop("fields", None)
            form.pop("example", None)
        if kept:
            spec["paths"][path] = kept
    return spec


schema = schemathesis.openapi.from_dict(_implemented_spec())
AUTH = "Basic " + base64.b64encode(f"citytwin:{SERVICE_PASSWORD}".encode()).decode()


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_conformance(case: schemathesis.Case[Any], twin_server: TwinServer) -> None:
    case.call_and_validate(
        base_url=twin_server.url,
        headers={"Authorization": AUTH},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=10,
    )
