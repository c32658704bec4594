"""The camera wall: which cameras an operator sees, grouped by site, and their viewer token.

The wall page plays cameras straight from the hub (``citytwin video``, another origin).
The console, where the operator is logged in, lists the camera twins that operator may
read (the twin service applies each twin's policy to the search) and signs a short-lived
viewer token for exactly those cameras (``video.tokens``), which the hub accepts as a
bearer token. A kiosk link carries such a token, bounded in lifetime, in its URL, so a
wall screen or a Grafana panel needs no login; its cameras are then read with citytwin's
own account, limited to those the token lists.

Each tile plays from the hub that pulls its camera (``HubRoutes``, from ``video.shards``):
the console decides where its operators' tokens are sent, so a twin that anyone may write
to cannot point a wall at another server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twins.client import DittoClient
from twins.kinds import DeviceKind
from video.settings import HubShard

CAMERAS = f'eq(attributes/kind,"{DeviceKind.CAMERA.value}")'


@dataclass(slots=True, frozen=True)
class HubRoutes:
    """Which hub plays a camera: the shard listing its thing id, else its site, else ``default``."""

    default: str
    by_camera: Mapping[str, str] = field(default_factory=dict)
    by_site: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, default: str, shards: Mapping[str, HubShard]) -> HubRoutes:
        by_camera: dict[str, str] = {}
        by_site: dict[str, str] = {}
        for shard in shards.values():
            for pattern in shard.cameras:
                if pattern.endswith(":*"):
                    by_site[pattern.removesuffix(":*")] = shard.url
                else:
                    by_camera[pattern] = shard.url
        return cls(default.rstrip("/"), by_camera, by_site)

    def hub_for(self, thing_id: str) -> str:
        if thing_id in self.by_camera:
            return self.by_camera[thing_id]
        return self.by_site.get(thing_id.split(":", 1)[0], self.default)


@dataclass(slots=True, frozen=True)
class WallCamera:
    """One tile: the camera, its label, the health the hub last wrote to its twin, and the
    hub that plays it."""

    thing_id: str
    label: str
    health: str
    hub: str


@dataclass(slots=True)
class WallSite:
    """The cameras of one site, under the site's (Vietnamese) name."""

    site: str
    name: str
    sector: str
    cameras: list[WallCamera] = field(default_factory=list)


def load_wall(
    client: DittoClient,
    routes: HubRoutes,
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
                routes.hub_for(thing_id),
            )
        )
    ordered = sorted(sites.values(), key=lambda block: (block.sector, block.site))
    for block in ordered:
        block.cameras.sort(key=lambda camera: camera.thing_id)
    return ordered


def camera_ids(sites: list[WallSite]) -> list[str]:
    """Every camera on the wall, in tile order."""
    return [camera.thing_id for block in sites for camera in block.cameras]
