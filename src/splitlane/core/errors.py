"""One error hierarchy. Each surface maps it to its own status code and error JSON."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What went wrong, in words every surface has a type for."""

    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    UPSTREAM = "upstream"
    INTERNAL = "internal"


class SplitlaneError(Exception):
    kind: ErrorKind = ErrorKind.INTERNAL
    status: int = 500
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code


class InvalidRequest(SplitlaneError):
    kind = ErrorKind.INVALID_REQUEST
    status = 400


class ContextTooLong(InvalidRequest):
    code = "context_length_exceeded"


class UpgradeRequired(InvalidRequest):
    """A WebSocket asked for where the gateway serves HTTP only (426: Codex falls back at once)."""

    status = 426
    code = "websockets_disabled"


class AuthenticationFailed(SplitlaneError):
    kind = ErrorKind.AUTHENTICATION
    status = 401


class PermissionDenied(SplitlaneError):
    kind = ErrorKind.PERMISSION
    status = 403


class NotFound(SplitlaneError):
    kind = ErrorKind.NOT_FOUND
    status = 404


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, model: str, known: list[str]) -> None:
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(f"model '{model}' is not served here (known models: {listed})", param="model")


class RequestTooLarge(SplitlaneError):
    kind = ErrorKind.REQUEST_TOO_LARGE
    status = 413


class RateLimited(SplitlaneError):
    kind = ErrorKind.RATE_LIMIT
    status = 429

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after_s = retry_after_s


class Overloaded(SplitlaneError):
    kind = ErrorKind.OVERLOADED
    status = 529


class UpstreamError(SplitlaneError):
    """The upstream failed or answered something we cannot use."""

    kind = ErrorKind.UPSTREAM
    status = 502
    code = "upstream_error"


class UpstreamTimeout(UpstreamError):
    kind = ErrorKind.TIMEOUT
    status = 504
    code = "upstream_timeout"


class UpstreamUnavailable(UpstreamError):
    """Could not connect (refused, DNS, TLS)."""

    code = "upstream_unavailable"


class UpstreamProtocolError(UpstreamError):
    code = "upstream_protocol_error"


class InternalError(SplitlaneError):
    pass
