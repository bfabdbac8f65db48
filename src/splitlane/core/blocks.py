"""BlockWriter: turns "here is some text / reasoning / tool-call data" into well-ordered events.

Every upstream decoder uses it, so the block protocol (indices in order, one block open at a
time, exactly one Finish) is enforced in one place.
"""

from __future__ import annotations

from collections.abc import Hashable

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
)
from splitlane.core.parts import ProviderData
from splitlane.core.usage import EngineStats, Usage


class BlockWriter:
    def __init__(self) -> None:
        self._next_index = 0
        self._open: tuple[BlockKind, Hashable] | None = None
        self._closed_keys: set[Hashable] = set()
        self.has_tool_calls = False
        self.finished = False

    @property
    def open_index(self) -> int:
        return self._next_index - 1

    def _ensure(self, kind: BlockKind, key: Hashable = None, call_id: str = "", name: str = "") -> list[Event]:
        if self._open == (kind, key):
            return []
        events = self.close()
        if key is not None and (kind, key) in self._closed_keys:
            raise UpstreamProtocolError(f"upstream resumed {kind} block {key!r} after it was closed")
        self._open = (kind, key)
        if kind is BlockKind.TOOL_CALL:
            self.has_tool_calls = True
        events.append(BlockStart(self._next_index, kind, call_id, name))
        self._next_index += 1
        return events

    def text(self, text: str) -> list[Event]:
        if not text:
            return []
        events = self._ensure(BlockKind.TEXT)
        events.append(TextDelta(self.open_index, text))
        return events

    def reasoning(self, text: str, key: Hashable = None) -> list[Event]:
        events = self._ensure(BlockKind.REASONING, key)
        if text:
            events.append(ReasoningDelta(self.open_index, text))
        return events

    def tool_call(self, key: Hashable, call_id: str, name: str) -> list[Event]:
        """Open the block for tool call ``key`` (closing whatever was open)."""
        if self._open == (BlockKind.TOOL_CALL, key):
            raise UpstreamProtocolError(f"tool call {key!r} started twice")
        return self._ensure(BlockKind.TOOL_CALL, key, call_id, name)

    def tool_args(self, key: Hashable, fragment: str) -> list[Event]:
        if self._open != (BlockKind.TOOL_CALL, key):
            raise UpstreamProtocolError(f"arguments for tool call {key!r}, which is not open")
        return [ToolArgsDelta(self.open_index, fragment)] if fragment else []

    def is_open(self, kind: BlockKind, key: Hashable = None) -> bool:
        return self._open == (kind, key)

    def close(self, provider_data: ProviderData | None = None) -> list[Event]:
        if self._open is None:
            return []
        self._closed_keys.add(self._open)
        self._open = None
        return [BlockEnd(self.open_index, provider_data or {})]

    def finish(
        self,
        stop_reason: StopReason,
        usage: Usage,
        stop_sequence: str | None = None,
        engine: EngineStats | None = None,
    ) -> list[Event]:
        if self.finished:
            raise UpstreamProtocolError("upstream finished twice")
        events = self.close()
        if stop_reason is StopReason.END_TURN and self.has_tool_calls:
            stop_reason = StopReason.TOOL_USE
        self.finished = True
        events.append(Finish(stop_reason, usage, stop_sequence, engine))
        return events
