"""GET /v1/models: OpenAI's list shape, or Anthropic's when the request carries anthropic-version;
each alias also says its ``context_window`` and ``max_output_tokens`` where known, and whether its
upstreams run Claude Code's ``tool_search`` (routing/limits.py), which ``splitlane setup`` and
``launch`` read for Claude Code's environment."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from splitlane.api.guard import caller
from splitlane.api.services import Services
from splitlane.config import Config
from splitlane.routing.limits import alias_limits, serves_tool_search

_STARTED = "2026-01-01T00:00:00Z"


async def list_models(request: Request, services: Services) -> Response:
    key = caller(request.scope)
    aliases = [a for a in services.planner.aliases() if key is None or key.allows_model(a)]
    if "anthropic-version" in request.headers:
        data = [
            {"type": "model", "id": a, "display_name": a, "created_at": _STARTED, **_limits(services.config, a)}
            for a in aliases
        ]
        return JSONResponse(
            {
                "data": data,
                "has_more": False,
                "first_id": aliases[0] if aliases else None,
                "last_id": aliases[-1] if aliases else None,
            }
        )
    created = int(time.time())
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"id": a, "object": "model", "created": created, "owned_by": "splitlane", **_limits(services.config, a)}
                for a in aliases
            ],
        }
    )


def _limits(config: Config, alias: str) -> dict[str, int | bool]:
    limits = alias_limits(config, alias)
    known = {"context_window": limits.context_window, "max_output_tokens": limits.max_output_tokens}
    return {**{k: v for k, v in known.items() if v is not None}, "tool_search": serves_tool_search(config, alias)}
