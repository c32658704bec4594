"""Settings of the room calendars: the CalDAV server and how it is followed."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, model_validator


class CalendarSettings(BaseModel):
    """The e-office calendar the meeting rooms' bookings come from (CalDAV, RFC 4791).

    Without ``url`` the embedded stack runs Radicale on loopback with generated
    credentials; with it Radicale is not started and the server at ``url`` is followed.
    """

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl | None = Field(
        default=None,
        description="Base URL of an external CalDAV server's calendar home, e.g."
        " https://eoffice.example.vn/caldav/citytwin/ (empty: run the embedded Radicale).",
    )
    username: str = Field(
        default="citytwin", min_length=1, description="CalDAV user the rooms' calendars belong to."
    )
    password: SecretStr = Field(
        default=SecretStr(""),
        description="CalDAV password (empty: read from `password_file`, or for the embedded"
        " Radicale generated once into the state dir, secrets/calendar-password).",
    )
    password_file: Path | None = Field(
        default=None, description="A file holding the CalDAV password (first line)."
    )
    port: int = Field(
        default=5232, ge=1, le=65535, description="Loopback port of the embedded Radicale."
    )
    poll_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="How often each room's calendar is polled."
    )
    window_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="Bookings are synced from today − N days to today + N days (recurring"
        " events expanded over that window).",
    )
    create_calendars: bool = Field(
        default=True,
        description="Create a missing room calendar (MKCALENDAR); off for an external server"
        " whose calendars are managed there.",
    )
    timeout: int = Field(default=10, gt=0, le=120, description="CalDAV request timeout, s.")

    @model_validator(mode="after")
    def _one_password_source(self) -> CalendarSettings:
        if self.password.get_secret_value() and self.password_file is not None:
            raise ValueError("give either password or password_file, not both")
        return self

    @property
    def embedded(self) -> bool:
        """True when citytwin runs the CalDAV server itself (no external `url`)."""
        return self.url is None

    def base_url(self) -> str:
        """Where the rooms' calendars live: ``{base}/{calendar}/``."""
        if self.url is not None:
            return str(self.url).rstrip("/") + "/"
        return f"http://127.0.0.1:{self.port}/{self.username}/"
