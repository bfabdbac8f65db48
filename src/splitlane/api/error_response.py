"""A refusal as an HTTP response: the surface's error body, its status, ``retry-after`` where known."""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.responses import JSONResponse, Response

from splitlane.core.errors import InternalError, SplitlaneError

Renderer = Callable[[SplitlaneError], tuple[int, dict[str, object]]]
log = logging.getLogger("splitlane.turn")


def internal(error: BaseException) -> SplitlaneError:
    """The error as a client may see it: ours as it is, anything else logged and made generic."""
    if isinstance(error, SplitlaneError):
        return error
    log.exception("unexpected error", exc_info=error)
    return InternalError(f"internal error: {type(error).__name__}")


def error_response(render: Renderer, error: SplitlaneError) -> Response:
    status, body = render(error)
    headers = {}
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers["retry-after"] = str(max(0, round(retry_after)))
    return JSONResponse(body, status_code=status, headers=headers)
