"""One turn, for every surface: resolve the route, open the upstream (with fallbacks), fold or
stream it, settle its end. Which of fold and stream a request gets is ``api/answer.py``'s choice.

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
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from starlette.responses import Response

from splitlane.api.clock import StreamClock
from splitlane.api.error_response import internal
from splitlane.api.pacing import Pacer
from splitlane.api.relay import WireFold
from splitlane.auth.keys import ApiKey
from splitlane.auth.limits import Limits
from splitlane.core.errors import (
    InvalidRequest,
    Overloaded,
    PermissionDenied,
    RateLimited,
    SplitlaneError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from splitlane.core.events import Event, Relay
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse, ResponseBuilder

if TYPE_CHECKING:
    from splitlane.api.services import Services
from splitlane.config import Config
from splitlane.routing.load import LoadBoard
from splitlane.routing.planner import Planner, RoutePlan, Target
from splitlane.telemetry.observe import Route, TurnObserver
from splitlane.telemetry.recorder import Recorder

log = logging.getLogger("splitlane.turn")

OnFinish = Callable[[ChatResponse], Awaitable[None]]


class StreamEncoder(Protocol):
    def feed(self, event: Event) -> list[bytes]: ...

    def fail(self, error: SplitlaneError) -> list[bytes]: ...


class Surface(Protocol):
    name: str
    keepalive: bytes  # what a silent stream sends, that the surface's clients ignore

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]: ...

    def stream_encoder(self, request: ChatRequest) -> StreamEncoder: ...

    def relay_encoder(self, request: ChatRequest) -> StreamEncoder:
        """The encoder of a same-protocol hop: the upstream's frames, the surface's own errors."""
        ...

    def wire_fold(self, streaming: bool) -> WireFold | None:
        """A fold of the relayed events into the surface's response object: always for a whole
        turn; for a streamed one only where the surface keeps the object (Responses' store)."""
        ...

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, Any]: ...


# Failures worth trying the next target for; the client's own mistakes (4xx) are not.
RETRYABLE = (UpstreamError, RateLimited, Overloaded)


@dataclass(frozen=True, slots=True)
class Opened:
    """A turn's upstream stream, opened: the target that answered, its first event, the rest of
    its events, the routes that failed before it, when (``time.monotonic()``) its request was
    sent, and whether its events are relayed as they came (a same-protocol hop)."""

    target: Target
    first: Event
    events: AsyncGenerator[Event, None]
    failed: tuple[str, ...]
    sent: float
    relayed: bool


async def open_stream(plan: RoutePlan, request: ChatRequest, planner: Planner) -> Opened:
    """The first target that produces a first event. Fallbacks happen only here, before anything
    has reached the client: the upstream's other replicas (in its policy's order), then the
    model's fallbacks."""
    failed: list[str] = []
    last: SplitlaneError | None = None
    for target in plan.targets:
        sent = time.monotonic()
        upstream = target.replica.upstream
        routed = request.with_model(target.model)
        relayed = upstream.relays(routed)
        events = upstream.stream(routed)
        if target.pick is not None:  # one of several replicas: its load is counted while it streams
            events = in_flight(events, planner.balancer.board, target.replica.url)
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
                planner.cool_down(target, exc.retry_after_s)
            elif isinstance(exc, UpstreamUnavailable):
                planner.unreachable(target)
        except BaseException:
            await events.aclose()
            raise
        else:
            planner.answered(target)
            return Opened(target, first, events, tuple(failed), sent, relayed)
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


async def in_flight(events: AsyncGenerator[Event, None], board: LoadBoard, replica: str) -> AsyncGenerator[Event, None]:
    """The events, with the replica counted as serving one more turn until they end or are closed."""
    board.started(replica)
    try:
        async for event in events:
            yield event
    finally:
        board.ended(replica)
        await events.aclose()


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


def permit(key: ApiKey, plan: RoutePlan) -> None:
    if not key.allows_model(plan.alias):
        raise PermissionDenied(f"key '{key.name}' may not use model '{plan.alias}'", param="model")
    if not key.allows_lane(str(plan.decision.lane)):
        raise PermissionDenied(f"key '{key.name}' may not use the {plan.decision.lane} lane of '{plan.alias}'")


def prepare(
    surface: Surface,
    services: Services,
    request: ChatRequest,
    api_key: ApiKey | None = None,
    on_finish: OnFinish | None = None,
) -> Turn:
    """The turn, routed (limits, plan, the key's permissions) and its telemetry begun; nothing
    sent upstream yet. A refusal raises for the surface to render."""
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
    request = replace(request, session=plan.session.key)
    observer = telemetry.begin(request, plan.session, t_recv, api_key.id if api_key is not None else None)
    return Turn(surface, services, request, plan, Finishing(telemetry, observer, on_finish, api_key, services.limits))


