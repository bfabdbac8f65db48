"""What a request of one protocol carries that an upstream of another cannot express: a server
tool (Anthropic ``web_search_20250305``, OpenAI ``web_search``), a block the canonical model keeps
opaque (``document``, ``search_result``, ``server_tool_use``, ...). By the upstream's
``unsupported`` setting it is refused with a 400 that names it, or left out with a warning; an
encoder of the same protocol sends it as it came."""

from __future__ import annotations

import logging

from splitlane.config import UpstreamConfig
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import OpaquePart
from splitlane.core.request import ChatRequest, ServerTool

log = logging.getLogger("splitlane.upstream")


def foreign(request: ChatRequest, surface: str) -> list[OpaquePart | ServerTool]:
    """Everything in ``request`` that only an upstream speaking another surface's API understands."""
    out: list[OpaquePart | ServerTool] = [t for t in request.server_tools if t.surface != surface]
    out += [p for m in request.messages for p in m.parts if isinstance(p, OpaquePart) and p.surface != surface]
    return out


def check(request: ChatRequest, surface: str, config: UpstreamConfig, upstream_kind: str) -> None:
    """Refuse (or, by config, warn about) what this upstream cannot be sent."""
    items = foreign(request, surface)
    if not items:
        return
    first = items[0]
    what = "server tool" if isinstance(first, ServerTool) else "content block"
    named = f"{first.where}.type" if first.where else what
    said = f"{named}: {what} type {first.kind!r} cannot be sent to an upstream of kind '{upstream_kind}'"
    if config.unsupported == "reject":
        param = f"{first.where}.type" if first.where else None
        raise InvalidRequest(f'{said}; set unsupported = "drop" on the upstream to leave it out', param=param)
    log.warning("%s; left out (%d such item(s) in this request)", said, len(items))
