"""A scripted OpenAI Chat upstream for Codex's remote compaction: it counts a prompt's tokens as
its JSON size / 4 (Codex's own estimate), asks for one shell command whose output is long, and
once the conversation holds the gateway's compaction summary it finishes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from splitlane.api.responses.compaction import HANDOFF
from tests.servers import chat_stream

FINAL = "Finished after the compaction."
SUMMARY = "Summary: the user wants a long listing; one shell command printed it."


@dataclass
class CompactingChat:
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])

    async def _chat(self, request: Request) -> Response:
        raw = await request.body()
        body = orjson.loads(raw)
        self.requests.append(body)
        tokens = len(raw) // 4
        text = orjson.dumps(body.get("messages")).decode()
        if not body.get("tools"):  # the gateway's summary turn
            data = chat_stream([{"content": SUMMARY}], "stop", tokens)
        elif HANDOFF.strip()[:40] in text:
            data = chat_stream([{"content": FINAL}], "stop", tokens)
        else:
            call = {
                "index": 0,
                "id": "call_long",
                "type": "function",
                "function": {"name": "exec_command", "arguments": ""},
            }
            arguments = orjson.dumps({"cmd": "seq 1 3000"}).decode()
            data = chat_stream(
                [{"tool_calls": [call]}, {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}],
                "tool_calls",
                tokens,
            )
        return Response(data, media_type="text/event-stream")
