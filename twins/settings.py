"""Settings of the twin service and of the Ditto client that every component uses."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def _check_account_name(value: str) -> str:
    if not ACCOUNT_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an account name: use 1 to 64 letters, digits, '.', '_', '@'"
            " or '-', starting with a letter or digit (':' and spaces separate name from"
            " password in HTTP basic and in Mosquitto's password file)"
        )
    return value


AccountName = Annotated[str, AfterValidator(_check_account_name)]


class TwinRole(StrEnum):
    """What a user of the twin API is to citytwin (see docs/twins.md, "Roles").

    Policies still decide, per thing, what anyone may read and write; roles add what a
    policy cannot say: who may create things and policies in the namespaces provisioning
    owns, and what provisioning writes into device policies.
    """

    VIEWER = "viewer"
    """Reads device twins."""
    OPERATOR = "operator"
    """Reads device twins and writes their ``desiredProperties``."""
    ADMIN = "admin"
    """Also creates things and policies in provisioned namespaces."""


class TwinUser(BaseModel):
    """A user of the twin HTTP API, authenticated with HTTP basic (subject ``nginx:NAME``)."""

    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(description="The user's password for HTTP basic auth.")
    role: TwinRole = Field(
        default=TwinRole.VIEWER,
        description="viewer (reads device twins), operator (also writes their"
        " desiredProperties) or admin (also creates things and policies in provisioned"
        " namespaces). Each twin's policy still decides what the user may read and write.",
    )


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
    username: AccountName = Field(
        default="citytwin",
        description="User the citytwin components authenticate as: an admin, still checked"
        " against each twin's policy like every other user.",
    )
    password: SecretStr = Field(
        default=SecretStr(""),
        description="Password of `username`. Empty: generated once into the state dir.",
    )
    users: dict[AccountName, TwinUser] = Field(
        default_factory=dict,
        description="Extra HTTP-basic users of the embedded service (operators, other systems).",
    )
    pre_authenticated_header: bool = Field(
        default=False,
        description="Ditto's `x-ditto-pre-authenticated` header: the embedded service trusts"
        " it (only behind a trusted proxy); with a real Ditto (`embedded: false`) citytwin's"
        " components send it instead of HTTP basic (gateway with ENABLE_PRE_AUTHENTICATION"
        " on a private network).",
    )
    max_body_bytes: int = Field(
        default=100_000, gt=0, description="Largest request body accepted (413 above)."
    )
    indexed_paths: list[str] = Field(
        default_factory=lambda: [
            "attributes/site",
            "attributes/kind",
            "attributes/sector",
            "features/queue/properties/waiting",
            "features/connectivity/properties/online",
        ],
        description="JSON paths of things the embedded service indexes, so searches that"
        " compare them (eq(attributes/site,…)) read only the matching rows.",
    )
    default_namespace: str = Field(
        default="citytwin",
        pattern=r"^[a-zA-Z]\w*(?:[.-][a-zA-Z]\w*)*$",
        description="Namespace of things created by POST /api/2/things without one.",
    )
    sse_queue_size: int = Field(
        default=1000,
        ge=10,
        description="Changes a change-stream subscriber may lag behind before its stream is"
        " closed (it reconnects and reads the current state).",
    )
    sse_heartbeat_seconds: float = Field(
        default=25.0, gt=0, description="Idle time after which a change stream sends a comment."
    )
    timeout: float = Field(
        default=10.0, gt=0, description="Seconds the Ditto client waits for an answer."
    )

    @model_validator(mode="after")
    def _users_do_not_shadow_service(self) -> TwinSettings:
        if self.username in self.users:
            raise ValueError(
                f"users: {self.username!r} is the citytwin service account (twins.username);"
                " give that user another name"
            )
        return self
