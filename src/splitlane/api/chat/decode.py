"""Chat Completions wire -> ChatRequest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from splitlane.api.chat.schema import ChatBody, ChatMessageIn
from splitlane.api.images import image_from_url
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import (
    CacheHint,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from splitlane.core.request import ChatRequest, ReasoningOptions, Sampling, ToolChoice, ToolChoiceMode, ToolSpec

SURFACE = "chat"


def decode_request(body: ChatBody, headers: dict[str, str], wire: dict[str, Any] | None = None) -> ChatRequest:
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    effort = body.reasoning_effort
    return ChatRequest(
        model=body.model,
        messages=tuple(_message(m, i) for i, m in enumerate(body.messages)),
        tools=tuple(
            ToolSpec(
                t.function.name,
                t.function.description or "",
                t.function.parameters or {"type": "object", "properties": {}},
                t.function.strict,
            )
            for t in body.tools or ()
        ),
        tool_choice=_tool_choice(body),
        sampling=Sampling(body.temperature, body.top_p, body.top_k, body.seed),
        max_output_tokens=body.max_completion_tokens or body.max_tokens,
        stop=stop,
        reasoning=ReasoningOptions(enabled=None if effort is None else effort != "none", effort=effort),
        stream=body.stream,
        metadata={**(body.metadata or {}), **({"user_id": body.user} if body.user else {})},
        extensions=dict(body.model_extra or {}),
        surface=SURFACE,
        headers=headers,
        wire=wire,
    )


def _tool_choice(body: ChatBody) -> ToolChoice:
    choice = body.tool_choice
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if choice.get("type") != "function" or not isinstance(name, str):
            raise InvalidRequest(
                'tool_choice must be auto, none, required or {"type": "function", "function": {"name": ...}}',
                param="tool_choice",
            )
        return ToolChoice(ToolChoiceMode.TOOL, name, body.parallel_tool_calls)
    return ToolChoice(ToolChoiceMode(choice or "auto"), None, body.parallel_tool_calls)


def _cache(item: dict[str, Any]) -> CacheHint | None:
    """Anthropic-style ``cache_control`` on a Chat content part (sent by clients that reach Claude
    through OpenAI-compatible routers, e.g. Cline via OpenRouter)."""
    raw = item.get("cache_control")
    if isinstance(raw, dict) and raw.get("type") == "ephemeral":
        ttl = raw.get("ttl")
        return CacheHint(ttl if ttl in ("5m", "1h") else None)
    return None


def _parts(content: str | list[dict[str, Any]] | None, where: str) -> list[TextPart | ImagePart | OpaquePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[TextPart | ImagePart | OpaquePart] = []
    for i, item in enumerate(content):
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text" and isinstance(item.get("text"), str):
            parts.append(TextPart(item["text"], _cache(item)))
        elif kind == "image_url" and isinstance((item.get("image_url") or {}).get("url"), str):
            parts.append(replace(image_from_url(item["image_url"]["url"]), cache=_cache(item)))
        elif isinstance(kind, str) and kind:  # input_audio, file, ...: forwarded to Chat upstreams as it came
            parts.append(OpaquePart(SURFACE, kind, item, f"{where}.content.{i}"))
        else:
            raise InvalidRequest(
                f"{where}.content.{i}.type: required (a content part object with a type)",
                param=f"{where}.content.{i}.type",
            )
    return parts


def _message(message: ChatMessageIn, index: int) -> Message:
    where = f"messages.{index}"
    role = message.role
    if role in ("tool", "function"):
        call_id = message.tool_call_id or message.name
        if not call_id:
            raise InvalidRequest(f"{where}.tool_call_id: required for role 'tool'", param=f"{where}.tool_call_id")
        content = tuple(p for p in _parts(message.content, where) if isinstance(p, TextPart | ImagePart))
        return Message(Role.TOOL, (ToolResultPart(call_id, content),))
    parts: list[Part] = []
    if role == "assistant":
        if message.reasoning_content:
            parts.append(ReasoningPart(message.reasoning_content))
        parts += _parts(message.content, where)
        parts += [ToolCallPart(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()]
        return Message(Role.ASSISTANT, tuple(parts))
    return Message(Role(role), tuple(_parts(message.content, where)))
