"""The fast upstream of ``splitlane bench overhead``: an OpenAI Chat Completions server that streams
precomputed chunks (the real API's bytes) as cheaply as Python can, so what is measured is the
gateway in front of it.

A plain ASGI app on uvicorn (uvloop + httptools), run as its own process
(``python -m splitlane.bench.overhead.upstream``). The requested ``model`` picks the pacing:
``paced`` streams one chunk every ``--interval-ms`` (a model decoding at a realistic rate),
``burst`` streams back to back (saturation). ``max_tokens`` is the number of content chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from splitlane.bench.overhead import loopback

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TOKEN = "lorem "  # every content chunk carries it; the load generator counts it
# consecutive chunks differ: LiteLLM ends a stream that repeats one chunk more than 100 times
VARIANTS = ("lorem ", "lorem, ", "lorem. ", "lorem; ", "lorem: ")
DEFAULT_CHUNKS = 16
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
JSON_HEADERS = [(b"content-type", b"application/json")]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def _usage(model: str, chunks: int) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 100, "completion_tokens": chunks, "total_tokens": 100 + chunks},
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


class FastUpstream:
    """The ASGI app; one instance per process."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.content = {m: [_chunk(m, {"content": v}) for v in VARIANTS] for m in ("paced", "burst")}
        self.opening = {m: _chunk(m, {"role": "assistant", "content": ""}) for m in ("paced", "burst")}
        self.closing = {m: _chunk(m, {}, "stop") for m in ("paced", "burst")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await loopback.read_body(receive)
        if scope["method"] == "GET" and scope["path"].endswith("/models"):
            await self._json(send, 200, {"object": "list", "data": [{"id": "paced"}, {"id": "burst"}]})
            return
        if not scope["path"].endswith("/chat/completions"):
            await self._json(send, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        request = orjson.loads(body)
        model = "burst" if request.get("model") == "burst" else "paced"
        chunks = int(request.get("max_tokens") or request.get("max_completion_tokens") or DEFAULT_CHUNKS)
        if not request.get("stream"):
            await self._json(send, 200, self._whole(model, chunks))
            return
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        await send({"type": "http.response.body", "body": self.opening[model], "more_body": True})
        interval = self.interval_s if model == "paced" else 0.0
        content = self.content[model]
        start = time.monotonic()
        for i in range(chunks):
            if interval:
                # absolute deadlines: lateness of one wake-up does not pile up
                delay = start + (i + 1) * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await send({"type": "http.response.body", "body": content[i % len(content)], "more_body": True})
        tail = self.closing[model]
        if (request.get("stream_options") or {}).get("include_usage"):
            tail += _usage(model, chunks)
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n", "more_body": False})

    @staticmethod
    async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
        await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": orjson.dumps(body)})

    @staticmethod
    def _whole(model: str, chunks: int) -> dict[str, Any]:
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": TOKEN * chunks}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": chunks, "total_tokens": 100 + chunks},
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    loopback.serve(FastUpstream(args.interval_ms / 1000), lifespan="off")


if __name__ == "__main__":
    main()
