"""ChatRequest -> OpenAI Responses request JSON (stateless: store=false, full history each turn)."""

from __future__ import annotations

from typing import Any

from splitlane.config import UpstreamConfig
from splitlane.core.parts import (
    ImagePart,
    Message,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from splitlane.core.request import ChatRequest, ToolChoiceMode

PROVIDER = "openai_responses"
ENCRYPTED = "reasoning.encrypted_content"
# Responses-surface fields a Responses upstream understands as they are.
PASSTHROUGH = (
    "text",
    "truncation",
    "service_tier",
    "prompt_cache_key",
    "user",
    "safety_identifier",
    "prompt_cache_retention",
    "metadata",
)


def encode_request(request: ChatRequest, config: UpstreamConfig | None = None) -> dict[str, Any]:
    instructions, rest = request.split_system()
    body: dict[str, Any] = {
        "model": request.model,
        "input": [item for message in rest for item in _items(message)],
        "stream": True,
        "store": False,
    }
    if instructions:
        body["instructions"] = instructions
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": dict(t.parameters),
                **({"strict": t.strict} if t.strict is not None else {}),
            }
            for t in request.tools
        ]
        choice = request.tool_choice
        body["tool_choice"] = (
            {"type": "function", "name": choice.name} if choice.mode is ToolChoiceMode.TOOL else str(choice.mode)
        )
        if choice.parallel is not None:
            body["parallel_tool_calls"] = choice.parallel
    for key, value in (
        ("temperature", request.sampling.temperature),
        ("top_p", request.sampling.top_p),
        ("max_output_tokens", request.max_output_tokens),
    ):
        if value is not None:
            body[key] = value
    reasoning = _reasoning(request)
    if reasoning:
        body["reasoning"] = reasoning
        body["include"] = [ENCRYPTED]
    server_tools = [dict(t.data) for t in request.server_tools if t.surface == "responses"]
    if server_tools:
        body["tools"] = body.get("tools", []) + server_tools
    if request.surface == "responses":
        body.update({k: v for k, v in request.extensions.items() if k in PASSTHROUGH})
    if "prompt_cache_key" not in body and config is not None and config.cache.prompt_cache_key and request.session:
        body["prompt_cache_key"] = request.session
    return body


def _reasoning(request: ChatRequest) -> dict[str, Any]:
    options = request.reasoning
    out: dict[str, Any] = {}
    if options.effort:
        out["effort"] = options.effort
    elif options.budget_tokens:
        budget = options.budget_tokens
        out["effort"] = "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"
    if options.summary:
        out["summary"] = options.summary
    return out


def _input_part(part: TextPart | ImagePart, role: Role) -> dict[str, Any]:
    if isinstance(part, TextPart):
        kind = "output_text" if role is Role.ASSISTANT else "input_text"
        return {"type": kind, "text": part.text}
    return {"type": "input_image", "image_url": part.url or f"data:{part.media_type};base64,{part.data}"}


def _items(message: Message) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    pending: list[TextPart | ImagePart] = []

    def flush() -> None:
        if pending:
            items.append(
                {
                    "type": "message",
                    "role": str(message.role),
                    "content": [_input_part(p, message.role) for p in pending],
                }
            )
            pending.clear()

    for part in message.parts:
        match part:
            case TextPart() | ImagePart():
                pending.append(part)
                continue
        flush()
        match part:
            case ReasoningPart(text=text, provider_data=data) if data.get(PROVIDER):
                mine = data[PROVIDER]
                item: dict[str, Any] = {
                    "type": "reasoning",
                    "id": mine.get("id"),
                    "summary": [{"type": "summary_text", "text": text}] if text else [],
                }
                if mine.get("encrypted_content"):
                    item["encrypted_content"] = mine["encrypted_content"]
                items.append(item)
            case ToolCallPart(id=call_id, name=name, arguments=arguments):
                items.append({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
            case ToolResultPart(call_id=call_id):
                items.append({"type": "function_call_output", "call_id": call_id, "output": part.text})
    flush()
    return items
