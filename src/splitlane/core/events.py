"""Canonical stream events.

A stream is a sequence of content blocks, each opened by ``BlockStart``, filled by deltas and
closed by ``BlockEnd``, with block indices 0, 1, 2, ... strictly in order and at most one block
open at a time; then exactly one ``Finish``. ``Started`` (the upstream has begun its answer)
and ``UsageUpdate`` may come before the first block. Errors are raised from the stream as
``SplitlaneError``; surfaces turn them into their own error events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from splitlane.core.parts import ProviderData
from splitlane.core.usage import EngineStats, Usage


class BlockKind(StrEnum):
    TEXT = "text"
    REASONING = "reasoning"
    TOOL_CALL = "tool_call"


class StopReason(StrEnum):
    END_TURN = "end_turn"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    TOOL_USE = "tool_use"
    CONTENT_FILTER = "content_filter"
    PAUSE_TURN = "pause_turn"
    CONTEXT_WINDOW = "context_window"


@dataclass(frozen=True, slots=True)
class Started:
    """The upstream has begun its answer (a Chat stream's first chunk, a Responses stream's
    ``response.created``) before any content: the gateway opens the client's stream with it — its
    headers and the surface's own opening events — instead of holding them back until the first
    token, when they would sit on the time to first token."""


@dataclass(frozen=True, slots=True)
class Relay:
    """One upstream event as it came, on a same-protocol hop: ``frame`` is its SSE framing (the
    upstream's ``data`` text unchanged), ``data`` its parsed JSON. It follows the canonical events
    decoded from it, which the gateway reads (telemetry, the turn's end) and the client never sees;
    the client gets the frames."""

    frame: bytes
    data: Any = None


@dataclass(frozen=True, slots=True)
class BlockStart:
    index: int
    kind: BlockKind
    tool_call_id: str = ""
    tool_name: str = ""


@dataclass(frozen=True, slots=True)
class TextDelta:
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolArgsDelta:
    index: int
    json: str


@dataclass(frozen=True, slots=True)
class BlockEnd:
    """Closes a block; reasoning blocks carry their signature or encrypted form here."""

    index: int
    provider_data: ProviderData = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UsageUpdate:
    """Usage known before the end (e.g. input tokens from Anthropic's message_start)."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class Finish:
    stop_reason: StopReason
    usage: Usage
    stop_sequence: str | None = None
    engine: EngineStats | None = None  # the embedded engine's own statistics


Event = Started | Relay | BlockStart | TextDelta | ReasoningDelta | ToolArgsDelta | BlockEnd | UsageUpdate | Finish
