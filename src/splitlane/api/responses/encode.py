"""Canonical events / responses -> Responses wire.

Item ids are derived from the response id and the block index, so the streamed items, the
object in ``response.completed`` and the stored response all agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from splitlane.api.openai_errors import TYPES
from splitlane.api.sse import sse
from splitlane.core import opaque
from splitlane.core.errors import SplitlaneError
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
)
from splitlane.core.ids import new_id
from splitlane.core.parts import ReasoningPart, TextPart, ToolCallPart
from splitlane.core.response import OutputPart, ResponseBuilder
from splitlane.core.usage import Usage

_PREFIX = {BlockKind.TEXT: "msg", BlockKind.REASONING: "rs", BlockKind.TOOL_CALL: "fc"}
_INCOMPLETE = {
    StopReason.MAX_TOKENS: "max_output_tokens",
    StopReason.CONTEXT_WINDOW: "max_output_tokens",
    StopReason.CONTENT_FILTER: "content_filter",
}


@dataclass(slots=True)
class ResponseContext:
    """What the response object echoes back from the request."""

    model: str
    echo: dict[str, Any]
    custom_tools: tuple[str, ...] = ()
    namespaced: dict[str, tuple[str, str]] = field(default_factory=dict)  # flat name -> (namespace, name)
    id: str = field(default_factory=lambda: new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))

    def called(self, name: str) -> dict[str, str]:
        """A tool call's name fields: a namespaced tool's namespace and own name."""
        if name in self.namespaced:
            namespace, own = self.namespaced[name]
            return {"namespace": namespace, "name": own}
        return {"name": name}

    def item_id(self, kind: BlockKind, index: int) -> str:
        return f"{_PREFIX[kind]}_{self.id.removeprefix('resp_')}{index:03d}"

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        usage: Usage | None = None,
        error: dict[str, Any] | None = None,
        incomplete: str | None = None,
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": error,
            "incomplete_details": {"reason": incomplete} if incomplete else None,
            "model": self.model,
            "output": output,
            "usage": encode_usage(usage) if usage else None,
            **self.echo,
        }


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def output_item(ctx: ResponseContext, index: int, part: OutputPart) -> dict[str, Any]:
    match part:
        case TextPart(text=text):
            return {
                "id": ctx.item_id(BlockKind.TEXT, index),
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [_text_part(text)],
            }
        case ReasoningPart(text=text, provider_data=data):
            return {
                "id": ctx.item_id(BlockKind.REASONING, index),
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": text}] if text else [],
                "encrypted_content": opaque.pack(data) if data else None,
            }
        case ToolCallPart(id=call_id, name=name, arguments=arguments):
            item_id = ctx.item_id(BlockKind.TOOL_CALL, index)
            if name in ctx.custom_tools:
                return {
                    "id": item_id,
                    "type": "custom_tool_call",
                    "status": "completed",
                    "call_id": call_id,
                    **ctx.called(name),
                    "input": _custom_input(arguments),
                }
            return {
                "id": item_id,
                "type": "function_call",
                "status": "completed",
                "call_id": call_id,
                **ctx.called(name),
                "arguments": arguments,
            }


def _custom_input(arguments: str) -> str:
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    return str(value.get("input", "")) if isinstance(value, dict) else arguments


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def final_response(ctx: ResponseContext, output: list[dict[str, Any]], finish: Finish) -> dict[str, Any]:
    incomplete = _INCOMPLETE.get(finish.stop_reason)
    return ctx.response("incomplete" if incomplete else "completed", output, finish.usage, incomplete=incomplete)


class ResponsesStreamEncoder:
    def __init__(self, ctx: ResponseContext) -> None:
        self.ctx = ctx
        self.sequence = 0
        self.output: list[dict[str, Any]] = []
        self.builder = ResponseBuilder()
        self.open: BlockStart | None = None
        self.final: dict[str, Any] | None = None

    def _event(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **data}
        self.sequence += 1
        return sse(payload, kind)

    def _ids(self, index: int) -> dict[str, Any]:
        assert self.open is not None
        return {"item_id": self.ctx.item_id(self.open.kind, index), "output_index": index}

    def feed(self, event: Event) -> list[bytes]:
        out: list[bytes] = []
        if self.sequence == 0:
            started = self.ctx.response("in_progress", [])
            out += [
                self._event("response.created", response=started),
                self._event("response.in_progress", response=started),
            ]
        part = self.builder.feed(event)
        match event:
            case BlockStart():
                self.open = event
                out += self._start(event)
            case TextDelta(index=index, text=text):
                out.append(
                    self._event(
                        "response.output_text.delta", **self._ids(index), content_index=0, delta=text, logprobs=[]
                    )
                )
            case ReasoningDelta(index=index, text=text):
                out.append(
                    self._event(
                        "response.reasoning_summary_text.delta", **self._ids(index), summary_index=0, delta=text
                    )
                )
            case ToolArgsDelta(index=index, json=fragment):
                if self.open and self.open.tool_name not in self.ctx.custom_tools:
                    out.append(
                        self._event("response.function_call_arguments.delta", **self._ids(index), delta=fragment)
                    )
            case BlockEnd(index=index) if part is not None:
                out += self._end(index, part)
            case Finish():
                self.final = final_response(self.ctx, self.output, event)
                kind = "response.completed" if self.final["status"] == "completed" else "response.incomplete"
                out.append(self._event(kind, response=self.final))
        return out

    def _start(self, start: BlockStart) -> list[bytes]:
        index = start.index
        item_id = self.ctx.item_id(start.kind, index)
        match start.kind:
            case BlockKind.TEXT:
                item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
                return [
                    self._event("response.output_item.added", output_index=index, item=item),
                    self._event(
                        "response.content_part.added",
                        item_id=item_id,
                        output_index=index,
                        content_index=0,
                        part=_text_part(""),
                    ),
                ]
            case BlockKind.REASONING:
                item = {"id": item_id, "type": "reasoning", "summary": []}
                return [
                    self._event("response.output_item.added", output_index=index, item=item),
                    self._event(
                        "response.reasoning_summary_part.added",
                        item_id=item_id,
                        output_index=index,
                        summary_index=0,
                        part={"type": "summary_text", "text": ""},
                    ),
                ]
            case BlockKind.TOOL_CALL:
                custom = start.tool_name in self.ctx.custom_tools
                item = {
                    "id": item_id,
                    "type": "custom_tool_call" if custom else "function_call",
                    "status": "in_progress",
                    "call_id": start.tool_call_id,
                    **self.ctx.called(start.tool_name or ""),
                    **({"input": ""} if custom else {"arguments": ""}),
                }
                return [self._event("response.output_item.added", output_index=index, item=item)]

    def _end(self, index: int, part: OutputPart) -> list[bytes]:
        item = output_item(self.ctx, index, part)
        self.output.append(item)
        ids = self._ids(index)
        out: list[bytes] = []
        match part:
            case TextPart(text=text):
                out += [
                    self._event("response.output_text.done", **ids, content_index=0, text=text, logprobs=[]),
                    self._event("response.content_part.done", **ids, content_index=0, part=_text_part(text)),
                ]
            case ReasoningPart(text=text):
                summary = {"type": "summary_text", "text": text}
                out += [
                    self._event("response.reasoning_summary_text.done", **ids, summary_index=0, text=text),
                    self._event("response.reasoning_summary_part.done", **ids, summary_index=0, part=summary),
                ]
            case ToolCallPart(name=name, arguments=arguments) if item["type"] == "function_call":
                out.append(
                    self._event(
                        "response.function_call_arguments.done", **ids, **self.ctx.called(name), arguments=arguments
                    )
                )
        out.append(self._event("response.output_item.done", output_index=index, item=item))
        self.open = None
        return out

    def fail(self, error: SplitlaneError) -> list[bytes]:
        body = {"code": error.code or TYPES[error.kind], "message": error.message}
        prefix: list[bytes] = []
        if self.sequence == 0:
            prefix.append(self._event("response.created", response=self.ctx.response("in_progress", [])))
        return [*prefix, self._event("response.failed", response=self.ctx.response("failed", self.output, error=body))]


def encode_response(ctx: ResponseContext, parts: tuple[OutputPart, ...], finish: Finish) -> dict[str, Any]:
    return final_response(ctx, [output_item(ctx, i, p) for i, p in enumerate(parts)], finish)
