"""Presence events: what the video hub publishes when a camera zone is entered or left.

Topic ``citytwin/$platform/video/presence/{namespace}/{name}`` (the ``citytwin-video``
account may publish there, analytics may read it), QoS 1, one JSON object per change::

    {"thing": "thaibinh.hcc:cam-desk-01", "zone": "officer", "zone_type": "desk",
     "present": false, "people": 0, "at": "2026-12-03T01:40:00.000Z", "watched": true}

``at`` is the capture time of the frame the change happened in (the first empty frame of a
leave, the first positive one of an enter), not the time it was confirmed; ``watched``
says whether the zone's ``hours`` apply then (for a restricted zone: an intrusion).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from twins.thing_id import ThingId
from twins.topics import PLATFORM
from twins.zones import ZoneType


class PresenceEvent(BaseModel):
    """A zone of a camera entered (``present``) or left."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thing: str = Field(description="the camera's thing id")
    zone: str = Field(description="the zone's id in the camera's `zones` feature")
    zone_type: ZoneType
    present: bool
    people: int = Field(ge=0, description="people inside after the change")
    at: AwareDatetime = Field(description="capture time of the frame the change happened in")
    watched: bool = Field(description="whether the zone's hours apply at `at`")


def presence_topic(thing_id: ThingId) -> str:
    """``citytwin/$platform/video/presence/{namespace}/{name}``."""
    return f"{PLATFORM}/video/presence/{thing_id.namespace}/{thing_id.name}"
