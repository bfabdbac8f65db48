"""A scripted Anthropic upstream with a 128K-token context window that refuses longer prompts, as
the provider does (400 ``prompt is too long``). Its token count is the request's JSON size / 4,
scaled by ``SCALE`` so that a few tool turns of Claude Code's ~30K-token prompt cross the window.
Each tool turn runs a command printing 29,000 characters; a compaction request gets a summary;
after a compaction the next turn ends the task."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

WINDOW = 128_000
SCALE = 2.5
TOOL_TURNS = 12
COMPACTION = "create a detailed summary"  # Claude Code's compaction prompt says this
DONE = "All done."


@dataclass
class Seen:
    tokens: int
    status: int
    compaction: bool


@dataclass
class WindowUpstream:
    seen: list[Seen] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])

    async def _messages(self, request: Request) -> Response:
        raw = await request.body()
        body = orjson.loads(raw)
        tokens = int(len(raw) / 4 * SCALE)
        messages = body.get("messages") or []
        compaction = COMPACTION in orjson.dumps(messages[-1:]).decode().lower()
        if tokens > WINDOW:
            self.seen.append(Seen(tokens, 400, compaction))
            message = f"prompt is too long: {tokens} tokens > {WINDOW} maximum"
            error = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
            return JSONResponse(error, status_code=400)
        self.seen.append(Seen(tokens, 200, compaction))
        results = sum(
            1
            for m in messages
            if isinstance(m.get("content"), list)
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"
        )
        if compaction:
            summary = "Summary: python printed many x characters, several times."
            return _stream([{"type": "text", "text": summary}], tokens)
        if any(s.compaction for s in self.seen) or results >= TOOL_TURNS:
            return _stream([{"type": "text", "text": DONE}], tokens)
        command = {"command": "python3 -c \"print('x' * 29000)\"", "description": "print x"}
        return _stream([{"type": "tool_use", "id": f"toolu_w{results}", "name": "Bash", "input": command}], tokens)


def _stream(content: list[dict[str, Any]], tokens: int) -> Response:
    stop = "tool_use" if content[0]["type"] == "tool_use" else "end_turn"
    usage = {"input_tokens": tokens, "output_tokens": 1}
    message = {"id": "msg_w", "type": "message", "role": "assistant", "model": "window", "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}  # fmt: skip
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    for index, block in enumerate(content):
        if block["type"] == "text":
            start, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": orjson.dumps(block["input"]).decode()}
        events += [
            {"type": "content_block_start", "index": index, "content_block": start},
            {"type": "content_block_delta", "index": index, "delta": delta},
            {"type": "content_block_stop", "index": index},
        ]
    events += [
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    data = b"".join(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events)
    return Response(data, media_type="text/event-stream")
