"""Watching one turn: the same canonical events the client receives, stamped on the gateway clock.

``t_first`` is the first content-bearing event — text, reasoning, or a tool call (a tool-call-only
turn has a TTFT too); ``t_last`` the last event.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from splitlane.core.events import (
    BlockKind,
    BlockStart,
    Event,
    Finish,
    ReasoningDelta,
    TextDelta,
    ToolArgsDelta,
    UsageUpdate,
)
from splitlane.core.request import ChatRequest
from splitlane.core.texts import part_texts
from splitlane.core.usage import Usage
from splitlane.sessions.client import client_name
from splitlane.sessions.identify import SessionId
from splitlane.telemetry.records import Clock, TurnRecord


@dataclass(frozen=True, slots=True)
class Route:
    """Where the turn went, as the planner decided."""

    lane: str
    lane_reason: str
    upstream: str
    replica: str
    fallbacks: int
    replica_policy: str | None = None  # among several replicas: how this one was chosen, its score, why
    replica_score: float | None = None
    replica_reason: str | None = None


def prompt_digest(request: ChatRequest) -> tuple[str, int]:
    """A hash and a size (characters) of the prompt: what telemetry keeps instead of content."""
    digest = hashlib.blake2b(digest_size=12)
    chars = 0
    for message in request.messages:
        digest.update(str(message.role).encode())
        for text in part_texts(message):
            chars += len(text)
            digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest(), chars


def _content_bearing(event: Event) -> bool:
    match event:
        case TextDelta() | ReasoningDelta():
            return bool(event.text)
        case ToolArgsDelta():
            return True
        case BlockStart():
            return event.kind is BlockKind.TOOL_CALL
    return False


class TurnObserver:
    def __init__(
        self,
        clock: Clock,
        request: ChatRequest,
        session: SessionId,
        t_recv: float,
        gap_before_s: float | None,
        api_key: str | None = None,
    ) -> None:
        self.clock = clock
        self.request = request
        self.session = session
        self.gap_before_s = gap_before_s
        self.api_key = api_key
        self.id = uuid.uuid4().hex
        self.t_recv = t_recv
        self.t_up: float | None = None
        self.t_first: float | None = None
        self.t_last = self.t_recv
        self.route = Route("", "", "", "", 0)
        self.usage = Usage()
        self.tool_calls = 0
        self.finish: Finish | None = None

    def routed(self, route: Route, t_up: float) -> None:
        self.route = route
        self.t_up = t_up

    def seen(self, event: Event) -> None:
        now = self.clock.now()
        if self.t_first is None and _content_bearing(event):
            self.t_first = now
        self.t_last = now
        match event:
            case BlockStart(kind=BlockKind.TOOL_CALL):
                self.tool_calls += 1
            case UsageUpdate():
                self.usage = event.usage
            case Finish():
                self.finish = event
                self.usage = event.usage

    def record(self, status: str = "ok", error: str | None = None) -> TurnRecord:
        if status != "ok":
            self.t_last = self.clock.now()
        digest, chars = prompt_digest(self.request)
        engine = self.finish.engine if self.finish is not None else None
        return TurnRecord(
            id=self.id,
            session=self.session.key,
            session_source=self.session.source,
            client=client_name(self.request.headers),
            surface=self.request.surface,
            model=self.request.model,
            lane=self.route.lane,
            lane_reason=self.route.lane_reason[:300],
            upstream=self.route.upstream,
            replica=self.route.replica,
            fallbacks=self.route.fallbacks,
            replica_policy=self.route.replica_policy,
            replica_score=self.route.replica_score,
            replica_reason=self.route.replica_reason[:300] if self.route.replica_reason else None,
            stream=self.request.stream,
            status=status,
            error=None if error is None else error[:500],
            stop_reason=None if self.finish is None else str(self.finish.stop_reason),
            t_recv=self.t_recv,
            t_up=self.t_up,
            t_first=self.t_first,
            t_last=self.t_last,
            gap_before_s=self.gap_before_s,
            input_tokens=self.usage.input_tokens,
            cached_input_tokens=self.usage.cached_input_tokens,
            output_tokens=self.usage.output_tokens,
            reasoning_tokens=self.usage.reasoning_tokens,
            tool_calls=self.tool_calls,
            messages=len(self.request.messages),
            prompt_chars=chars,
            prompt_hash=digest,
            queue_wait_s=None if engine is None else engine.queue_wait_s,
            prefill_s=None if engine is None else engine.prefill_s,
            drafted_tokens=None if engine is None else engine.drafted_tokens,
            accepted_tokens=None if engine is None else engine.accepted_tokens,
            api_key=self.api_key,
            cache_write_tokens=self.usage.cache_creation_input_tokens,
            cache_write_1h_tokens=self.usage.cache_creation_1h_input_tokens,
        )
