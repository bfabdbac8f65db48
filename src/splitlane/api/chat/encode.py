"""Canonical events / responses -> Chat Completions wire."""

from __future__ import annotations

import time
from typing import Any

from splitlane.api.openai_errors import openai_error_body
from splitlane.api.sse import DONE, sse
from splitlane.core.errors import SplitlaneError
from splitlane.core.events import (
    BlockKind,
    BlockStart,
    Event,
    Finish,
    ReasoningDelta,
    StopReason,
    TextDelta,
    ToolArgsDelta,
)
from splitlane.core.ids import new_id
from splitlane.core.parts import ReasoningPart, ToolCallPart
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse
from splitlane.core.usage import Usage

FINISH_REASONS = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.PAUSE_TURN: "stop",
    StopReason.MAX_TOKENS: "length",
    StopReason.CONTEXT_WINDOW: "length",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.CONTENT_FILTER: "content_filter",
}


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


class ChatStreamEncoder:
    def __init__(self, request: ChatRequest, include_usage: bool) -> None:
        self.base: dict[str, Any] = {
            "id": new_id("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.model,
        }
        self.include_usage = include_usage
        self.started = False
        self.tool_calls = 0

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = {
            **self.base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return sse(chunk)

    def feed(self, event: Event) -> list[bytes]:
        out: list[bytes] = []
        if not self.started:
            self.started = True
            out.append(self._chunk({"role": "assistant", "content": ""}))
        match event:
            case TextDelta(text=text):
                out.append(self._chunk({"content": text}))
            case ReasoningDelta(text=text):
                out.append(self._chunk({"reasoning_content": text}))
            case BlockStart(kind=BlockKind.TOOL_CALL):
                out.append(
                    self._chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": self.tool_calls,
                                    "id": event.tool_call_id,
                                    "type": "function",
                                    "function": {"name": event.tool_name, "arguments": ""},
                                }
                            ]
                        }
                    )
                )
                self.tool_calls += 1
            case ToolArgsDelta(json=fragment):
                out.append(
                    self._chunk({"tool_calls": [{"index": self.tool_calls - 1, "function": {"arguments": fragment}}]})
                )
            case Finish():
                out.append(self._chunk({}, FINISH_REASONS[event.stop_reason]))
                if self.include_usage:
                    out.append(sse({**self.base, "choices": [], "usage": encode_usage(event.usage)}))
                out.append(DONE)
        return out

    def fail(self, error: SplitlaneError) -> list[bytes]:
        return [sse({"error": openai_error_body(error)}), DONE]


def encode_response(request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
    calls = [p for p in response.parts if isinstance(p, ToolCallPart)]
    reasoning = "".join(p.text for p in response.parts if isinstance(p, ReasoningPart))
    message: dict[str, Any] = {"role": "assistant", "content": response.text or None, "refusal": None}
    if calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    if reasoning:
        message["reasoning_content"] = reasoning
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": FINISH_REASONS[response.stop_reason], "logprobs": None}
        ],
        "usage": encode_usage(response.usage),
    }
