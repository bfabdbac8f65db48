"""Replays trace sessions against endpoints and measures every turn on the client's clock.

Each target gets every session; sessions run concurrently up to a limit, start at the trace's
arrival offsets (or a Poisson rate, or all at once), and sleep the gap policy's time between turns.
Requests go out through splitlane's own upstream encoders and decoders, so any of the three APIs can
be measured, and time to first token counts the first content-bearing event (text, reasoning or a
tool call) exactly as DESIGN.md defines it.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from splitlane.api.chat.decode import decode_request
from splitlane.api.chat.schema import ChatBody
from splitlane.bench.content import Conversation, Message
from splitlane.bench.trace import Session, TurnTiming
from splitlane.config import UpstreamConfig
from splitlane.core.errors import SplitlaneError
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
from splitlane.core.parts import TextPart, ToolCallPart
from splitlane.core.response import ChatResponse, ResponseBuilder
from splitlane.core.usage import Usage
from splitlane.telemetry.metrics import TurnTimes
from splitlane.upstream.anthropic.adapter import AnthropicUpstream
from splitlane.upstream.estimate import CHARS_PER_TOKEN
from splitlane.upstream.http import post_sse
from splitlane.upstream.openai_chat.adapter import OpenAIChatUpstream
from splitlane.upstream.openai_responses.adapter import OpenAIResponsesUpstream
from splitlane.upstream.remote import RemoteUpstream

Api = Literal["chat", "responses", "messages"]
TARGET_SYNTAX = "NAME=URL[,api=chat|responses|messages][,model=MODEL][,key_env=VAR]"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    api: Api = "chat"
    model: str = "local"
    key_env: str | None = None


def parse_target(text: str) -> Target:
    name, sep, rest = text.partition("=")
    url, *options = rest.split(",")
    if not sep or not name or not url:
        raise ValueError(f"expected {TARGET_SYNTAX}, got '{text}'")
    values: dict[str, str] = {}
    for option in options:
        key, eq, value = option.partition("=")
        if not eq or key not in ("api", "model", "key_env"):
            raise ValueError(f"unknown target option '{option}' (expected {TARGET_SYNTAX})")
        values[key] = value
    api = values.get("api", "chat")
    if api not in ("chat", "responses", "messages"):
        raise ValueError(f"api must be chat, responses or messages, got '{api}'")
    return Target(name, url, api, values.get("model", "local"), values.get("key_env"))  # type: ignore[arg-type]


def adapter_for(target: Target, max_connections: int = 256) -> RemoteUpstream:
    base = target.url.rstrip("/")
    if target.api != "messages" and not base.endswith("/v1"):
        base += "/v1"
    kind = {"chat": "openai_chat", "responses": "openai_responses", "messages": "anthropic"}[target.api]
    config = UpstreamConfig(
        kind=kind,  # type: ignore[arg-type]
        base_url=base,
        api_key_env=target.key_env,
        idle_timeout_s=900,
        max_connections=max_connections,
    )
    match target.api:
        case "chat":
            return OpenAIChatUpstream(target.name, config)
        case "responses":
            return OpenAIResponsesUpstream(target.name, config)
        case _:
            return AnthropicUpstream(target.name, config)


@dataclass(frozen=True, slots=True)
class GapPolicy:
    """Time slept between turns: ``recorded``, ``scale:F`` (recorded × F), ``fixed:S`` or ``none``;
    capped at ``cap_s``; human gaps can be dropped."""

    mode: Literal["recorded", "scale", "fixed", "none"] = "recorded"
    value: float = 1.0
    cap_s: float | None = None
    keep_human: bool = True

    @classmethod
    def parse(cls, text: str, cap_s: float | None = None, keep_human: bool = True) -> GapPolicy:
        mode, _, raw = text.partition(":")
        if mode in ("recorded", "none") and not raw:
            return cls(mode, 1.0, cap_s, keep_human)  # type: ignore[arg-type]
        if mode in ("scale", "fixed") and raw:
            return cls(mode, float(raw), cap_s, keep_human)  # type: ignore[arg-type]
        raise ValueError(f"gap policy must be recorded, none, scale:FACTOR or fixed:SECONDS, got '{text}'")

    def seconds(self, timing: TurnTiming) -> float:
        if self.mode == "none":
            return 0.0
        if self.mode == "fixed":
            gap = self.value
        elif timing.gap_kind == "human" and not self.keep_human:
            gap = 0.0
        else:
            gap = (timing.gap_after or 0.0) * (self.value if self.mode == "scale" else 1.0)
        return min(gap, self.cap_s) if self.cap_s is not None else gap


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    concurrency: int = 4  # sessions in flight per target
    arrivals: str = "trace"  # "trace" offsets, "none" (all at once) or a Poisson rate in sessions/s
    output_policy: Literal["recorded", "live"] = "recorded"
    gaps: GapPolicy = GapPolicy()
    max_turns: int | None = None  # replay only the first N turns of each session
    live_max_tokens: int = 4096
    token_scale: float = 1.0  # synthetic sessions: prompt and output sizes × this (fit a small engine)
    turn_timeout_s: float = 900.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    seed: int = 0


@dataclass(frozen=True, slots=True)
class TurnResult:
    """One replayed turn; times are seconds since the run started (one monotonic clock)."""

    run_id: str
    target: str
    session_id: str
    turn_index: int
    t_send: float
    t_first: float | None
    t_first_toolcall: float | None
    t_last: float
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    completion_tokens_source: str  # usage | estimate_chars4
    gap_before_planned_s: float | None
    error: str | None = None

    @property
    def times(self) -> TurnTimes:
        return TurnTimes(
            self.t_send, self.t_first, self.t_last, self.completion_tokens, self.prompt_tokens, self.cached_tokens
        )

    def record(self) -> dict[str, Any]:
        times = self.times
        return {
            "run_id": self.run_id,
            "endpoint": self.target,
            "session_id": self.session_id,
            "turn_index": self.turn_index,
            "t_send": self.t_send,
            "ttft": times.ttft_s,
            "t_first_content": self.t_first,
            "t_first_toolcall": self.t_first_toolcall,
            "t_last": self.t_last,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "completion_tokens": self.completion_tokens,
            "completion_tokens_source": self.completion_tokens_source,
            "decode_tps": times.decode_tps,
            "gap_planned": self.gap_before_planned_s,
            "error": self.error,
        }


@dataclass(slots=True)
class _Stream:
    """What the client saw of one streamed turn."""

    t_first: float | None = None
    t_first_toolcall: float | None = None
    t_last: float = 0.0
    usage: Usage | None = None
    chars: int = 0
    builder: ResponseBuilder | None = None

    def see(self, event: Event, now: float) -> None:
        self.t_last = now
        if isinstance(event, TextDelta | ReasoningDelta):
            self.chars += len(event.text)
            if self.t_first is None and event.text:
                self.t_first = now
        elif isinstance(event, BlockStart) and event.kind is BlockKind.TOOL_CALL:
            self.t_first_toolcall = self.t_first_toolcall or now
            self.t_first = self.t_first or now
        elif isinstance(event, ToolArgsDelta):
            self.chars += len(event.json)
        elif isinstance(event, UsageUpdate | Finish):
            self.usage = event.usage
        if self.builder is not None:
            self.builder.feed(event)


def assistant_message(response: ChatResponse) -> Message:
    """A live reply as a Chat Completions assistant message, for the next turn's history."""
    message: Message = {
        "role": "assistant",
        "content": "".join(p.text for p in response.parts if isinstance(p, TextPart)),
    }
    calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
    if calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    return message


