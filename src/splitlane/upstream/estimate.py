"""A documented token estimate for upstreams that cannot count: about four characters a token.

Used by ``count_tokens`` when the upstream has no counting endpoint (OpenAI-compatible servers).
It counts every text the prompt carries (system, messages, tool calls and results, tool schemas)
plus a few tokens of framing per message, the same shape as tiktoken-based estimates.
"""

from __future__ import annotations

import math

import orjson

from splitlane.core.parts import ImagePart, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_IMAGE = 1_600


def estimate_input_tokens(request: ChatRequest) -> int:
    chars = 0
    images = 0
    for message in request.messages:
        for part in message.parts:
            match part:
                case TextPart() | ReasoningPart():
                    chars += len(part.text)
                case ToolCallPart():
                    chars += len(part.name) + len(part.arguments)
                case ToolResultPart():
                    chars += len(part.text)
                    images += sum(isinstance(p, ImagePart) for p in part.content)
                case ImagePart():
                    images += 1
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description) + len(orjson.dumps(dict(tool.parameters)))
    framing = TOKENS_PER_MESSAGE * len(request.messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + framing + TOKENS_PER_IMAGE * images
