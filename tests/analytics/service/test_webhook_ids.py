"""A webhook receiver can drop repeats by ``webhook-id``: the id of a delivery is the same on
every retry and after a restart of analytics, and it is signed with the body.

A real receiver (uvicorn) fails the first attempt and takes the second; then the process
stops, and the notice outbox is put back as a crash between handing the transition over
and marking it done leaves it; the next process sends the transition again — under the
id the first one used."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from analytics.alerts.model import AlertKey
from analytics.alerts.tables import HistoryRow
from analytics.notify.settings import NotifySettings
from analytics.notify.signing import SignatureError, verify
from tests.analytics.notify.conftest import Answer, Receiver, receiver
from tests.analytics.service.support import StoreReader, analytics_runtime, in_process
from tests.ingest.conftest import Site, TwinService
from tests.ingest.support import Device, IngestProcess, wait_until
from tests.services import Broker, Influx

__all__ = ["receiver"]

pytestmark = pytest.mark.timeout(180)

SECRET = "whsec_" + "c2VjcmV0LW9mLXRoZS1vcHMtZGVzay1yZWNlaXZlcg=="


def test_a_delivery_keeps_its_id_across_retries_and_a_restart(
    broker: Broker,
    influx: Influx,
    twin_service: TwinService,
    make_site: Callable[..., Site],
    make_ingest: Callable[..., IngestProcess],
    rules_dir: Path,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    site = make_site([("wl-01", "sensor")])
    thing = f"{site.namespace}:wl-01"
    make_ingest(site)
    where = f"/hooks/{uuid.uuid4().hex[:10]}"
    receiver.answer(where, Answer(503))  # the first attempt fails, the next are taken
    notify = NotifySettings.model_validate(
        {
            "mqtt": {"enabled": False},
            "webhooks": {"ops": {"url": receiver.url + where, "secret": SECRET}},
            "delivery": {"first_retry_seconds": 0.2, "max_retry_seconds": 0.2},
        }
    )
    state_dir = tmp_path / "var"
    runtime = analytics_runtime(
        broker, influx, twin_service, site, state_dir, rules_dir, notify=notify
    )
    device = Device(broker, thing)
    t0 = int(time.time() * 1000) - 60_000
    try:
        with in_process(runtime):
            for i, level in enumerate([40, 130]):
                device.send("telemetry", {"water_level_cm": level}, ts=t0 + i * 1000)
            first, second = wait_until(
                lambda: (got := receiver.received(where)) and len(got) >= 2 and got,
                "a failed attempt and its retry",
            )
        ids = {first.headers["webhook-id"], second.headers["webhook-id"]}
        assert len(ids) == 1
        (delivery_id,) = ids
        for attempt in (first, second):  # the id is part of what is signed
            assert verify(SECRET, attempt.headers, attempt.body, now=time.time()) == delivery_id
            forged = {**attempt.headers, "webhook-id": "msg_" + "0" * 32}
            with pytest.raises(SignatureError, match="does not match"):
                verify(SECRET, forged, attempt.body, now=time.time())
        assert len(receiver.received(where)) == 2

        reader = StoreReader(state_dir)
        try:
            (alert,) = reader.alerts_of(AlertKey("flood", thing))

            def as_a_crash_leaves_it(session: Session) -> None:
                session.execute(
                    update(HistoryRow)
                    .where(HistoryRow.alert_id == alert.id)
                    .values(notice_pending=True)
                )

            asyncio.run(reader.store.run(as_a_crash_leaves_it))
        finally:
            reader.close()

        with in_process(runtime):
            again = wait_until(
                lambda: (got := receiver.received(where)[2:]) and got, "the repeat after restart"
            )
        assert again[0].headers["webhook-id"] == delivery_id
        assert verify(SECRET, again[0].headers, again[0].body, now=time.time()) == delivery_id
    finally:
        device.close()
