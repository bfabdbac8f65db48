"""ChatRequest -> Anthropic Messages request JSON."""

from __future__ import annotations

from typing import Any

import orjson

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

PROVIDER = "anthropic"
# Messages-surface fields an Anthropic upstream understands as they are.
PASSTHROUGH = ("service_tier", "output_config", "context_management", "container", "mcp_servers")
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 24576, "max": 32000}


def encode_request(request: ChatRequest, default_max_tokens: int) -> dict[str, Any]:
    system, rest = request.split_system()
    body: dict[str, Any] = {
        "model": request.model,
        "messages": _merge([m for m in (_message(msg) for msg in rest) if m["content"]]),
        "max_tokens": request.max_output_tokens or default_max_tokens,
        "stream": True,
    }
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)} for t in request.tools
        ]
        body["tool_choice"] = _tool_choice(request)
    sampling = request.sampling
    for key, value in (("temperature", sampling.temperature), ("top_p", sampling.top_p), ("top_k", sampling.top_k)):
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if "user_id" in request.metadata:
        body["metadata"] = {"user_id": request.metadata["user_id"]}
    thinking = _thinking(request, body["max_tokens"])
    if thinking is not None:
        body["thinking"] = thinking
    if request.surface == "messages":
        body.update({k: v for k, v in request.extensions.items() if k in PASSTHROUGH})
    return body


def _thinking(request: ChatRequest, max_tokens: int) -> dict[str, Any] | None:
    raw = request.extensions.get("thinking") if request.surface == "messages" else None
    if isinstance(raw, dict):
        return raw
    options = request.reasoning
    if options.enabled is False or (options.budget_tokens is None and options.effort in (None, "none")):
        return None
    budget = options.budget_tokens or EFFORT_BUDGETS.get(options.effort or "medium", 8192)
    budget = max(1024, min(budget, max_tokens - 1))
    return {"type": "enabled", "budget_tokens": budget} if max_tokens > 1024 else None


def _tool_choice(request: ChatRequest) -> dict[str, Any]:
    choice = request.tool_choice
    modes: dict[ToolChoiceMode, dict[str, Any]] = {
        ToolChoiceMode.AUTO: {"type": "auto"},
        ToolChoiceMode.NONE: {"type": "none"},
        ToolChoiceMode.REQUIRED: {"type": "any"},
        ToolChoiceMode.TOOL: {"type": "tool", "name": choice.name},
    }
    out = dict(modes[choice.mode])
    if choice.parallel is False and choice.mode is not ToolChoiceMode.NONE:
        out["disable_parallel_tool_use"] = True
    return out


def _image(part: ImagePart) -> dict[str, Any]:
    if part.url:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    return {"type": "image", "source": {"type": "base64", "media_type": part.media_type, "data": part.data}}


def _block(part: object) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text} if text else None
        case ImagePart():
            return _image(part)
        case ReasoningPart(text=text, provider_data=data):
            mine = data.get(PROVIDER)
            if not mine:
                return None  # never fabricate or cross-send a signature
            if "redacted" in mine:
                return {"type": "redacted_thinking", "data": mine["redacted"]}
            return {"type": "thinking", "thinking": text, "signature": mine.get("signature", "")}
        case ToolCallPart(id=call_id, name=name, arguments=arguments):
            return {"type": "tool_use", "id": call_id, "name": name, "input": _arguments(arguments)}
        case ToolResultPart(call_id=call_id, content=content, is_error=is_error):
            blocks = [b for b in (_block(p) for p in content) if b]
            out: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": blocks}
            if is_error:
                out["is_error"] = True
            return out
    return None


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _message(message: Message) -> dict[str, Any]:
    role = "assistant" if message.role is Role.ASSISTANT else "user"
    blocks = [b for b in (_block(p) for p in message.parts) if b]
    return {"role": role, "content": blocks}


def _merge(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join neighbours of the same role (tool results then user text make one user turn)."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"].extend(message["content"])
        else:
            merged.append({"role": message["role"], "content": list(message["content"])})
    return merged
