"""OpenAI Chat Completions stream -> canonical events."""

from __future__ import annotations

from typing import Any

from splitlane.core.blocks import BlockWriter
from splitlane.core.errors import UpstreamError, UpstreamProtocolError
from splitlane.core.events import BlockKind, Event, Started, StopReason
from splitlane.core.ids import new_id
from splitlane.core.usage import Usage
from splitlane.upstream.http import error_from_status, parse_json
from splitlane.upstream.openai_chat.reasoning import ReasoningReader, reasoning_reader
from splitlane.upstream.sse import ServerSentEvent

FINISH_REASONS = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}


def decode_usage(usage: dict[str, Any]) -> Usage:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


class ChatDecoder:
    """Takes the upstream's server-sent events one at a time; returns the canonical events each makes."""

    def __init__(self, upstream: str, reasoning_format: str | None = None) -> None:
        self.upstream = upstream
        self.reasoning = reasoning_reader(reasoning_format)
        self.blocks = BlockWriter()
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.started = False
        self.data: Any = None  # the last event's parsed JSON
        self.done = False

    def feed(self, sse: ServerSentEvent) -> list[Event]:
        self.data = None
        text = sse.data.strip()
        if text == "[DONE]":
            return self.end()
        if not text:
            return []
        chunk = self.data = parse_json(sse.data, self.upstream)
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError(f"upstream '{self.upstream}' sent a non-object chunk")
        if chunk.get("error"):
            error = chunk["error"]
            status = error.get("code") if isinstance(error, dict) else None
            if isinstance(status, int) and 400 <= status < 600:
                # vLLM streams a request it cannot serve as a 200 whose one event is the error with
                # its HTTP status (e.g. a bad response_format schema): the same error as a status
                raise error_from_status(self.upstream, status, sse.data.encode(), {})
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise UpstreamError(f"upstream '{self.upstream}' failed mid-stream: {message}")
        events: list[Event] = []
        if not self.started:  # usually the role chunk, which servers send before the first token
            self.started = True
            events.append(Started())
        if chunk.get("usage"):
            self.usage = decode_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            events += _delta(self.blocks, choice.get("delta") or {}, self.reasoning)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return events

    def end(self) -> list[Event]:
        self.done = True
        if self.finish_reason is None:
            raise UpstreamProtocolError(f"upstream '{self.upstream}' stream ended without a finish_reason")
        events = self.reasoning.flush(self.blocks)
        return events + self.blocks.finish(FINISH_REASONS.get(self.finish_reason, StopReason.END_TURN), self.usage)


def _delta(blocks: BlockWriter, delta: dict[str, Any], reasoning: ReasoningReader) -> list[Event]:
    events: list[Event] = []
    thought = reasoning.field(delta)
    if thought:
        events += blocks.reasoning(thought)
    content = delta.get("content")
    if isinstance(content, str) and content:
        events += reasoning.content(blocks, content)
    for call in delta.get("tool_calls") or []:
        key = call.get("index", 0)
        function = call.get("function") or {}
        if not blocks.is_open(BlockKind.TOOL_CALL, key):
            events += reasoning.flush(blocks)
            events += blocks.tool_call(key, call.get("id") or new_id("call"), function.get("name") or "")
        events += blocks.tool_args(key, function.get("arguments") or "")
    return events
