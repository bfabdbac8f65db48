"""One turn, for every surface: resolve the route, prime the upstream, stream or fold, map errors.

Response headers go out only after the first upstream event, so an upstream that fails before
it says anything becomes a proper HTTP error in the surface's own format; a failure after that
becomes the surface's in-stream error event. The upstream iterator is always closed
(``aclosing``), so a client that disconnects closes the upstream request too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Protocol

import orjson
from starlette.responses import Response, StreamingResponse

from splitlane.core.errors import InternalError, SplitlaneError, UpstreamProtocolError
from splitlane.core.events import Event, Finish
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse, ResponseBuilder
from splitlane.upstream.base import Upstream

log = logging.getLogger("splitlane.turn")

OnFinish = Callable[[ChatResponse], Awaitable[None]]

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class StreamEncoder(Protocol):
    def feed(self, event: Event) -> list[bytes]: ...

    def fail(self, error: SplitlaneError) -> list[bytes]: ...


class Surface(Protocol):
    name: str

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]: ...

    def stream_encoder(self, request: ChatRequest) -> StreamEncoder: ...

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, object]: ...


def internal(error: BaseException) -> SplitlaneError:
    if isinstance(error, SplitlaneError):
        return error
    log.exception("unexpected error", exc_info=error)
    return InternalError(f"internal error: {type(error).__name__}")


async def run_turn(
    surface: Surface,
    upstream: Upstream,
    upstream_model: str,
    request: ChatRequest,
    on_finish: OnFinish | None = None,
) -> Response:
    events = upstream.stream(request.with_model(upstream_model))
    try:
        first = await anext(events)
    except StopAsyncIteration:
        raise UpstreamProtocolError(f"upstream '{upstream.name}' sent an empty stream") from None
    except BaseException:
        await events.aclose()
        raise
    if request.stream:
        body = _stream(surface, request, first, events, on_finish)
        return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)
    builder = ResponseBuilder()
    async with aclosing(events):
        builder.feed(first)
        async for event in events:
            builder.feed(event)
    response = builder.build()
    if on_finish is not None:
        await on_finish(response)
    return Response(orjson.dumps(surface.encode_response(request, response)), media_type="application/json")


async def _stream(
    surface: Surface,
    request: ChatRequest,
    first: Event,
    events: AsyncGenerator[Event, None],
    on_finish: OnFinish | None,
) -> AsyncIterator[bytes]:
    encoder = surface.stream_encoder(request)
    builder = ResponseBuilder()
    async with aclosing(events):
        try:
            event: Event | None = first
            while event is not None:
                builder.feed(event)
                if isinstance(event, Finish) and on_finish is not None:
                    await on_finish(builder.build())  # stored before the client sees the end
                for chunk in encoder.feed(event):
                    yield chunk
                event = await anext(events, None)
            if builder.finish is None:
                raise UpstreamProtocolError("upstream stream ended before it finished")
        except Exception as exc:
            for chunk in encoder.fail(internal(exc)):
                yield chunk
