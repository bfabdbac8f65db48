"""Canonical message parts: what every surface and upstream translates to and from.

Parts are frozen dataclasses. Provider-opaque data (thinking signatures, encrypted reasoning,
redacted thinking) rides along in ``provider_data``, keyed by the upstream kind that minted it,
so it survives a round trip through any surface and is only ever sent back to its own provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

ProviderData = Mapping[str, Mapping[str, Any]]
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class CacheHint:
    """A prompt-cache breakpoint: the prefix up to and including this part (or tool, or system
    block) should be cached, for ``ttl`` (Anthropic's ``"5m"`` or ``"1h"``; None: the provider's
    default). Anthropic's ``cache_control``; OpenAI caches prefixes by itself and has no such mark."""

    ttl: str | None = None


Extras = Mapping[str, Any]


class Role(StrEnum):
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    cache: CacheHint | None = None
    # wire fields of this block that the canonical model does not name (Anthropic ``citations``,
    # ...), for an encoder of the same family; other encoders drop them (docs/protocols.md)
    extras: Extras = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given inline (base64 ``data`` with ``media_type``) or by ``url``."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    cache: CacheHint | None = None


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """Model reasoning. ``text`` may be a summary; signatures live in ``provider_data``."""

    text: str
    provider_data: ProviderData = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A call the assistant made. ``arguments`` is the JSON text exactly as produced."""

    id: str
    name: str
    arguments: str
    provider_data: ProviderData = field(default_factory=dict)
    cache: CacheHint | None = None


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """The result of one tool call, answering ``call_id``."""

    call_id: str
    content: tuple[TextPart | ImagePart, ...]
    is_error: bool = False
    cache: CacheHint | None = None

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class OpaquePart:
    """A block of a kind the canonical model does not name (Anthropic ``server_tool_use``,
    ``web_search_tool_result``, ``document``, ``search_result``, ``tool_reference``, ...), kept as
    the surface sent it. A same-protocol hop forwards the client's own JSON, so it arrives as it
    was; an encoder of another protocol cannot express it and refuses it, or drops it where the
    upstream's ``unsupported = "drop"`` says so (docs/protocols.md). ``where`` names it for errors."""

    surface: str
    kind: str
    data: Mapping[str, Any]
    where: str = ""
    cache: CacheHint | None = None


Part = TextPart | ImagePart | ReasoningPart | ToolCallPart | ToolResultPart | OpaquePart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    def of_type(self, kind: type[P]) -> list[P]:
        return [p for p in self.parts if isinstance(p, kind)]