TurnCallback = Callable[[TurnResult], None]


class Replay:
    def __init__(
        self,
        sessions: Sequence[Session],
        targets: Sequence[Target],
        options: ReplayOptions,
        on_turn: TurnCallback | None = None,
    ) -> None:
        self.sessions = sessions
        self.targets = targets
        self.options = options
        self.on_turn = on_turn
        self.results: list[TurnResult] = []
        self.diverged: dict[str, int] = {t.name: 0 for t in targets}
        self._start = 0.0

    def turns_total(self) -> int:
        limit = self.options.max_turns
        return sum(min(len(s.turns), limit or len(s.turns)) for s in self.sessions)

    def _now(self) -> float:
        return time.perf_counter() - self._start

    def _offsets(self) -> list[float]:
        arrivals = self.options.arrivals
        if arrivals == "trace":
            return [s.header.arrival_offset_s for s in self.sessions]
        if arrivals == "none":
            return [0.0] * len(self.sessions)
        rate, rng, t, offsets = float(arrivals), random.Random(self.options.seed), 0.0, []
        for _ in self.sessions:
            offsets.append(t)
            t += rng.expovariate(rate)
        return offsets

    async def run(self) -> list[TurnResult]:
        self._start = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for target in self.targets:
                group.create_task(self._target(target))
        return self.results

    async def _target(self, target: Target) -> None:
        adapter = adapter_for(target, max(16, self.options.concurrency * 2))
        slots = asyncio.Semaphore(self.options.concurrency)
        try:
            async with asyncio.TaskGroup() as group:
                for session, offset in zip(self.sessions, self._offsets(), strict=True):
                    group.create_task(self._session(adapter, target, session, offset, slots))
        finally:
            await adapter.aclose()

    async def _session(
        self, adapter: RemoteUpstream, target: Target, session: Session, offset: float, slots: asyncio.Semaphore
    ) -> None:
        await asyncio.sleep(max(0.0, offset - self._now()))
        marker = f"{self.options.run_id}-{target.name}-{session.header.session_id}"
        affinity = hashlib.sha256(marker.encode()).hexdigest()[:24]
        namespace = f"{self.options.run_id}-{target.name}"
        conversation = Conversation(session, marker, self.options.token_scale, namespace)
        turns = session.turns[: self.options.max_turns] if self.options.max_turns else session.turns
        async with slots:
            planned: float | None = None
            for index in range(len(turns)):
                result, reply = await self._turn(adapter, target, conversation, index, affinity, planned)
                self.results.append(result)
                if self.on_turn is not None:
                    self.on_turn(result)
                conversation.answer(index, reply)
                if index + 1 < len(turns):
                    planned = self.options.gaps.seconds(turns[index].timing)
                    await asyncio.sleep(planned)
        self.diverged[target.name] += conversation.diverged

    def _body(self, target: Target, conversation: Conversation, index: int) -> dict[str, Any]:
        turn = conversation.session.turns[index]
        live = self.options.output_policy == "live"
        body: dict[str, Any] = {
            "model": target.model,
            "messages": conversation.prompt(index),
            "stream": True,
            "max_tokens": self.options.live_max_tokens if live else conversation.output_tokens(index),
        }
        if conversation.session.header.tools and not conversation.synthetic:
            body["tools"] = conversation.session.header.tools
        if not live and turn.output.ignore_eos_ok:
            body["ignore_eos"] = True  # sent only to chat endpoints (vLLM, SGLang, llama.cpp, splitlane)
        return body

    async def _turn(
        self,
        adapter: RemoteUpstream,
        target: Target,
        conversation: Conversation,
        index: int,
        affinity: str,
        planned_gap: float | None,
    ) -> tuple[TurnResult, Message | None]:
        live = self.options.output_policy == "live"
        body = self._body(target, conversation, index)
        request = decode_request(ChatBody.model_validate(body), {"x-session-affinity": affinity})
        wire = adapter.encode_request(request)
        headers = {**adapter.headers(request), "x-session-affinity": affinity}
        seen = _Stream(builder=ResponseBuilder() if live else None)
        error: str | None = None
        t_send = seen.t_last = self._now()
        try:
            async with (
                asyncio.timeout(self.options.turn_timeout_s),
                post_sse(adapter.client, target.name, adapter.path, wire, headers) as events,
            ):
                async for event in adapter.decode_stream(events):
                    seen.see(event, self._now())
        except SplitlaneError as exc:
            error = f"{exc.code or type(exc).__name__}: {exc.message}"
        except TimeoutError:
            error = f"timeout: no end of stream in {self.options.turn_timeout_s:.0f} s"
        if error is not None:
            seen.t_last = self._now()
        usage = seen.usage
        counted = usage is not None and usage.output_tokens > 0
        result = TurnResult(
            run_id=self.options.run_id,
            target=target.name,
            session_id=conversation.session.header.session_id,
            turn_index=index,
            t_send=t_send,
            t_first=seen.t_first,
            t_first_toolcall=seen.t_first_toolcall,
            t_last=seen.t_last,
            prompt_tokens=usage.input_tokens if usage else conversation.prompt_tokens_estimate,
            cached_tokens=usage.cached_input_tokens if usage else 0,
            completion_tokens=usage.output_tokens if usage and counted else seen.chars // CHARS_PER_TOKEN,
            completion_tokens_source="usage" if counted else "estimate_chars4",
            gap_before_planned_s=planned_gap,
            error=error,
        )
        reply = None
        if live and error is None and seen.builder is not None:
            reply = assistant_message(seen.builder.build())
        return result, reply
