"""Server-sent event framing."""

from __future__ import annotations

from typing import Any

import orjson


def sse(data: Any, event: str | None = None) -> bytes:
    payload = orjson.dumps(data)
    if event is None:
        return b"data: " + payload + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"


DONE = b"data: [DONE]\n\n"

# Keepalives for a silent stream: an SSE comment, which every SSE parser skips (OpenAI's SDKs,
# Codex's eventsource parser), and Anthropic's own ping event, which its SDKs skip.
COMMENT_KEEPALIVE = b": keepalive\n\n"
PING_EVENT = sse({"type": "ping"}, "ping")
