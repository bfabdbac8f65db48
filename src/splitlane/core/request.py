"""The canonical request every surface decodes into and every upstream encodes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from splitlane.core.parts import CacheHint, Message, Role


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
    cache: CacheHint | None = None


@dataclass(frozen=True, slots=True)
class ServerTool:
    """A tool the provider runs itself (Anthropic ``web_search_20250305``, ``code_execution_...``;
    OpenAI ``web_search``, ``file_search``, ``local_shell``, ...): the surface's own JSON, forwarded
    to an upstream of the same protocol and refused (or dropped, by config) by any other."""

    surface: str
    kind: str
    data: Mapping[str, Any]
    where: str = ""


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
    server_tools: tuple[ServerTool, ...] = ()
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
    # The client's own JSON body, as it came: what a same-protocol hop forwards (with only the
    # gateway's edits); the fields above are the view of it that routing and telemetry read.
    wire: Mapping[str, Any] | None = None
    # The session the planner put this turn in (its key), for upstream cache keys.
    session: str = ""
    # A cache hint on the whole prompt (Anthropic's top-level ``cache_control``).
    cache: CacheHint | None = None

    def with_model(self, model: str) -> ChatRequest:
        return self if model == self.model else replace(self, model=model)

    @property
    def has_cache_hints(self) -> bool:
        return (
            self.cache is not None
            or any(t.cache is not None for t in self.tools)
            or any(getattr(p, "cache", None) is not None for m in self.messages for p in m.parts)
        )

    def split_system_messages(self) -> tuple[tuple[Message, ...], tuple[Message, ...]]:
        """The leading system/developer messages, and the rest."""
        n = 0
        while n < len(self.messages) and self.messages[n].role in (Role.SYSTEM, Role.DEVELOPER):
            n += 1
        return self.messages[:n], self.messages[n:]

    def split_system(self) -> tuple[str, tuple[Message, ...]]:
        """The leading system/developer messages joined as one prompt, and the rest."""
        system, rest = self.split_system_messages()
        return "\n\n".join(text for m in system if (text := m.text)), rest
