"""OpenAI Chat Completions stream -> canonical events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from splitlane.core.blocks import BlockWriter
from splitlane.core.errors import UpstreamError, UpstreamProtocolError
from splitlane.core.events import BlockKind, Event, Started, StopReason
from splitlane.core.ids import new_id
from splitlane.core.usage import Usage
from splitlane.upstream.http import parse_json
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


async def decode_stream(source: AsyncIterator[ServerSentEvent], upstream: str) -> AsyncIterator[Event]:
    blocks = BlockWriter()
    finish_reason: str | None = None
    usage = Usage()
    started = False
    async for sse in source:
        if sse.data.strip() == "[DONE]":
            break
        if not sse.data.strip():
            continue
        chunk = parse_json(sse.data, upstream)
        if not isinstance(chunk, dict):
            raise UpstreamProtocolError(f"upstream '{upstream}' sent a non-object chunk")
        if chunk.get("error"):
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise UpstreamError(f"upstream '{upstream}' failed mid-stream: {message}")
        if not started:  # usually the role chunk, which servers send before the first token
            started = True
            yield Started()
        if chunk.get("usage"):
            usage = decode_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            for event in _delta(blocks, choice.get("delta") or {}):
                yield event
            finish_reason = choice.get("finish_reason") or finish_reason
    if finish_reason is None:
        raise UpstreamProtocolError(f"upstream '{upstream}' stream ended without a finish_reason")
    for event in blocks.finish(FINISH_REASONS.get(finish_reason, StopReason.END_TURN), usage):
        yield event


def _delta(blocks: BlockWriter, delta: dict[str, Any]) -> list[Event]:
    events: list[Event] = []
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        events += blocks.reasoning(reasoning)
    content = delta.get("content")
    if isinstance(content, str) and content:
        events += blocks.text(content)
    for call in delta.get("tool_calls") or []:
        key = call.get("index", 0)
        function = call.get("function") or {}
        if not blocks.is_open(BlockKind.TOOL_CALL, key):
            events += blocks.tool_call(key, call.get("id") or new_id("call"), function.get("name") or "")
        events += blocks.tool_args(key, function.get("arguments") or "")
    return events
