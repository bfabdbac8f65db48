"""Non-streaming responses are a fold over the same canonical events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from splitlane.core.errors import UpstreamProtocolError
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
from splitlane.core.parts import ReasoningPart, TextPart, ToolCallPart
from splitlane.core.usage import Usage

OutputPart = TextPart | ReasoningPart | ToolCallPart


@dataclass(frozen=True, slots=True)
class ChatResponse:
    parts: tuple[OutputPart, ...]
    stop_reason: StopReason
    usage: Usage
    stop_sequence: str | None = None
    # on a same-protocol hop: the upstream's own response object, folded from its events
    wire: Mapping[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(slots=True)
class _OpenBlock:
    start: BlockStart
    chunks: list[str] = field(default_factory=list)


class ResponseBuilder:
    """Accumulates events into parts; checks the block protocol as it goes."""

    def __init__(self) -> None:
        self.parts: list[OutputPart] = []
        self.usage = Usage()
        self.finish: Finish | None = None
        self._open: _OpenBlock | None = None

    def feed(self, event: Event) -> OutputPart | None:
        """Take one event; return the part it completed, if any."""
        match event:
            case BlockStart():
                if self._open is not None or event.index != len(self.parts):
                    raise UpstreamProtocolError(f"content block {event.index} started out of order")
                self._open = _OpenBlock(event)
            case TextDelta() | ReasoningDelta():
                self._current(event.index).chunks.append(event.text)
            case ToolArgsDelta():
                self._current(event.index).chunks.append(event.json)
            case BlockEnd():
                return self._close(event)
            case UsageUpdate():
                self.usage = event.usage
            case Finish():
                if self._open is not None:
                    raise UpstreamProtocolError("stream finished inside an open content block")
                self.finish = event
                self.usage = event.usage
        return None

    def _current(self, index: int) -> _OpenBlock:
        if self._open is None or self._open.start.index != index:
            raise UpstreamProtocolError(f"delta for content block {index}, which is not open")
        return self._open

    def _close(self, end: BlockEnd) -> OutputPart:
        block = self._current(end.index)
        self._open = None
        text = "".join(block.chunks)
        part: OutputPart
        match block.start.kind:
            case BlockKind.TEXT:
                part = TextPart(text)
            case BlockKind.REASONING:
                part = ReasoningPart(text, provider_data=end.provider_data)
            case BlockKind.TOOL_CALL:
                part = ToolCallPart(block.start.tool_call_id, block.start.tool_name, text or "{}", end.provider_data)
        self.parts.append(part)
        return part

    def build(self) -> ChatResponse:
        if self.finish is None:
            raise UpstreamProtocolError("upstream stream ended before it finished")
        return ChatResponse(tuple(self.parts), self.finish.stop_reason, self.usage, self.finish.stop_sequence)
