"""Domain errors: one base, one class per case, data as well as text.

They say what went wrong in the business's terms; ``gramstack.api.errors``
holds the single table that turns each into an HTTP status and code.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    """The request is malformed: bad JSON, wrong types, unknown fields, bad limits."""


class InvalidCursor(InvalidRequest):
    """A pagination cursor that this server did not hand out."""


class ValidationFailed(DomainError):
    """A well-formed value that is out of range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Unauthorized(DomainError):
    """Missing, unknown or revoked credentials."""


class Forbidden(DomainError):
    """The caller may not act on this object."""


class NotFound(DomainError):
    """An unknown user, media item or comment."""

    def __init__(self, kind: str, ident: str | int | None = None) -> None:
        super().__init__(f"{kind} not found")
        self.kind = kind
        self.ident = ident


class Conflict(DomainError):
    """The request contradicts the current state (e.g. following yourself)."""


class UsernameTaken(Conflict):
    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")
        self.username = username


class TooLarge(DomainError):
    """A body or image over a configured limit."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class UnsupportedMediaType(DomainError):
    """An upload that is not a decodable still JPEG, PNG or WebP image."""


class RateLimited(DomainError):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many requests, slow down")
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A required backend is down and there is no degraded answer."""

    def __init__(self, backend: str) -> None:
        super().__init__(f"{backend} is unavailable")
        self.backend = backend


class DeadlineExceeded(DomainError):
    """The request ran past its deadline."""
