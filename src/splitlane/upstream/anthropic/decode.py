"""Anthropic Messages stream -> canonical events."""

from __future__ import annotations

from typing import Any

from splitlane.core.blocks import BlockWriter
from splitlane.core.errors import Overloaded, RateLimited, SplitlaneError, UpstreamError, UpstreamProtocolError
from splitlane.core.events import BlockKind, Event, StopReason, UsageUpdate
from splitlane.core.usage import Usage
from splitlane.upstream.anthropic.encode import PROVIDER
from splitlane.upstream.http import parse_json
from splitlane.upstream.sse import ServerSentEvent

STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "max_tokens": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "tool_use": StopReason.TOOL_USE,
    "pause_turn": StopReason.PAUSE_TURN,
    "refusal": StopReason.CONTENT_FILTER,
    "model_context_window_exceeded": StopReason.CONTEXT_WINDOW,
}


class _State:
    def __init__(self) -> None:
        self.blocks = BlockWriter()
        self.raw_usage: dict[str, int] = {}
        self.stop_reason = StopReason.END_TURN
        self.stop_sequence: str | None = None
        self.kinds: dict[int, str] = {}
        self.signatures: dict[int, str] = {}
        self.redacted: dict[int, str] = {}

    def usage(self) -> Usage:
        u = self.raw_usage
        return Usage.from_anthropic(
            u.get("input_tokens", 0),
            u.get("output_tokens", 0),
            u.get("cache_read_input_tokens", 0),
            u.get("cache_creation_input_tokens", 0),
            u.get("cache_creation.ephemeral_1h_input_tokens", 0),
        )

    def take_usage(self, usage: dict[str, Any] | None) -> None:
        for key, value in (usage or {}).items():
            if isinstance(value, int):
                self.raw_usage[key] = value
            elif key == "cache_creation" and isinstance(value, dict):  # the writes by TTL
                for ttl, count in value.items():
                    if isinstance(count, int):
                        self.raw_usage[f"cache_creation.{ttl}"] = count


class AnthropicDecoder:
    """Takes the upstream's server-sent events one at a time; returns the canonical events each makes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.state = _State()
        self.data: Any = None  # the last event's parsed JSON
        self.done = False

    def feed(self, sse: ServerSentEvent) -> list[Event]:
        self.data = None
        if sse.event == "ping" or not sse.data.strip():
            return []
        data = self.data = parse_json(sse.data, self.upstream)
        kind = sse.event if sse.event != "message" else data.get("type")
        if kind == "error":
            raise _stream_error(self.upstream, data.get("error") or {})
        if kind == "message_stop":
            self.done = True
            state = self.state
            return state.blocks.finish(state.stop_reason, state.usage(), state.stop_sequence)
        return _handle(self.state, kind, data)

    def end(self) -> list[Event]:
        raise UpstreamProtocolError(f"upstream '{self.upstream}' stream ended before message_stop")


def _handle(state: _State, kind: str | None, data: dict[str, Any]) -> list[Event]:
    blocks = state.blocks
    index = data.get("index", 0)
    match kind:
        case "message_start":
            state.take_usage((data.get("message") or {}).get("usage"))
            return [UsageUpdate(state.usage())]
        case "content_block_start":
            block = data.get("content_block") or {}
            state.kinds[index] = block.get("type", "")
            match block.get("type"):
                case "tool_use":
                    return blocks.tool_call(index, block.get("id", ""), block.get("name", ""))
                case "thinking":
                    return blocks.reasoning(block.get("thinking", ""), key=index)
                case "redacted_thinking":
                    state.redacted[index] = block.get("data", "")
                    return blocks.reasoning("", key=index)
                case "text":
                    return blocks.close() + blocks.text(block.get("text", ""))
            return []
        case "content_block_delta":
            return _delta(state, index, data.get("delta") or {})
        case "content_block_stop":
            if state.kinds.get(index) not in ("text", "tool_use", "thinking", "redacted_thinking"):
                return []
            return blocks.close(_provider_data(state, index))
        case "message_delta":
            delta = data.get("delta") or {}
            if delta.get("stop_reason"):
                state.stop_reason = STOP_REASONS.get(delta["stop_reason"], StopReason.END_TURN)
            state.stop_sequence = delta.get("stop_sequence")
            state.take_usage(data.get("usage"))
    return []


def _delta(state: _State, index: int, delta: dict[str, Any]) -> list[Event]:
    blocks = state.blocks
    match delta.get("type"):
        case "text_delta":
            return blocks.text(delta.get("text", ""))
        case "thinking_delta":
            return blocks.reasoning(delta.get("thinking", ""), key=index)
        case "signature_delta":
            state.signatures[index] = state.signatures.get(index, "") + delta.get("signature", "")
        case "input_json_delta":
            if blocks.is_open(BlockKind.TOOL_CALL, index):
                return blocks.tool_args(index, delta.get("partial_json", ""))
    return []


def _provider_data(state: _State, index: int) -> dict[str, dict[str, str]] | None:
    if index in state.redacted:
        return {PROVIDER: {"redacted": state.redacted[index]}}
    if index in state.signatures:
        return {PROVIDER: {"signature": state.signatures[index]}}
    return None


def _stream_error(upstream: str, error: dict[str, Any]) -> SplitlaneError:
    message = f"upstream '{upstream}' failed mid-stream: {error.get('message', 'unknown error')}"
    match error.get("type"):
        case "overloaded_error":
            return Overloaded(message)
        case "rate_limit_error":
            return RateLimited(message)
    return UpstreamError(message)
