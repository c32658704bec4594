"""Hostile messages sent on purpose, so ingest can be tested against what the field sends.

A fault profile gives, per hostile kind, the chance that a device follows a normal message
with a bad one:

- ``bad_json``: the message cut in half;
- ``wrong_topic``: a well-formed message on the wrong channel of the device's own topic
  (telemetry on ``event``, anything else on ``telemetry``) — the broker's ACL would drop a
  topic outside the device's prefix before ingest sees it;
- ``oversize``: a well-formed envelope over the contract's 16 KiB limit;
- ``replayed_seq``: one of the device's last messages sent again, byte for byte;
- ``far_future_ts``: a valid message stamped a year ahead.

Each one is also a ground-truth line ``{"what": "hostile", "details": {"kind": …}}``.
"""

from __future__ import annotations

import json
import random
from collections import Counter, deque

from pydantic import BaseModel

from simulators.groundtruth import GroundTruth
from simulators.link import DeviceLink
from simulators.scenario import FaultProfile, HostileKind
from twins.payloads import MAX_PAYLOAD_BYTES
from twins.topics import Channel, device_topic

FAR_FUTURE_S = 365 * 86_400.0


class FaultInjector:
    """Sends one device's hostile messages, by profile or on demand."""

    def __init__(
        self,
        link: DeviceLink,
        truth: GroundTruth,
        rng: random.Random,
        profile: FaultProfile | None,
    ) -> None:
        self._link = link
        self._truth = truth
        self._rng = rng
        self._rates = [
            (kind, profile.rate(kind)) for kind in HostileKind if profile and profile.rate(kind)
        ]
        self._recent: deque[tuple[Channel, bytes, int]] = deque(maxlen=8)
        self.counts: Counter[HostileKind] = Counter()

    def after(self, channel: Channel, payload: bytes, data: BaseModel, ts: float) -> None:
        """Called after each normal message; may follow it with hostile ones."""
        self._recent.append((channel, payload, self._link.seq))
        for kind, rate in self._rates:
            if self._rng.random() < rate:
                self.send(kind, channel, data, ts, source="profile")

    def send(
        self, kind: HostileKind, channel: Channel, data: BaseModel, ts: float, *, source: str
    ) -> None:
        """Send one hostile message of ``kind`` modelled on ``data`` sent on ``channel``."""
        link = self._link
        seq: int | None = None
        if kind is HostileKind.BAD_JSON:
            payload = link.envelope(data, ts)
            seq = link.seq
            payload = payload[: max(1, len(payload) // 2)]
        elif kind is HostileKind.WRONG_TOPIC:
            payload = link.envelope(data, ts)
            seq = link.seq
            channel = Channel.EVENT if channel is Channel.TELEMETRY else Channel.TELEMETRY
        elif kind is HostileKind.OVERSIZE:
            link.seq += 1
            seq = link.seq
            blob = "x" * (MAX_PAYLOAD_BYTES + 4096)
            payload = json.dumps(
                {"ts": int(ts * 1000), "seq": seq, "data": {"blob": blob}}
            ).encode()
        elif kind is HostileKind.REPLAYED_SEQ:
            if not self._recent:
                return
            channel, payload, seq = self._rng.choice(self._recent)
        else:
            payload = link.envelope(data, ts + FAR_FUTURE_S)
            seq = link.seq
        topic = device_topic(link.thing_id, channel)
        link.send_raw(topic, payload, "hostile")
        self.counts[kind] += 1
        self._truth.interval(
            "hostile",
            link.thing_id,
            ts,
            ts,
            {
                "kind": kind.value,
                "topic": topic,
                "seq": seq,
                "bytes": len(payload),
                "source": source,
            },
        )
