"""A documented token estimate for upstreams that cannot count: about four characters a token.

Used by ``count_tokens`` when the upstream has no counting endpoint (OpenAI-compatible servers).
It counts every text the prompt carries (system, messages, tool calls and results, tool schemas)
plus a few tokens of framing per message, the same shape as tiktoken-based estimates.
"""

from __future__ import annotations

import math

import orjson

from splitlane.core.parts import ImagePart, OpaquePart, Part, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest, ToolSpec

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_IMAGE = 1_600


def part_chars(part: Part) -> tuple[int, int]:
    """The characters and images one part carries."""
    match part:
        case TextPart() | ReasoningPart():
            return len(part.text), 0
        case ToolCallPart():
            return len(part.name) + len(part.arguments), 0
        case ToolResultPart():
            return len(part.text), sum(isinstance(p, ImagePart) for p in part.content)
        case ImagePart():
            return 0, 1
        case OpaquePart():
            return len(orjson.dumps(dict(part.data))), 0
    return 0, 0


def part_tokens(part: Part) -> int:
    chars, images = part_chars(part)
    return math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_IMAGE * images


def tool_chars(tool: ToolSpec) -> int:
    return len(tool.name) + len(tool.description) + len(orjson.dumps(dict(tool.parameters)))


def tool_tokens(tool: ToolSpec) -> int:
    return math.ceil(tool_chars(tool) / CHARS_PER_TOKEN)


def estimate_input_tokens(request: ChatRequest) -> int:
    chars = sum(tool_chars(t) for t in request.tools)
    images = 0
    for message in request.messages:
        for part in message.parts:
            c, i = part_chars(part)
            chars += c
            images += i
    framing = TOKENS_PER_MESSAGE * len(request.messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + framing + TOKENS_PER_IMAGE * images
