"""Fuzzing the payload path: 10,000 generated payloads, no crash, each one accounted for.

Every payload goes through the real pipeline code in this process (so hypothesis can
shrink a crash to its smallest form), then all of them through the real broker into a
running ingest, which must take every one: written, dead-lettered or dropped as a
duplicate — and nothing else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.metrics import IngestMetrics
from ingest.pipeline import Batch, Pipeline
from ingest.settings import IngestSettings
from tests.ingest.conftest import Site
from tests.ingest.support import Device, IngestProcess, Watcher, wait_until
from tests.services import Broker

EXAMPLES = 10_000
NOW_MS = int(time.time() * 1000)

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-100, max_value=300),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
data = st.dictionaries(
    st.sampled_from(
        ["temperature_c", "humidity_pct", "pm25_ugm3", "noise_dba", "water_level_cm", "type", "x"]
    ),
    values,
    max_size=5,
)
timestamps = st.one_of(
    st.integers(min_value=NOW_MS - 10**10, max_value=NOW_MS + 10**10),
    st.integers(min_value=NOW_MS - 60_000, max_value=NOW_MS),
    st.text(max_size=30),
    st.sampled_from(["2026-11-26T08:15:02.120+07:00", "2026-11-26T08:15:02", "yesterday"]),
    values,
)
envelopes = st.fixed_dictionaries(
    {"seq": st.one_of(st.integers(min_value=-5, max_value=2**60), values), "data": data},
    optional={"ts": timestamps, "extra": values},
)
payloads = st.one_of(
    envelopes.map(lambda e: json.dumps(e).encode()),
    envelopes.map(lambda e: json.dumps(e)[: len(json.dumps(e)) // 2].encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.integers(min_value=16_000, max_value=20_000).map(
        lambda n: json.dumps({"seq": 1, "data": {"noise_dba": 1.0}, "pad": "x" * n}).encode()
    ),
)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ten_thousand_generated_payloads_are_each_written_or_dead_lettered(
    broker: Broker,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
) -> None:
    site = make_site([("fuzz-1", "sensor")], twins=False)
    topic = f"citytwin/{site.namespace}/fuzz-1/telemetry"
    letters: list[tuple[str, bytes]] = []

    def dead_letter(topic: str, payload: bytes, _qos: int) -> bool:
        letters.append((topic, payload))
        return True

    pipeline = Pipeline(
        site.registry,
        IngestSettings(),
        IngestMetrics(),
        publish=dead_letter,
        twins=None,
    )
    generated: list[bytes] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payloads)
    def one(payload: bytes) -> None:
        batch = Batch(0.0)
        before = len(letters)
        dropped_before = pipeline.sequences_dropped()
        pipeline.handle(topic, payload, batch)
        written = len(batch.lines)
        dead = len(letters) - before
        dropped = pipeline.sequences_dropped() - dropped_before
        assert written + dead + dropped == 1, (payload, batch.lines, letters[before:])
        if dead:
            body: dict[str, Any] = json.loads(letters[-1][1])
            assert body["reason"] in {
                "not_json",
                "schema",
                "too_large",
                "not_finite",
                "ts_future",
                "ts_past",
            }, body
        generated.append(payload)

    one()
    assert len(generated) >= EXAMPLES

    ingest = make_ingest(site, twins=False)
    watcher = Watcher(broker, f"citytwin/$platform/deadletter/{site.namespace}/#")
    device = Device(broker, f"{site.namespace}:fuzz-1")
    for payload in generated:
        device.publish("telemetry", payload)
    wait_until(lambda: device.acked >= len(generated), "every PUBACK", timeout=120)
    total = len(generated)
    wait_until(
        lambda: ingest.metric("citytwin_ingest_messages_total", channel="telemetry") == total,
        f"ingest to take all {total} messages",
        timeout=120,
    )
    accepted = ingest.metric("citytwin_ingest_accepted_total") or 0
    duplicates = ingest.metric(
        "citytwin_ingest_duplicates_total", device=f"{site.namespace}:fuzz-1"
    )
    wait_until(
        lambda: len(watcher.messages) + accepted + (duplicates or 0) == total,
        "every message to be written, dead-lettered or dropped as a duplicate",
    )
    # written points are the accepted messages plus the device_sequence quality points
    wait_until(
        lambda: (ingest.metric("citytwin_ingest_points_written_total") or 0) >= accepted,
        "every accepted message to be written",
    )
    assert ingest.metric("citytwin_ingest_points_rejected_total") == 0
    assert ingest.process is not None
    assert ingest.process.poll() is None
    device.close()
    watcher.close()
