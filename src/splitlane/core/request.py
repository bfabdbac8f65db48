"""The canonical request every surface decodes into and every upstream encodes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from splitlane.core.parts import Message, Role


class ToolChoiceMode(StrEnum):
    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"  # some tool must be called
    TOOL = "tool"  # the tool named in ToolChoice.name must be called


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function tool. ``parameters`` is a JSON Schema object."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: ToolChoiceMode = ToolChoiceMode.AUTO
    name: str | None = None
    parallel: bool | None = None  # None: the upstream's default


@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class ReasoningOptions:
    """Reasoning as asked for: ``effort`` (OpenAI words) or ``budget_tokens`` (Anthropic)."""

    enabled: bool | None = None
    effort: str | None = None
    budget_tokens: int | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    sampling: Sampling = field(default_factory=Sampling)
    max_output_tokens: int | None = None
    stop: tuple[str, ...] = ()
    reasoning: ReasoningOptions = field(default_factory=ReasoningOptions)
    stream: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Wire fields this surface does not model, kept for adapters of the same family.
    extensions: Mapping[str, Any] = field(default_factory=dict)
    # Which surface the request came in on ("responses", "chat", "messages").
    surface: str = ""
    # The client's request headers, lower-cased, credentials removed.
    headers: Mapping[str, str] = field(default_factory=dict)

    def with_model(self, model: str) -> ChatRequest:
        return self if model == self.model else replace(self, model=model)

    def split_system(self) -> tuple[str, tuple[Message, ...]]:
        """The leading system/developer messages joined as one prompt, and the rest."""
        system: list[str] = []
        rest = list(self.messages)
        while rest and rest[0].role in (Role.SYSTEM, Role.DEVELOPER):
            system.append(rest.pop(0).text)
        return "\n\n".join(s for s in system if s), tuple(rest)
