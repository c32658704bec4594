"""The open-data section of the settings (``open_data``): quotas, keys, catalogue facts."""

from __future__ import annotations

from limits import parse
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

from twins.settings import AccountName

DEFAULT_LICENCE = "https://creativecommons.org/licenses/by/4.0/"


def _check_rate(value: str) -> str:
    try:
        parse(value)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a rate such as '60/minute' or '10 per second' ({exc})"
        ) from None
    return value


class OpenApiKey(BaseModel):
    """An API key of an outside system, with the quota it buys."""

    model_config = ConfigDict(extra="forbid")

    key: SecretStr = Field(
        description="The secret sent as the `X-API-Key` header (16 characters or more)."
    )
    rate: str = Field(
        default="600/minute",
        description="Requests this key may make, as `limits` writes it ('600/minute').",
    )

    @field_validator("key")
    @classmethod
    def _long_enough(cls, key: SecretStr) -> SecretStr:
        if len(key.get_secret_value()) < 16:
            raise ValueError("an open-data API key needs 16 characters or more")
        return key

    @field_validator("rate")
    @classmethod
    def _rate(cls, rate: str) -> str:
        return _check_rate(rate)


class OpenDataSettings(BaseModel):
    """The public, read-only API: NGSI-LD sensors, KPIs as open data, their catalogue."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Serve /ngsi-ld/v1/… and /open/….")
    anonymous_rate: str = Field(
        default="60/minute",
        description="Requests a caller without a key may make, per client address.",
    )
    api_keys: dict[AccountName, OpenApiKey] = Field(
        default_factory=dict, description="Keys of outside systems by name, each with its quota."
    )
    cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long the sensors read from the twins are reused: public traffic"
        " costs the twin service one search per this interval at most (0: every request).",
    )
    public_url: AnyHttpUrl | None = Field(
        default=None,
        description="The address outside systems use (catalogue links, the @context's URL);"
        " empty: the address of each request.",
    )
    publisher: str = Field(
        default="Sở Thông tin và Truyền thông tỉnh Thái Bình",
        min_length=1,
        description="Who publishes the data (the catalogue's dct:publisher).",
    )
    licence: AnyHttpUrl = Field(
        default=AnyHttpUrl(DEFAULT_LICENCE),
        description="The licence of every data set (CC BY 4.0 by default).",
    )

    min_counters_per_site: int = Field(
        default=3,
        ge=1,
        le=100,
        description="A site's service KPIs are published only when it has this many counters"
        " or more: at a one-desk reception room a 'site' figure is one officer's work.",
    )

    @field_validator("anonymous_rate")
    @classmethod
    def _rate(cls, rate: str) -> str:
        return _check_rate(rate)

    @field_validator("api_keys")
    @classmethod
    def _keys_differ(cls, keys: dict[str, OpenApiKey]) -> dict[str, OpenApiKey]:
        seen: dict[str, str] = {}
        for name, key in keys.items():
            secret = key.key.get_secret_value()
            if secret in seen:
                raise ValueError(f"{name!r} has the same key as {seen[secret]!r}")
            seen[secret] = name
        return keys
