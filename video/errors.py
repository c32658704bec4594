"""Errors of the video package.

VideoError
├── CameraUnknownError      the camera is not one this hub pulls (HTTP 404)
├── OfferError              an SDP offer that cannot be answered (HTTP 400)
├── ViewerLimitError        too many viewers of a camera or in total (HTTP 503)
├── SessionUnknownError     no such WHEP session (HTTP 404)
├── NotAuthenticatedError   no or wrong credentials (HTTP 401)
└── NotAllowedError         the caller may not watch that camera (HTTP 403)
"""

from __future__ import annotations


class VideoError(Exception):
    """Something the video hub or relay cannot do; the message says what and where."""


class CameraUnknownError(VideoError):
    """A camera this hub does not pull."""


class OfferError(VideoError):
    """An SDP offer that is malformed or offers nothing this relay can send."""


class ViewerLimitError(VideoError):
    """A viewer bound is reached; ``retry_after`` is a hint in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SessionUnknownError(VideoError):
    """A WHEP session id that is not (or no longer) open."""


class NotAuthenticatedError(VideoError):
    """No credentials, or credentials nobody has."""


class NotAllowedError(VideoError):
    """Valid credentials of someone the camera's twin policy does not let read it."""
