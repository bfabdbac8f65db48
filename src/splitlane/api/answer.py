"""How a turn is answered: a streamed request gets an ``EventStream`` (which opens the upstream
when the server runs it), a whole one is opened and folded at once (``Turn.whole``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from splitlane.api.event_stream import EventStream
from splitlane.api.turn import OnFinish, Surface, prepare
from splitlane.auth.keys import ApiKey
from splitlane.core.request import ChatRequest

if TYPE_CHECKING:
    from splitlane.api.services import Services


async def answer(
    surface: Surface,
    services: Services,
    request: ChatRequest,
    api_key: ApiKey | None = None,
    on_finish: OnFinish | None = None,
) -> Response | EventStream:
    turn = prepare(surface, services, request, api_key, on_finish)
    if request.stream:
        return EventStream(turn, services.config.keepalive_s)
    return await turn.whole()
