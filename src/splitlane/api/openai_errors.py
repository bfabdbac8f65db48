"""The OpenAI error envelope, shared by the Responses and Chat Completions surfaces."""

from __future__ import annotations

from typing import Any

from splitlane.core.errors import ErrorKind, SplitlaneError

TYPES = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "invalid_request_error",
    ErrorKind.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorKind.RATE_LIMIT: "rate_limit_error",
    ErrorKind.OVERLOADED: "server_error",
    ErrorKind.TIMEOUT: "timeout_error",
    ErrorKind.UPSTREAM: "upstream_error",
    ErrorKind.INTERNAL: "server_error",
}


def openai_status(error: SplitlaneError) -> int:
    return 503 if error.kind is ErrorKind.OVERLOADED else error.status  # OpenAI has no 529


def openai_error_body(error: SplitlaneError) -> dict[str, Any]:
    return {
        "message": error.message,
        "type": TYPES[error.kind],
        "param": error.param,
        "code": error.code or (TYPES[error.kind] if error.kind is not ErrorKind.INVALID_REQUEST else None),
    }


def render_openai_error(error: SplitlaneError) -> tuple[int, dict[str, object]]:
    return openai_status(error), {"error": openai_error_body(error)}
