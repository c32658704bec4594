"""The camera wall: which cameras an operator sees, grouped by site, and their viewer token.

The wall page plays cameras straight from the hub (``citytwin video``, another origin).
The console, where the operator is logged in, lists the camera twins that operator may
read (the twin service applies each twin's policy to the search) and signs a short-lived
viewer token for exactly those cameras (``video.tokens``), which the hub accepts as a
bearer token. A kiosk link carries such a token, bounded in lifetime, in its URL, so a
wall screen or a Grafana panel needs no login; its cameras are then read with citytwin's
own account, limited to those the token lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twins.client import DittoClient
from twins.kinds import DeviceKind

CAMERAS = f'eq(attributes/kind,"{DeviceKind.CAMERA.value}")'


@dataclass(slots=True, frozen=True)
class WallCamera:
    """One tile: the camera, its label and the health the hub last wrote to its twin."""

    thing_id: str
    label: str
    health: str


@dataclass(slots=True)
class WallSite:
    """The cameras of one site, under the site's (Vietnamese) name."""

    site: str
    name: str
    sector: str
    cameras: list[WallCamera] = field(default_factory=list)


def load_wall(
    client: DittoClient,
    *,
    site: str | None = None,
    only: frozenset[str] | None = None,
    limit: int = 1000,
) -> list[WallSite]:
    """The camera twins ``client`` may read, by site; ``only`` keeps just those thing ids."""
    sites: dict[str, WallSite] = {}
    namespaces = (site,) if site else ()
    for count, thing in enumerate(client.search(CAMERAS, namespaces=namespaces)):
        if count >= limit:
            break
        thing_id = str(thing["thingId"])
        if only is not None and thing_id not in only:
            continue
        attributes: dict[str, Any] = thing.get("attributes", {})
        stream = thing.get("features", {}).get("stream", {}).get("properties", {})
        site_id = str(attributes.get("site", thing_id.split(":", 1)[0]))
        block = sites.setdefault(
            site_id,
            WallSite(
                site_id,
                str(attributes.get("siteName", site_id)),
                str(attributes.get("sector", "")),
            ),
        )
        block.cameras.append(
            WallCamera(
                thing_id,
                str(attributes.get("label") or thing_id.split(":", 1)[1]),
                str(stream.get("health", "unknown")),
            )
        )
    ordered = sorted(sites.values(), key=lambda block: (block.sector, block.site))
    for block in ordered:
        block.cameras.sort(key=lambda camera: camera.thing_id)
    return ordered


def camera_ids(sites: list[WallSite]) -> list[str]:
    """Every camera on the wall, in tile order."""
    return [camera.thing_id for block in sites for camera in block.cameras]
