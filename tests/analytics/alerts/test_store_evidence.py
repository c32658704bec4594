"""Snapshots kept as evidence: a camera alert's JPEG saved on disk and linked."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from analytics.alerts.errors import EvidenceError
from analytics.alerts.evidence import DiskEvidenceStorage
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import RuleType
from analytics.alerts.records import Action
from tests.analytics.alerts.support import T0, minutes, signal

pytestmark = [pytest.mark.asyncio(loop_scope="function"), pytest.mark.timeout(60)]


def _jpeg() -> bytes:
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[10:30, 20:40] = (40, 200, 90)
    ok, encoded = cv2.imencode(".jpg", frame)
    assert ok
    return encoded.tobytes()


async def test_a_camera_alert_keeps_its_snapshot(lifecycle: AlertLifecycle) -> None:
    jpeg = _jpeg()
    applied = await lifecycle.apply(signal(rule_type=RuleType.INTRUSION), snapshot=jpeg)

    alert = applied.alert
    assert alert is not None
    assert alert.evidence_path is not None
    assert lifecycle.evidence is not None
    kept = lifecycle.evidence.read(alert.evidence_path)
    assert kept == jpeg
    decoded = cv2.imdecode(np.frombuffer(kept, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert decoded.shape == (48, 64, 3)
    entry = (await lifecycle.history(alert.id))[-1]
    assert (entry.action, entry.details["path"]) == (Action.EVIDENCE, alert.evidence_path)


async def test_the_first_snapshot_stays_when_the_alert_is_updated(
    lifecycle: AlertLifecycle,
) -> None:
    first = await lifecycle.apply(signal(), snapshot=_jpeg())
    later = await lifecycle.apply(signal(at=T0 + minutes(1)), snapshot=_jpeg()[:-2] + b"\xff\xd9")
    assert first.alert is not None
    assert later.alert is not None
    assert later.alert.evidence_path == first.alert.evidence_path


async def test_a_snapshot_that_is_not_a_jpeg_is_noted_and_the_alert_still_opens(
    lifecycle: AlertLifecycle, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="analytics.alerts.lifecycle"):
        applied = await lifecycle.apply(signal(), snapshot=b"\x89PNG\r\n")

    assert applied.alert is not None
    assert applied.alert.evidence_path is None
    note = (await lifecycle.history(applied.alert.id))[-1]
    assert note.action is Action.NOTED
    assert note.note is not None
    assert "the snapshot is not a JPEG (starts with 89504e47" in note.note
    assert "snapshot not kept" in caplog.text


async def test_an_operator_attaches_evidence_later(lifecycle: AlertLifecycle) -> None:
    applied = await lifecycle.apply(signal())
    assert applied.alert is not None
    attached = await lifecycle.attach_evidence(applied.alert.id, _jpeg(), actor="operator-lan")
    assert attached.evidence_path is not None
    entry = (await lifecycle.history(applied.alert.id))[-1]
    assert (entry.action, entry.actor) == (Action.EVIDENCE, "operator-lan")


async def test_reading_outside_the_evidence_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.jpg").write_bytes(_jpeg())
    storage = DiskEvidenceStorage(tmp_path / "evidence")
    with pytest.raises(EvidenceError, match="leaves the evidence directory"):
        storage.read("../secret.jpg")


async def test_an_unwritable_directory_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "evidence"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(EvidenceError, match=f"cannot write {blocker}/"):
        DiskEvidenceStorage(blocker).save("0" * 32, T0, _jpeg())
