"""One turn, for every surface: resolve the route, prime the upstream, stream or fold, map errors.

Response headers go out only after the first upstream event, so an upstream that fails before
it says anything becomes a proper HTTP error in the surface's own format; a failure after that
becomes the surface's in-stream error event. The upstream iterator is always closed
(``aclosing``), so a client that disconnects closes the upstream request too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import orjson
from starlette.responses import Response, StreamingResponse

from splitlane.core.errors import (
    InternalError,
    Overloaded,
    RateLimited,
    SplitlaneError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from splitlane.core.events import Event, Finish
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse, ResponseBuilder

if TYPE_CHECKING:
    from splitlane.api.services import Services
from splitlane.routing.planner import RoutePlan, Target
from splitlane.telemetry.observe import Route, TurnObserver
from splitlane.telemetry.recorder import Recorder

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


# Failures worth trying the next target for; the client's own mistakes (4xx) are not.
RETRYABLE = (UpstreamError, RateLimited, Overloaded)


async def open_stream(
    plan: RoutePlan, request: ChatRequest, on_cooldown: Callable[[Target, float], None]
) -> tuple[Target, Event, AsyncGenerator[Event, None], tuple[str, ...], float]:
    """The first target that produces a first event, with that event, the rest of its stream, the
    routes that failed before it and when (``time.monotonic()``) its request was sent.

    Fallbacks happen only here, before anything has reached the client.
    """
    failed: list[str] = []
    last: SplitlaneError | None = None
    for target in plan.targets:
        sent = time.monotonic()
        events = target.replica.upstream.stream(request.with_model(target.model))
        try:
            async with asyncio.timeout(target.first_byte_timeout_s):
                first = await anext(events)
        except StopAsyncIteration:
            last = UpstreamProtocolError(f"upstream '{target.upstream_name}' sent an empty stream")
        except TimeoutError:
            last = UpstreamTimeout(
                f"upstream '{target.upstream_name}' sent nothing within {target.first_byte_timeout_s} s"
            )
        except RETRYABLE as exc:
            last = exc
            if isinstance(exc, RateLimited) and exc.retry_after_s:
                on_cooldown(target, exc.retry_after_s)
        except BaseException:
            await events.aclose()
            raise
        else:
            return target, first, events, tuple(failed), sent
        await events.aclose()
        failed.append(f"{target.label}: {last.message}")
        log.warning(
            "route %s failed before the first byte (%s); %s",
            target.label,
            last.message,
            "falling back" if len(failed) < len(plan.targets) else "no fallback left",
        )
    assert last is not None
    raise last


async def run_turn(
    surface: Surface, services: Services, request: ChatRequest, on_finish: OnFinish | None = None
) -> Response:
    telemetry = services.telemetry
    t_recv = telemetry.clock.now()
    try:
        plan = services.planner.plan(request)
    except SplitlaneError as exc:
        telemetry.metrics.error(request.surface, str(exc.kind))
        raise
    observer = telemetry.begin(request, plan.session, t_recv)
    try:
        target, first, events, failed, sent = await open_stream(plan, request, services.planner.cool_down)
    except BaseException as exc:
        telemetry.failed(observer, exc)
        raise
    route = Route(str(plan.decision.lane), str(plan.decision), target.label, target.replica.url or "", len(failed))
    observer.routed(route, telemetry.clock.at(sent))
    services.record(plan, target, failed)
    headers = {"x-splitlane-lane": str(plan.decision.lane), "x-splitlane-upstream": target.label}
    if request.stream:
        body = _stream(surface, request, first, events, Finishing(telemetry, observer, on_finish))
        return StreamingResponse(body, media_type="text/event-stream", headers={**SSE_HEADERS, **headers})
    builder = ResponseBuilder()
    try:
        async with aclosing(events):
            event: Event | None = first
            while event is not None:
                observer.seen(event)
                builder.feed(event)
                event = await anext(events, None)
        response = builder.build()
    except BaseException as exc:
        telemetry.failed(observer, exc)
        raise
    await Finishing(telemetry, observer, on_finish)(response)
    return Response(
        orjson.dumps(surface.encode_response(request, response)), media_type="application/json", headers=headers
    )


@dataclass(frozen=True, slots=True)
class Finishing:
    """What happens when a turn has finished, before the client sees its end: its stored state
    (a Responses object) and its telemetry record."""

    telemetry: Recorder
    observer: TurnObserver
    on_finish: OnFinish | None

    async def __call__(self, response: ChatResponse) -> None:
        if self.on_finish is not None:
            await self.on_finish(response)
        await self.telemetry.finished(self.observer, response)


async def _stream(
    surface: Surface, request: ChatRequest, first: Event, events: AsyncGenerator[Event, None], finishing: Finishing
) -> AsyncIterator[bytes]:
    encoder = surface.stream_encoder(request)
    builder = ResponseBuilder()
    observer = finishing.observer
    try:
        async with aclosing(events):
            try:
                event: Event | None = first
                while event is not None:
                    observer.seen(event)
                    builder.feed(event)
                    if isinstance(event, Finish):
                        await finishing(builder.build())
                    chunks = encoder.feed(event)
                    if chunks:  # one write for all the SSE events of one canonical event
                        yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
                    event = await anext(events, None)
                if builder.finish is None:
                    raise UpstreamProtocolError("upstream stream ended before it finished")
            except Exception as exc:
                finishing.telemetry.failed(observer, exc)
                yield b"".join(encoder.fail(internal(exc)))
    finally:
        finishing.telemetry.failed(observer, None)  # the client went away mid-stream: cancelled