@dataclass(frozen=True, slots=True)
class Finishing:
    """What happens when a turn has finished, before the client sees its end: its stored state
    (a Responses object), its telemetry record, and its tokens and cost charged to the caller's key."""

    telemetry: Recorder
    observer: TurnObserver
    on_finish: OnFinish | None
    api_key: ApiKey | None = None
    limits: Limits | None = None

    async def __call__(self, response: ChatResponse) -> None:
        if self.on_finish is not None:
            await self.on_finish(response)
        record = await self.telemetry.finished(self.observer, response)
        if self.api_key is not None and self.limits is not None:
            await self.limits.charge(
                self.api_key, response.usage.input_tokens + response.usage.output_tokens, record.cost_usd
            )


@dataclass(frozen=True, slots=True)
class Turn:
    """One routed turn: its upstream opened (with fallbacks), then folded or streamed."""

    surface: Surface
    services: Services
    request: ChatRequest
    plan: RoutePlan
    finishing: Finishing

    async def open(self) -> Opened:
        return await open_stream(self.plan, self.request, self.services.planner)

    def failed(self, error: BaseException) -> SplitlaneError:
        """Record the turn as failed; the error as the client should see it."""
        self.finishing.telemetry.failed(self.finishing.observer, error)
        return internal(error)

    def abandoned(self) -> None:
        """Record the turn as cancelled, unless it has already ended (its client left)."""
        self.finishing.telemetry.failed(self.finishing.observer, None)

    def routed(self, opened: Opened) -> Target:
        target = opened.target
        telemetry = self.services.telemetry
        route = Route(
            str(self.plan.decision.lane),
            str(self.plan.decision),
            target.label,
            target.replica.url or "",
            len(opened.failed),
            *((pick.policy, pick.score, pick.reason) if (pick := target.pick) is not None else ()),
        )
        self.finishing.observer.routed(route, telemetry.clock.at(opened.sent))
        self.services.record(self.plan, target, opened.failed)
        return target

    def encoder(self, opened: Opened) -> StreamEncoder:
        request = self.request
        return self.surface.relay_encoder(request) if opened.relayed else self.surface.stream_encoder(request)

    @staticmethod
    def pacer(opened: Opened, clock: StreamClock | None = None) -> Pacer:
        target = opened.target
        return Pacer(opened.events, target.label, target.idle_timeout_s, target.total_timeout_s, opened.sent, clock)

    async def fold(self, opened: Opened) -> ChatResponse:
        pacer = self.pacer(opened)
        observer = self.finishing.observer
        builder = ResponseBuilder()
        fold = self.surface.wire_fold(streaming=False) if opened.relayed else None
        try:
            async with aclosing(opened.events):
                event: Event | None = opened.first
                try:
                    while event is not None:
                        observer.seen(event)
                        builder.feed(event)
                        if fold is not None and isinstance(event, Relay):
                            fold.feed(event.data)
                        event = await pacer.next()
                finally:
                    pacer.close()
            return _response(builder, fold)
        except BaseException as exc:
            self.finishing.telemetry.failed(observer, exc)
            raise

    async def whole(self) -> Response:
        """A non-streamed turn: opened, folded, settled; its failures raise for the surface to render."""
        try:
            opened = await self.open()
        except BaseException as exc:
            self.finishing.telemetry.failed(self.finishing.observer, exc)
            raise
        target = self.routed(opened)
        response = await self.fold(opened)
        await self.finishing(response)
        headers = {"x-splitlane-lane": str(self.plan.decision.lane), "x-splitlane-upstream": target.label}
        body = response.wire if response.wire is not None else self.surface.encode_response(self.request, response)
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)

    async def stream(
        self, opened: Opened, encoder: StreamEncoder, clock: StreamClock | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The turn's SSE chunks; a failure becomes the surface's in-stream error event. ``clock``:
        the response's, whose timer then runs the upstream's timeouts beside its keepalives.

        The turn's end (its record, stored state, key charge) is settled before the client sees
        its last event: at ``Finish``, or on a relayed stream at the frame that follows it (the
        upstream's terminal event, which a stored Responses object is folded from)."""
        finishing = self.finishing
        observer = finishing.observer
        builder = ResponseBuilder()
        pacer = self.pacer(opened, clock)
        fold = self.surface.wire_fold(streaming=True) if opened.relayed else None
        settled = False
        try:
            async with aclosing(opened.events):
                try:
                    event: Event | None = opened.first
                    while event is not None:
                        observer.seen(event)
                        builder.feed(event)
                        if fold is not None and isinstance(event, Relay):
                            fold.feed(event.data)
                        if (
                            builder.finish is not None
                            and not settled
                            and (not opened.relayed or isinstance(event, Relay))
                        ):
                            settled = True
                            await finishing(_response(builder, fold))
                        chunks = encoder.feed(event)
                        if chunks:  # one write for all the SSE events of one canonical event
                            yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
                        event = await pacer.next()
                    if builder.finish is None:
                        raise UpstreamProtocolError("upstream stream ended before it finished")
                    if not settled:
                        settled = True
                        await finishing(_response(builder, fold))
                except Exception as exc:
                    finishing.telemetry.failed(observer, exc)
                    yield b"".join(encoder.fail(internal(exc)))
                finally:
                    pacer.close()
        finally:
            self.abandoned()


def _response(builder: ResponseBuilder, fold: WireFold | None) -> ChatResponse:
    response = builder.build()
    return response if fold is None else replace(response, wire=fold.result())
