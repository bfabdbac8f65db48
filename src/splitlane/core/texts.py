"""A message's content as plain text, part by part: what prompt hashes and sizes are taken over."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from splitlane.core.parts import ImagePart, Message, OpaquePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart


def part_texts(message: Message) -> Iterator[str]:
    """Each part's text (a tool call: its name and arguments; an image: a marker; an opaque part: its JSON)."""
    for part in message.parts:
        match part:
            case TextPart() | ReasoningPart() | ToolResultPart():
                yield part.text
            case ToolCallPart():
                yield part.name + part.arguments
            case ImagePart():
                yield "<image>"
            case OpaquePart():
                yield orjson.dumps(dict(part.data)).decode()
