"""Canonical events / responses -> Anthropic Messages wire."""

from __future__ import annotations

from typing import Any

import orjson

from splitlane.api.sse import sse
from splitlane.core import opaque
from splitlane.core.errors import ErrorKind, SplitlaneError
from splitlane.core.events import (
    BlockEnd,
    BlockKind,
    BlockStart,
    Event,
    Finish,
    ReasoningDelta,
    StopReason,
    TextDelta,
    ToolArgsDelta,
    UsageUpdate,
)
from splitlane.core.ids import new_id
from splitlane.core.parts import ProviderData, ReasoningPart, TextPart, ToolCallPart
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse
from splitlane.core.usage import Usage

PROVIDER = "anthropic"
STOP_REASONS = {
    StopReason.END_TURN: "end_turn",
    StopReason.MAX_TOKENS: "max_tokens",
    StopReason.STOP_SEQUENCE: "stop_sequence",
    StopReason.TOOL_USE: "tool_use",
    StopReason.CONTENT_FILTER: "refusal",
    StopReason.PAUSE_TURN: "pause_turn",
    StopReason.CONTEXT_WINDOW: "model_context_window_exceeded",
}
ERROR_TYPES = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.REQUEST_TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMIT: "rate_limit_error",
    ErrorKind.OVERLOADED: "overloaded_error",
    ErrorKind.TIMEOUT: "api_error",
    ErrorKind.UPSTREAM: "api_error",
    ErrorKind.INTERNAL: "api_error",
}


def anthropic_error(error: SplitlaneError) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": ERROR_TYPES[error.kind], "message": error.message},
        "request_id": new_id("req"),
    }


def render_error(error: SplitlaneError) -> tuple[int, dict[str, object]]:
    return error.status, anthropic_error(error)


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.uncached_input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
    }


def signature(provider_data: ProviderData) -> str:
    """The thinking signature to show: Anthropic's own, untouched, or our packed provider data."""
    mine = provider_data.get(PROVIDER) or {}
    if set(provider_data) == {PROVIDER} and set(mine) == {"signature"}:
        return str(mine["signature"])
    return opaque.pack(provider_data) if provider_data else ""


def _empty_block(start: BlockStart) -> dict[str, Any]:
    match start.kind:
        case BlockKind.TEXT:
            return {"type": "text", "text": ""}
        case BlockKind.REASONING:
            return {"type": "thinking", "thinking": "", "signature": ""}
        case BlockKind.TOOL_CALL:
            return {"type": "tool_use", "id": start.tool_call_id, "name": start.tool_name, "input": {}}


class MessagesStreamEncoder:
    def __init__(self, request: ChatRequest) -> None:
        self.id = new_id("msg")
        self.model = request.model
        self.usage = Usage()
        self.started = False
        self.kinds: dict[int, BlockKind] = {}

    def _start(self) -> list[bytes]:
        self.started = True
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**encode_usage(self.usage), "output_tokens": max(1, self.usage.output_tokens)},
        }
        return [sse({"type": "message_start", "message": message}, "message_start"), sse({"type": "ping"}, "ping")]

    def feed(self, event: Event) -> list[bytes]:
        if isinstance(event, UsageUpdate):
            self.usage = event.usage
        out = [] if self.started else self._start()
        match event:
            case BlockStart(index=index):
                self.kinds[index] = event.kind
                out.append(
                    sse(
                        {"type": "content_block_start", "index": index, "content_block": _empty_block(event)},
                        "content_block_start",
                    )
                )
            case TextDelta(index=index, text=text):
                out.append(self._delta(index, {"type": "text_delta", "text": text}))
            case ReasoningDelta(index=index, text=text):
                out.append(self._delta(index, {"type": "thinking_delta", "thinking": text}))
            case ToolArgsDelta(index=index, json=fragment):
                out.append(self._delta(index, {"type": "input_json_delta", "partial_json": fragment}))
            case BlockEnd(index=index, provider_data=data):
                sig = signature(data) if self.kinds.get(index) is BlockKind.REASONING else ""
                if sig:
                    out.append(self._delta(index, {"type": "signature_delta", "signature": sig}))
                out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
            case Finish(stop_reason=reason, usage=usage, stop_sequence=stop_sequence):
                out.append(
                    sse(
                        {
                            "type": "message_delta",
                            "delta": {"stop_reason": STOP_REASONS[reason], "stop_sequence": stop_sequence},
                            "usage": encode_usage(usage),
                        },
                        "message_delta",
                    )
                )
                out.append(sse({"type": "message_stop"}, "message_stop"))
        return out

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        return sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")

    def fail(self, error: SplitlaneError) -> list[bytes]:
        return [sse(anthropic_error(error), "error")]


def _block(part: TextPart | ReasoningPart | ToolCallPart) -> dict[str, Any]:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ReasoningPart(text=text, provider_data=data):
            return {"type": "thinking", "thinking": text, "signature": signature(data)}
        case ToolCallPart(id=call_id, name=name, arguments=arguments):
            try:
                value = orjson.loads(arguments or "{}")
            except orjson.JSONDecodeError:
                value = {"arguments": arguments}
            return {"type": "tool_use", "id": call_id, "name": name, "input": value}


def encode_response(request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [_block(p) for p in response.parts],
        "stop_reason": STOP_REASONS[response.stop_reason],
        "stop_sequence": response.stop_sequence,
        "usage": encode_usage(response.usage),
    }
