"""Where a Chat Completions server puts a model's reasoning: one upstream setting,
``reasoning_format``, read on the way in and written on the way back (earlier reasoning of the
current tool loop, which interleaved-thinking models — MiniMax-M2, Kimi K2, DeepSeek V3.x, GLM,
Qwen3 on vLLM/SGLang — expect to see again).

- unset: read ``reasoning_content`` or ``reasoning``; send nothing back (plain OpenAI);
- ``none``: reasoning is neither read nor sent;
- ``reasoning_content`` (DeepSeek, vLLM, SGLang), ``reasoning`` (OpenRouter, Ollama, vLLM's newer name):
  a string field of the delta and of the assistant message;
- ``reasoning_details`` (OpenRouter, MiniMax): a list of ``{"type": "reasoning.text", "text": ...}``;
- ``think_tags``: ``<think>...</think>`` inside the content (servers without a reasoning parser).
"""

from __future__ import annotations

from typing import Any

from splitlane.core.blocks import BlockWriter
from splitlane.core.events import Event

OPEN, CLOSE = "<think>", "</think>"


class ReasoningReader:
    """Reads reasoning from one stream's deltas."""

    def __init__(self, reasoning_format: str | None) -> None:
        self.format = reasoning_format
        self._thinking = False  # think_tags: inside <think>
        self._held = ""  # think_tags: a suffix that may be the start of a tag

    def field(self, delta: dict[str, Any]) -> str:
        match self.format:
            case None:
                value = delta.get("reasoning_content") or delta.get("reasoning")
            case "reasoning_content" | "reasoning":
                value = delta.get(self.format)
            case "reasoning_details":
                details = delta.get("reasoning_details")
                value = "".join(
                    str(d.get("text") or d.get("summary") or "")
                    for d in details or []
                    if isinstance(d, dict) and d.get("type") in ("reasoning.text", "reasoning.summary")
                )
            case _:
                value = None
        return value if isinstance(value, str) else ""

    def content(self, blocks: BlockWriter, text: str) -> list[Event]:
        if self.format != "think_tags":
            return blocks.text(text)
        text = self._held + text
        self._held = ""
        events: list[Event] = []
        while text:
            tag = CLOSE if self._thinking else OPEN
            at = text.find(tag)
            if at < 0:
                keep = _partial_tag(text, tag)
                text, self._held = text[: len(text) - keep], text[len(text) - keep :]
                events += self._emit(blocks, text)
                break
            events += self._emit(blocks, text[:at])
            self._thinking = not self._thinking
            text = text[at + len(tag) :]
            if not self._thinking:
                events += blocks.close()
                text = text.lstrip("\n")
        return events

    def _emit(self, blocks: BlockWriter, text: str) -> list[Event]:
        if not text:
            return []
        return blocks.reasoning(text) if self._thinking else blocks.text(text)

    def flush(self, blocks: BlockWriter) -> list[Event]:
        held, self._held = self._held, ""
        return self._emit(blocks, held)


def _partial_tag(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could begin ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def reasoning_reader(reasoning_format: str | None) -> ReasoningReader:
    return ReasoningReader(reasoning_format)


def reasoning_fields(reasoning_format: str | None, text: str) -> dict[str, Any]:
    """Fields of an assistant message that carry its earlier reasoning back (think_tags aside)."""
    if not text:
        return {}
    match reasoning_format:
        case "reasoning_content" | "reasoning":
            return {reasoning_format: text}
        case "reasoning_details":
            return {"reasoning_details": [{"type": "reasoning.text", "text": text, "index": 0}]}
    return {}
