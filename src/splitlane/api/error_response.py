"""A refusal as an HTTP response: the surface's error body, its status, ``retry-after`` where known."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse, Response

from splitlane.core.errors import SplitlaneError

Renderer = Callable[[SplitlaneError], tuple[int, dict[str, object]]]


def error_response(render: Renderer, error: SplitlaneError) -> Response:
    status, body = render(error)
    headers = {}
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers["retry-after"] = str(max(0, round(retry_after)))
    return JSONResponse(body, status_code=status, headers=headers)
