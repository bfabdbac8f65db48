"""One turn, for every surface: resolve the route, prime the upstream, stream or fold, map errors.

Response headers go out only after the first upstream event, so an upstream that fails before
it says anything becomes a proper HTTP error in the surface's own format; a failure after that
becomes the surface's in-stream error event. A stream whose upstream stays silent for
``keepalive_s`` before its first event is answered at once and kept alive with pings (a failure
then arrives as an in-stream error event); pings also fill long silences mid-stream. The upstream
iterator is always closed (``aclosing``), so a client that disconnects closes the upstream request too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import orjson
from starlette.responses import Response, StreamingResponse

from splitlane.api.pacing import PING, Pacer, finished_within, settle
from splitlane.auth.limits import KeyUsage
from splitlane.core.errors import (
    InternalError,
    InvalidRequest,
    Overloaded,
    PermissionDenied,
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
from splitlane.config import Config
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
    keepalive: bytes  # what a silent stream sends, that the surface's clients ignore

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


Opened = tuple[Target, Event, AsyncGenerator[Event, None], tuple[str, ...], float]


def bounded(config: Config, request: ChatRequest) -> ChatRequest:
    """The request within the gateway's limits: too many messages is refused, max tokens capped."""
    if len(request.messages) > config.max_messages:
        raise InvalidRequest(
            f"messages: {len(request.messages)} messages; this gateway takes at most {config.max_messages}",
            param="messages",
        )
    cap = config.max_tokens_cap
    if cap is not None and (request.max_output_tokens is None or request.max_output_tokens > cap):
        return replace(request, max_output_tokens=cap)
    return request


def permit(usage: KeyUsage, plan: RoutePlan) -> None:
    key = usage.key
    if not key.allows_model(plan.alias):
        raise PermissionDenied(f"key '{key.name}' may not use model '{plan.alias}'", param="model")
    if not key.allows_lane(str(plan.decision.lane)):
        raise PermissionDenied(f"key '{key.name}' may not use the {plan.decision.lane} lane of '{plan.alias}'")


async def run_turn(
    surface: Surface,
    services: Services,
    request: ChatRequest,
    api_key: KeyUsage | None = None,
    on_finish: OnFinish | None = None,
) -> Response:
    telemetry = services.telemetry
    t_recv = telemetry.clock.now()
    try:
        request = bounded(services.config, request)
        plan = services.planner.plan(request)
        if api_key is not None:
            permit(api_key, plan)
    except SplitlaneError as exc:
        telemetry.metrics.error(request.surface, str(exc.kind))
        raise
    observer = telemetry.begin(request, plan.session, t_recv, api_key.key.id if api_key is not None else None)
    finishing = Finishing(telemetry, observer, on_finish, api_key)
    turn = Turn(surface, services, request, plan, finishing)
    keepalive = services.config.keepalive_s if request.stream else 0.0
    opening: asyncio.Task[Opened] | None = None
    try:
        if keepalive > 0:  # the upstream is asked in a task of its own, so that it can outlive a ping
            opening = asyncio.get_running_loop().create_task(open_stream(plan, request, services.planner.cool_down))
            if not await finished_within(opening, keepalive):
                # silent before the first byte for keepalive_s: answer now, ping until the stream opens
                headers = {**SSE_HEADERS, "x-splitlane-lane": str(plan.decision.lane)}
                return StreamingResponse(turn.late(opening), media_type="text/event-stream", headers=headers)
            opened = opening.result()
        else:
            opened = await open_stream(plan, request, services.planner.cool_down)
    except BaseException as exc:
        if opening is not None:
            await discard(opening)
        telemetry.failed(observer, exc)
        raise
    target = turn.routed(opened)
    headers = {"x-splitlane-lane": str(plan.decision.lane), "x-splitlane-upstream": target.label}
    if request.stream:
        body = turn.stream(opened, surface.stream_encoder(request))
        return StreamingResponse(body, media_type="text/event-stream", headers={**SSE_HEADERS, **headers})
    response = await turn.fold(opened)
    await finishing(response)
    return Response(
        orjson.dumps(surface.encode_response(request, response)), media_type="application/json", headers=headers
    )


