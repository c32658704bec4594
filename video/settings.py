"""Settings of the camera hub and the WebRTC relay (``video`` section of the settings)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from analytics.presence.settings import PresenceSettings

_THING_ID = re.compile(r"^[a-zA-Z]\w*(?:[.-][a-zA-Z]\w*)*:[A-Za-z0-9_\-.]+$")


class CandidatePolicy(StrEnum):
    """Which local addresses the relay offers viewers as ICE host candidates."""

    LOOPBACK = "loopback"
    """127.0.0.1 only: viewers on the same machine (the embedded, one-machine stack)."""
    HOST = "host"
    """Every interface address, loopback included: viewers elsewhere on the network."""


class RtspTransport(StrEnum):
    """How FFmpeg asks an RTSP camera for its RTP packets."""

    AUTO = "auto"
    UDP = "udp"
    TCP = "tcp"


class AnalyticsDecoding(StrEnum):
    """What the hub decodes of a camera that only analytics watches (no transcoding viewer)."""

    SAMPLED = "sampled"
    """The packets the samples need: a keyframe, and the frames up to a sample due before
    the next keyframe (only keyframes when they come at least once per sample period)."""
    EVERY_FRAME = "every_frame"
    """Every frame, handing on only the samples (for a codec or camera whose keyframes
    cannot be trusted)."""


class DecodingSettings(BaseModel):
    """How the hub decodes for analytics (``video.decoding``; docs/video.md#cost-and-accuracy)."""

    model_config = ConfigDict(extra="forbid")

    analytics: AnalyticsDecoding = Field(
        default=AnalyticsDecoding.SAMPLED,
        description="`sampled`: decode only what the samples need; `every_frame`: decode"
        " every frame and hand on only the samples.",
    )
    threads: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Decoder threads per camera (slice threads). 1: a camera's pictures are"
        " small and the hub has a thread per camera already; FFmpeg's automatic count adds"
        " threads per camera and saves nothing at 320x240.",
    )
    sample_slack: float = Field(
        default=0.25,
        ge=0,
        lt=1,
        description="Share of a sample period a sample may come before it is due (so a"
        " keyframe that arrives a little early still counts).",
    )
    keyframe_wait: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of a sample period a sample may come late when it then falls on"
        " the next keyframe, so the frames before it are not decoded.",
    )


