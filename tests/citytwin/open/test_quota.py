"""The open API's quotas, held by the real app: anonymous callers at a low rate, outside
systems at their key's, over it a 429 with a Retry-After that is worth waiting for."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.citytwin.open.city import PARTNER_KEY, OpenCity, client, running_city
from tests.services import Influx

pytestmark = pytest.mark.timeout(120)

BURST_KEY = "burst-key-0123456789abcdef"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, influx: Influx) -> Iterator[OpenCity]:
    with running_city(
        tmp_path_factory.mktemp("open-quota"),
        influx,
        f"quota{uuid.uuid4().hex[:8]}",
        anonymous_rate="3/minute",
        api_keys={
            "partner": {"key": PARTNER_KEY, "rate": "6/minute"},
            "burst": {"key": BURST_KEY, "rate": "2 per 2 seconds"},
        },
    ) as running:
        yield running


def assert_over_quota(answer: httpx.Response, rate: str) -> int:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert rate in answer.json()["detail"]
    wait = int(answer.headers["Retry-After"])
    assert 1 <= wait <= 60
    return wait


def test_anonymous_callers_get_the_low_rate_and_a_key_its_own(strict: OpenCity) -> None:
    keyed = {"X-API-Key": PARTNER_KEY}
    with client(strict) as http:
        first = [http.get("/open/whoami") for _ in range(3)]
        assert [a.status_code for a in first] == [200, 200, 200]
        assert first[0].json() == {"access": "anonymous", "key": None, "rate": "3/minute"}
        # every open route counts against the same quota
        for path in ("/open/whoami", "/ngsi-ld/v1/entities", "/open/catalog"):
            refused = http.get(path)
            assert_over_quota(refused, "3/minute")
            assert "X-API-Key" in refused.json()["detail"]
        # a key is not held to the anonymous quota, and has its own
        with_key = [http.get("/ngsi-ld/v1/entities", headers=keyed) for _ in range(5)]
        assert [a.status_code for a in with_key] == [200] * 5
        whoami = http.get("/open/whoami", headers=keyed)
        assert whoami.json() == {"access": "api-key", "key": "partner", "rate": "6/minute"}
        assert_over_quota(http.get("/open/whoami", headers=keyed), "6/minute")
        # the operator's API is not behind the open quota
        assert http.get("/health").status_code == 200


def test_a_wrong_key_is_refused_not_served_anonymously(strict: OpenCity) -> None:
    with client(strict) as http:
        answer = http.get("/open/whoami", headers={"X-API-Key": "guessed-key-0123456789"})
    assert answer.status_code == 401
    assert "X-API-Key" in answer.json()["detail"]


def test_after_retry_after_the_caller_is_served_again(strict: OpenCity) -> None:
    burst = {"X-API-Key": BURST_KEY}
    with client(strict, **burst) as http:
        for _ in range(10):  # however slow the machine, the third of a burst is refused
            answer = http.get("/open/whoami")
            if answer.status_code == 429:
                break
            assert answer.status_code == 200, answer.text
        wait = assert_over_quota(answer, "2 per 2 seconds")
        assert wait <= 2
        time.sleep(wait)
        assert http.get("/open/whoami").status_code == 200
