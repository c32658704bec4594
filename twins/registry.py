"""The site/device registry: which devices exist, where they stand, what they are.

A YAML file lists sites; a site's id is the namespace of its devices' thing ids::

    sites:
      - id: thaibinh.hcc
        name: Trung tâm Phục vụ hành chính công tỉnh Thái Bình
        sector: public_administration
        devices:
          - {name: counter-07, kind: counter, attributes: {service: land, desk: "07"}}

gives the device ``thaibinh.hcc:counter-07``. Provisioning turns the registry into broker
credentials and ACLs; ingest uses it to tag points with site, sector and kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twins.kinds import DeviceKind, Sector
from twins.thing_id import NAME_PATTERN, NAMESPACE_PATTERN, ThingId
from twins.yaml_source import load_yaml_model

AttributeValue = str | int | float | bool


class DeviceSpec(BaseModel):
    """One device of a site."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=rf"^{NAME_PATTERN}$", max_length=100)]
    kind: DeviceKind
    label: str | None = Field(default=None, description="Human name, e.g. 'Quầy 07'.")
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class SiteSpec(BaseModel):
    """A site: a hospital, a school, the service centre, a citizen-reception room, …"""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=rf"^{NAMESPACE_PATTERN}$", max_length=100)]
    name: str = Field(min_length=1, max_length=200)
    sector: Sector
    district: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    devices: list[DeviceSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_device_names(self) -> SiteSpec:
        seen: set[str] = set()
        for device in self.devices:
            if device.name in seen:
                raise ValueError(f"device name {device.name!r} appears twice in site {self.id}")
            seen.add(device.name)
        return self


class RegistrySpec(BaseModel):
    """The whole registry file."""

    model_config = ConfigDict(extra="forbid")

    sites: list[SiteSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_site_ids(self) -> RegistrySpec:
        seen: set[str] = set()
        for site in self.sites:
            if site.id in seen:
                raise ValueError(f"site id {site.id!r} appears twice")
            seen.add(site.id)
        return self

    def merged_with(self, other: RegistrySpec) -> RegistrySpec:
        """This registry plus ``other``'s sites and devices, for adding without revoking.

        ``other`` wins where both list the same device; a site both list keeps this
        registry's name, sector and place and gains ``other``'s devices.
        """
        sites = {site.id: site for site in self.sites}
        for site in other.sites:
            mine = sites.get(site.id)
            if mine is None:
                sites[site.id] = site
                continue
            devices = {device.name: device for device in mine.devices}
            devices.update((device.name, device) for device in site.devices)
            sites[site.id] = mine.model_copy(update={"devices": list(devices.values())})
        return RegistrySpec(sites=list(sites.values()))


@dataclass(slots=True, frozen=True)
class RegisteredDevice:
    """A device with everything the platform needs to know about it."""

    thing_id: ThingId
    kind: DeviceKind
    site_id: str
    site_name: str
    sector: Sector
    label: str | None = None
    attributes: dict[str, AttributeValue] = field(default_factory=dict)


class Registry:
    """Look-ups over a registry spec."""

    def __init__(self, spec: RegistrySpec) -> None:
        self.spec = spec
        self._devices = {device.thing_id: device for device in _flatten(spec)}

    @classmethod
    def load(cls, path: Path) -> Registry:
        """Read a registry YAML file (``YamlModelError`` names the line and field)."""
        return cls(load_yaml_model(path, RegistrySpec))

    def __iter__(self) -> Iterator[RegisteredDevice]:
        return iter(self._devices.values())

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, thing_id: ThingId) -> RegisteredDevice | None:
        """The device with this thing id, or None when it is not registered."""
        return self._devices.get(thing_id)


def _flatten(spec: RegistrySpec) -> Iterator[RegisteredDevice]:
    for site in spec.sites:
        for device in site.devices:
            yield RegisteredDevice(
                thing_id=ThingId(site.id, device.name),
                kind=device.kind,
                site_id=site.id,
                site_name=site.name,
                sector=site.sector,
                label=device.label,
                attributes=dict(device.attributes),
            )