async def discard(opening: asyncio.Task[Opened]) -> None:
    """Stop opening a stream; close it if it had opened (its client left before it began)."""
    await settle(opening)
    if not opening.cancelled() and opening.exception() is None:
        await opening.result()[2].aclose()


@dataclass(frozen=True, slots=True)
class Finishing:
    """What happens when a turn has finished, before the client sees its end: its stored state
    (a Responses object), its telemetry record, and its tokens charged to the caller's key."""

    telemetry: Recorder
    observer: TurnObserver
    on_finish: OnFinish | None
    api_key: KeyUsage | None = None

    async def __call__(self, response: ChatResponse) -> None:
        if self.api_key is not None:
            self.api_key.charge(response.usage.input_tokens + response.usage.output_tokens)
        if self.on_finish is not None:
            await self.on_finish(response)
        await self.telemetry.finished(self.observer, response)


@dataclass(frozen=True, slots=True)
class Turn:
    """One routed turn's ways to reach the client: folded, streamed, or streamed after pings."""

    surface: Surface
    services: Services
    request: ChatRequest
    plan: RoutePlan
    finishing: Finishing

    def routed(self, opened: Opened) -> Target:
        target, _, _, failed, sent = opened
        telemetry = self.services.telemetry
        route = Route(
            str(self.plan.decision.lane), str(self.plan.decision), target.label, target.replica.url or "", len(failed)
        )
        self.finishing.observer.routed(route, telemetry.clock.at(sent))
        self.services.record(self.plan, target, failed)
        return target

    def pacer(self, opened: Opened, keepalive_s: float) -> Pacer:
        target, _, events, _, sent = opened
        return Pacer(events, target.label, target.idle_timeout_s, target.total_timeout_s, keepalive_s, sent)

    async def fold(self, opened: Opened) -> ChatResponse:
        _, first, events, _, _ = opened
        pacer = self.pacer(opened, 0.0)
        observer = self.finishing.observer
        builder = ResponseBuilder()
        try:
            async with aclosing(events):
                event: Event | None = first
                try:
                    while event is not None:
                        observer.seen(event)
                        builder.feed(event)
                        event = await pacer.next()
                finally:
                    await pacer.aclose()
            return builder.build()
        except BaseException as exc:
            self.finishing.telemetry.failed(observer, exc)
            raise

    async def late(self, opening: asyncio.Task[Opened]) -> AsyncIterator[bytes]:
        """Pings until the upstream's first event (or its failure, as an in-stream error), then the stream."""
        keepalive = self.services.config.keepalive_s
        encoder = self.surface.stream_encoder(self.request)
        streaming = False
        try:
            while True:
                yield self.surface.keepalive
                if await finished_within(opening, keepalive):
                    break
            try:
                opened = opening.result()
            except Exception as exc:
                self.finishing.telemetry.failed(self.finishing.observer, exc)
                yield b"".join(encoder.fail(internal(exc)))
                return
            self.routed(opened)
            streaming = True
            async for chunk in self.stream(opened, encoder):
                yield chunk
        finally:
            if not streaming:
                await discard(opening)
            self.finishing.telemetry.failed(self.finishing.observer, None)

    async def stream(self, opened: Opened, encoder: StreamEncoder) -> AsyncIterator[bytes]:
        _, first, events, _, _ = opened
        finishing = self.finishing
        observer = finishing.observer
        builder = ResponseBuilder()
        pacer = self.pacer(opened, self.services.config.keepalive_s)
        keepalive = self.surface.keepalive
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
                        event = await pacer.next()
                        while event is PING:
                            yield keepalive
                            event = await pacer.next()
                    if builder.finish is None:
                        raise UpstreamProtocolError("upstream stream ended before it finished")
                except Exception as exc:
                    finishing.telemetry.failed(observer, exc)
                    yield b"".join(encoder.fail(internal(exc)))
                finally:
                    await pacer.aclose()
        finally:
            finishing.telemetry.failed(observer, None)  # the client went away mid-stream: cancelled
