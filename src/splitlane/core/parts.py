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


class Role(StrEnum):
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given inline (base64 ``data`` with ``media_type``) or by ``url``."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None


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


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """The result of one tool call, answering ``call_id``."""

    call_id: str
    content: tuple[TextPart | ImagePart, ...]
    is_error: bool = False

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


Part = TextPart | ImagePart | ReasoningPart | ToolCallPart | ToolResultPart


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    def of_type(self, kind: type[P]) -> list[P]:
        return [p for p in self.parts if isinstance(p, kind)]
