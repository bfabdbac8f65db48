"""ChatRequest -> OpenAI Chat Completions request JSON."""

from __future__ import annotations

from typing import Any

from splitlane.core.parts import ImagePart, Message, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest, ToolChoiceMode

# Chat-surface fields that an OpenAI-compatible upstream understands as they are.
PASSTHROUGH = (
    "response_format",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "user",
    "service_tier",
    "prediction",
    "min_p",
    "repetition_penalty",
    "ignore_eos",  # vLLM, SGLang, llama.cpp server: generate exactly max_tokens (benchmark replay)
)


def encode_request(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [m for message in request.messages for m in encode_message(message)],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": dict(t.parameters),
                    **({"strict": t.strict} if t.strict is not None else {}),
                },
            }
            for t in request.tools
        ]
        body["tool_choice"] = _tool_choice(request)
        if request.tool_choice.parallel is not None:
            body["parallel_tool_calls"] = request.tool_choice.parallel
    sampling = request.sampling
    for key, value in (
        ("temperature", sampling.temperature),
        ("top_p", sampling.top_p),
        ("top_k", sampling.top_k),
        ("seed", sampling.seed),
        ("max_tokens", request.max_output_tokens),
    ):
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop"] = list(request.stop)
    if request.reasoning.effort:
        body["reasoning_effort"] = request.reasoning.effort
    if request.surface == "chat":
        body.update({k: v for k, v in request.extensions.items() if k in PASSTHROUGH})
    return body


def _tool_choice(request: ChatRequest) -> Any:
    choice = request.tool_choice
    if choice.mode is ToolChoiceMode.TOOL:
        return {"type": "function", "function": {"name": choice.name}}
    return str(choice.mode)


def _content(parts: list[TextPart | ImagePart]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.text})
        else:
            url = part.url or f"data:{part.media_type};base64,{part.data}"
            out.append({"type": "image_url", "image_url": {"url": url}})
    return out


def encode_message(message: Message) -> list[dict[str, Any]]:
    if message.role is Role.TOOL:
        return [{"role": "tool", "tool_call_id": r.call_id, "content": r.text} for r in message.of_type(ToolResultPart)]
    visible = [p for p in message.parts if isinstance(p, TextPart | ImagePart)]
    if message.role is not Role.ASSISTANT:
        return [{"role": str(message.role), "content": _content(visible)}]
    out: dict[str, Any] = {"role": "assistant", "content": _content(visible) or None}
    calls = message.of_type(ToolCallPart)
    if calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    return [out]