class IceServer(BaseModel):
    """A STUN or TURN server (the fields of WebRTC's ``RTCIceServer``)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, description="stun:/turn: URLs of one server.")
    username: str | None = Field(default=None, description="TURN user name.")
    credential: SecretStr | None = Field(default=None, description="TURN password.")

    @field_validator("urls")
    @classmethod
    def _ice_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"ICE server URL {url!r} must start with stun:, turn: or turns:")
        return value


class HubShard(BaseModel):
    """One hub process of several, as the camera wall needs to know it: where browsers reach
    it and which cameras it pulls."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description="The shard's hub as browsers reach it (its `public_url`), http(s)://…"
    )
    cameras: list[str] = Field(
        min_length=1,
        description="The cameras it pulls: thing ids, or `namespace:*` for every camera of a"
        " site (cameras added there later included).",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"shard URL {value!r} must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("cameras")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            namespace = pattern.removesuffix(":*")
            if not (_THING_ID.match(pattern) or _THING_ID.match(f"{namespace}:x")):
                raise ValueError(
                    f"camera {pattern!r} is neither a thing id like 'thaibinh.hcc:cam-01' nor"
                    " a site like 'thaibinh.hcc:*'"
                )
        return value


class VideoSettings(BaseModel):
    """The camera hub (`citytwin video`): which cameras it pulls, who may watch, limits."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Address of the hub's HTTP (WHEP) API.")
    port: int = Field(default=8090, ge=1, le=65535, description="Port of the hub's HTTP API.")
    cameras: list[str] = Field(
        default_factory=list,
        description="Thing ids of the cameras this hub pulls (a shard). Empty: every camera"
        " of the registry.",
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="Stream URL per camera thing id, over what the twin says (`stream.url`,"
        " else the URL the camera reported in its state): rtsp://…, a file, any URL FFmpeg"
        " opens.",
    )
    max_viewers_per_camera: int = Field(
        default=20, ge=1, description="Viewers of one camera at once (503 above)."
    )
    max_viewers: int = Field(
        default=100, ge=1, description="Viewers of every camera of this hub at once (503 above)."
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="`Retry-After` given with a 503 when a bound is reached."
    )
    tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Bearer tokens of WHEP players that are not the console, by name; each"
        " may watch every camera of the hub. Operators log in with their twin user instead.",
    )
    token_key: SecretStr = Field(
        default=SecretStr(""),
        description="Key of the camera wall's viewer tokens, signed by the console and"
        " checked by the hub. Empty: generated once into the state dir"
        " (secrets/video-token-key) and read by both.",
    )
    public_url: str | None = Field(
        default=None,
        description="The hub's URL as browsers reach it (the camera wall's WHEP and camera"
        " list). Default: http://host:port.",
    )
    shards: dict[str, HubShard] = Field(
        default_factory=dict,
        description="Hubs other than this one, by name, and the cameras each pulls: the camera"
        " wall plays a camera from the shard that lists it (its thing id, else its"
        " `namespace:*`), any other from `public_url`.",
    )
    wall_token_seconds: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="Lifetime of the viewer token the camera wall gets for a logged-in"
        " operator; the page fetches a new one before it expires.",
    )
    kiosk_token_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 14,
        description="Lifetime of a kiosk link (`/wall?site=…&token=…`) for wall screens and"
        " Grafana panels; past it the screen shows that the link expired.",
    )
    ice_servers: list[IceServer] = Field(
        default_factory=list,
        description="STUN/TURN servers for the relay's peer connections. None by default, so"
        " nothing is asked of any outside server.",
    )
    candidates: CandidatePolicy = Field(
        default=CandidatePolicy.LOOPBACK,
        description="ICE host candidates the relay offers: `loopback` (viewers on this"
        " machine) or `host` (every interface).",
    )
    rtsp_transport: RtspTransport = Field(
        default=RtspTransport.AUTO,
        description="RTP transport asked of RTSP cameras (auto: UDP, then TCP).",
    )
    open_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest a camera may take to open its stream."
    )
    read_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Silence after which a stream is down and is reopened.",
    )
    reconnect_initial_seconds: float = Field(
        default=0.5, gt=0, le=60, description="First wait before reopening a failed stream."
    )
    reconnect_max_seconds: float = Field(
        default=10.0, gt=0, le=600, description="Longest wait between reopening attempts."
    )
    health_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often stream health is measured; a change of up/down reaches the"
        " twin at the next tick.",
    )
    twin_refresh_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often the figures (fps, bitrate, last frame) are written to the twin"
        " while up/down stays the same.",
    )
    gop_max_packets: int = Field(
        default=600,
        ge=1,
        description="Bound of the cached group of pictures; a camera whose keyframes are"
        " further apart starts new viewers on its next keyframe instead.",
    )
    viewer_queue_packets: int = Field(
        default=120,
        ge=1,
        description="Packets queued for one viewer; a viewer that falls further behind skips"
        " to the next keyframe.",
    )
    offer_max_bytes: int = Field(
        default=65_536, ge=1024, description="Largest SDP offer accepted (413 above)."
    )
    connect_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="A viewer whose ICE/DTLS has not connected after this is closed.",
    )
    decoding: DecodingSettings = Field(
        default_factory=DecodingSettings,
        description="How pictures are decoded for analytics (docs/video.md#cost-and-accuracy).",
    )
    presence: PresenceSettings = Field(
        default_factory=PresenceSettings,
        description="Presence analytics of the cameras that have zones (docs/video.md#presence).",
    )

    @field_validator("cameras")
    @classmethod
    def _camera_ids(cls, value: list[str]) -> list[str]:
        for thing in value:
            if not _THING_ID.match(thing):
                raise ValueError(f"camera {thing!r} is not a thing id like 'thaibinh.hcc:cam-01'")
        return value

    @field_validator("sources")
    @classmethod
    def _source_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for thing, url in value.items():
            if not _THING_ID.match(thing):
                raise ValueError(f"sources: {thing!r} is not a thing id like 'thaibinh.hcc:cam-01'")
            if not url.strip():
                raise ValueError(f"sources: the URL of {thing!r} is empty")
        return value

    @field_validator("shards")
    @classmethod
    def _one_shard_per_camera(cls, value: dict[str, HubShard]) -> dict[str, HubShard]:
        owner: dict[str, str] = {}
        for name, shard in value.items():
            for pattern in shard.cameras:
                if pattern in owner:
                    raise ValueError(
                        f"shards: {pattern!r} is listed by both {owner[pattern]!r} and {name!r}"
                    )
                owner[pattern] = name
        return value

    @model_validator(mode="after")
    def _bounds_agree(self) -> VideoSettings:
        if self.max_viewers_per_camera > self.max_viewers:
            raise ValueError(
                f"max_viewers_per_camera ({self.max_viewers_per_camera}) exceeds max_viewers"
                f" ({self.max_viewers}); lower it or raise max_viewers"
            )
        if self.reconnect_initial_seconds > self.reconnect_max_seconds:
            raise ValueError("reconnect_initial_seconds must not exceed reconnect_max_seconds")
        return self
