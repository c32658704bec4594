"""Settings of the twin service and of the Ditto client that every component uses."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr


class TwinUser(BaseModel):
    """A user of the twin HTTP API, authenticated with HTTP basic (subject ``nginx:NAME``)."""

    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(description="The user's password for HTTP basic auth.")


class TwinSettings(BaseModel):
    """Where twins live and who may touch them."""

    model_config = ConfigDict(extra="forbid")

    embedded: bool = Field(
        default=True,
        description="Serve the Ditto-compatible twin API from citytwin itself (SQLite in the"
        " state dir). False when a real Eclipse Ditto is used; set `url` to it then.",
    )
    url: AnyHttpUrl | None = Field(
        default=None,
        description="Base URL of Eclipse Ditto (e.g. http://ditto:8080). Empty: the embedded"
        " service on the HTTP app's address.",
    )
    username: str = Field(
        default="citytwin", description="User the citytwin components authenticate as."
    )
    password: SecretStr = Field(
        default=SecretStr(""),
        description="Password of `username`. Empty: generated once into the state dir.",
    )
    users: dict[str, TwinUser] = Field(
        default_factory=dict,
        description="Extra HTTP-basic users of the embedded service (operators, other systems).",
    )
    pre_authenticated_header: bool = Field(
        default=False,
        description="Trust the `x-ditto-pre-authenticated` header (only behind a trusted proxy).",
    )
    max_body_bytes: int = Field(
        default=100_000, gt=0, description="Largest request body accepted (413 above)."
    )
