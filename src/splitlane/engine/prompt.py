"""Canonical messages -> the plain turns a chat template takes (strictly alternating)."""

from __future__ import annotations

from splitlane.core.parts import ImagePart, Message, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest, ToolChoiceMode
from splitlane.engine import toolcalls
from splitlane.engine.templates import ChatTurn


def tools_enabled(request: ChatRequest) -> bool:
    return bool(request.tools) and request.tool_choice.mode is not ToolChoiceMode.NONE


def turns(request: ChatRequest) -> list[ChatTurn]:
    system, rest = request.split_system()
    if tools_enabled(request):
        system = "\n\n".join(s for s in (system, toolcalls.instructions(request.tools)) if s)
    out: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    for message in rest:
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        content = _text(message)
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + content
        elif (out and out[-1]["role"] == "system" and role == "assistant") or (not out and role == "assistant"):
            out += [{"role": "user", "content": ""}, {"role": role, "content": content}]
        else:
            out.append({"role": role, "content": content})
    return list(out)


def _text(message: Message) -> str:
    pieces: list[str] = []
    for part in message.parts:
        match part:
            case TextPart(text=text):
                pieces.append(f"[{message.role}] {text}" if message.role in (Role.SYSTEM, Role.DEVELOPER) else text)
            case ImagePart():
                pieces.append("[image]")
            case ToolCallPart(name=name, arguments=arguments):
                pieces.append(f'{toolcalls.OPEN}{{"name": "{name}", "arguments": {arguments}}}{toolcalls.CLOSE}')
            case ToolResultPart(call_id=call_id):
                pieces.append(f'<tool_result id="{call_id}">{part.text}</tool_result>')
    return "\n".join(pieces)
