"""OpenAI Responses stream -> canonical events."""

from __future__ import annotations

from typing import Any

from splitlane.core.blocks import BlockWriter
from splitlane.core.errors import (
    ContextTooLong,
    RateLimited,
    SplitlaneError,
    UpstreamError,
    UpstreamProtocolError,
)
from splitlane.core.events import BlockKind, Event, Started, StopReason
from splitlane.core.usage import Usage
from splitlane.upstream.http import parse_json
from splitlane.upstream.openai_responses.encode import PROVIDER
from splitlane.upstream.sse import ServerSentEvent


def decode_usage(usage: dict[str, Any] | None) -> Usage:
    usage = usage or {}
    input_details = usage.get("input_tokens_details") or {}
    output_details = usage.get("output_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
        cached_input_tokens=int(input_details.get("cached_tokens") or 0),
        reasoning_tokens=int(output_details.get("reasoning_tokens") or 0),
    )


class _State:
    def __init__(self) -> None:
        self.blocks = BlockWriter()
        self.streamed: set[str] = set()  # item ids that got at least one delta


class ResponsesDecoder:
    """Takes the upstream's server-sent events one at a time; returns the canonical events each makes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.state = _State()
        self.started = False
        self.data: Any = None  # the last event's parsed JSON
        self.done = False

    def feed(self, sse: ServerSentEvent) -> list[Event]:
        self.data = None
        text = sse.data.strip()
        if not text or text == "[DONE]":
            return []
        data = self.data = parse_json(sse.data, self.upstream)
        kind = data.get("type") or sse.event
        match kind:
            case "response.completed" | "response.incomplete":
                self.done = True
                response = data.get("response") or {}
                return self.state.blocks.finish(_stop_reason(response), decode_usage(response.get("usage")))
            case "response.failed":
                raise _failure(self.upstream, (data.get("response") or {}).get("error") or {})
            case "error":
                raise _failure(self.upstream, data)
        events: list[Event] = []
        if not self.started:  # response.created
            self.started = True
            events.append(Started())
        return events + _handle(self.state, kind, data)

    def end(self) -> list[Event]:
        raise UpstreamProtocolError(f"upstream '{self.upstream}' stream ended before response.completed")


def _handle(state: _State, kind: str, data: dict[str, Any]) -> list[Event]:
    blocks = state.blocks
    item_id = data.get("item_id", "")
    match kind:
        case "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") == "function_call":
                return blocks.tool_call(
                    item.get("id") or item.get("call_id"), item.get("call_id", ""), item.get("name", "")
                )
            if item.get("type") == "reasoning":
                return blocks.reasoning("", key=item.get("id"))
        case "response.output_text.delta":
            state.streamed.add(item_id)
            return blocks.text(data.get("delta", ""))
        case "response.reasoning_summary_text.delta" | "response.reasoning_text.delta":
            state.streamed.add(item_id)
            return blocks.reasoning(data.get("delta", ""), key=item_id)
        case "response.reasoning_summary_part.added" if data.get("summary_index", 0) > 0:
            return blocks.reasoning("\n\n", key=item_id)
        case "response.function_call_arguments.delta":
            state.streamed.add(item_id)
            return blocks.tool_args(item_id, data.get("delta", ""))
        case "response.output_item.done":
            return _item_done(state, data.get("item") or {})
    return []


def _item_done(state: _State, item: dict[str, Any]) -> list[Event]:
    blocks = state.blocks
    item_id = item.get("id") or item.get("call_id")
    unseen = item_id not in state.streamed
    events: list[Event] = []
    match item.get("type"):
        case "message":
            if unseen:
                for part in item.get("content") or []:
                    events += blocks.text(part.get("text", ""))
            return events + blocks.close()
        case "function_call":
            if not blocks.is_open(BlockKind.TOOL_CALL, item_id):
                events += blocks.tool_call(item_id, item.get("call_id", ""), item.get("name", ""))
            if unseen:
                events += blocks.tool_args(item_id, item.get("arguments", ""))
            return events + blocks.close({PROVIDER: {"id": item.get("id", "")}})
        case "reasoning":
            text = "\n\n".join(s.get("text", "") for s in item.get("summary") or [])
            events += blocks.reasoning(text if unseen else "", key=item_id)
            data = {"id": item.get("id", "")}
            if item.get("encrypted_content"):
                data["encrypted_content"] = item["encrypted_content"]
            return events + blocks.close({PROVIDER: data})
    return []


def _stop_reason(response: dict[str, Any]) -> StopReason:
    if response.get("status") != "incomplete":
        return StopReason.END_TURN
    reason = (response.get("incomplete_details") or {}).get("reason")
    return StopReason.CONTENT_FILTER if reason == "content_filter" else StopReason.MAX_TOKENS


def _failure(upstream: str, error: dict[str, Any]) -> SplitlaneError:
    message = f"upstream '{upstream}' failed: {error.get('message', 'unknown error')}"
    match error.get("code"):
        case "context_length_exceeded":
            return ContextTooLong(message)
        case "rate_limit_exceeded":
            return RateLimited(message)
    return UpstreamError(message)
