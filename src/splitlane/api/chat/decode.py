"""Chat Completions wire -> ChatRequest."""

from __future__ import annotations

from typing import Any

from splitlane.api.chat.schema import ChatBody, ChatMessageIn
from splitlane.api.images import image_from_url
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import ImagePart, Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest, ReasoningOptions, Sampling, ToolChoice, ToolChoiceMode, ToolSpec


def decode_request(body: ChatBody, headers: dict[str, str]) -> ChatRequest:
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
        surface="chat",
        headers=headers,
    )


def include_usage(request: ChatRequest) -> bool:
    options = request.extensions.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


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


def _parts(content: str | list[dict[str, Any]] | None, where: str) -> list[TextPart | ImagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[TextPart | ImagePart] = []
    for i, item in enumerate(content):
        kind = item.get("type")
        if kind == "text" and isinstance(item.get("text"), str):
            parts.append(TextPart(item["text"]))
        elif kind == "image_url" and isinstance((item.get("image_url") or {}).get("url"), str):
            parts.append(image_from_url(item["image_url"]["url"]))
        else:
            raise InvalidRequest(
                f"{where}.content.{i}: unsupported content part type {kind!r}", param=f"{where}.content.{i}.type"
            )
    return parts


def _message(message: ChatMessageIn, index: int) -> Message:
    where = f"messages.{index}"
    role = message.role
    if role in ("tool", "function"):
        call_id = message.tool_call_id or message.name
        if not call_id:
            raise InvalidRequest(f"{where}.tool_call_id: required for role 'tool'", param=f"{where}.tool_call_id")
        return Message(Role.TOOL, (ToolResultPart(call_id, tuple(_parts(message.content, where))),))
    parts: list[Part] = []
    if role == "assistant":
        if message.reasoning_content:
            parts.append(ReasoningPart(message.reasoning_content))
        parts += _parts(message.content, where)
        parts += [ToolCallPart(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or ()]
        return Message(Role.ASSISTANT, tuple(parts))
    return Message(Role(role), tuple(_parts(message.content, where)))
