"""How presence is sampled, gated and smoothed (the ``video.presence`` settings section)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PresenceSettings(BaseModel):
    """Sampling, motion gating, detection and hysteresis of presence analytics."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="analyse cameras that have zones")
    sample_fps: float = Field(1.0, gt=0, le=15, description="samples per second per camera")
    queue_samples: int = Field(
        2, ge=1, le=100, description="samples queued per camera; the oldest is dropped"
    )
    motion_width: int = Field(
        160, ge=32, le=1920, description="width of the grey frame motion is measured on"
    )
    motion_fraction: float = Field(
        0.004, gt=0, lt=1, description="share of changed pixels that counts as motion"
    )
    settle_samples: int = Field(
        3,
        ge=0,
        le=100,
        description="samples after the picture moved that are still detected (a person who"
        " appeared makes motion once; a detector miss then must not hide them)",
    )
    recheck_seconds: float = Field(
        20.0,
        gt=0,
        description="while a zone is occupied and nothing moves, detect again this often"
        " (a seated person hardly moves; one who leaves makes motion, seen at once)",
    )
    idle_check_seconds: float = Field(
        60.0, gt=0, description="detect at least this often on a quiet camera"
    )
    detect_width: int = Field(
        640, ge=160, le=1920, description="frames are scaled to this width before detection"
    )
    hog_threshold: float = Field(
        0.6, description="HOG SVM margin a window needs to count as a person"
    )
    hog_scale: float = Field(
        1.2,
        gt=1.0,
        le=1.5,
        description="step between the HOG image pyramid's levels: larger is cheaper (fewer"
        " levels) and misses more people between two sizes",
    )
    enter_samples: int = Field(
        2, ge=1, le=100, description="consecutive positive samples before a zone is entered"
    )
    leave_seconds: float = Field(
        5.0, ge=0, description="seconds a zone must stay empty before it is left"
    )
