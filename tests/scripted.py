"""A fake OpenAI Chat upstream with scripted timings (TTFT, token rate; a tool-call-only turn on
request), and a gateway in front of it with capture on: for the telemetry and report tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from splitlane.store.database import open_engine
from splitlane.telemetry.queries import load_turns
from splitlane.telemetry.records import TurnRecord
from tests.conftest import gateway_with
from tests.servers import serve

TTFT_S = 0.5
TOKENS_PER_S = 50.0
TOKENS = 41  # decode of a turn: 40 intervals at 50 tok/s = 0.8 s
GAP_S = 2.0
TOOL_PROMPT = "call the tool"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-script",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "script",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


async def _scripted(body: dict[str, Any]) -> AsyncIterator[bytes]:
    """Deltas paced to absolute deadlines from the request's arrival, so no sleep error piles up."""
    start = time.monotonic()
    tool = TOOL_PROMPT in str(body["messages"][-1].get("content"))
    yield _chunk({"role": "assistant", "content": ""})
    for k in range(TOKENS):
        await asyncio.sleep(max(0.0, start + TTFT_S + k / TOKENS_PER_S - time.monotonic()))
        if not tool:
            yield _chunk({"content": f"w{k} "})
        elif k == 0:
            call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "bash", "arguments": ""}}
            yield _chunk({"tool_calls": [call]})
        else:
            yield _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "x" if k > 1 else '{"c":"'}}]})
    if tool:
        yield _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]})
    yield _chunk({}, "tool_calls" if tool else "stop")
    usage = {"prompt_tokens": 200, "completion_tokens": TOKENS, "total_tokens": 200 + TOKENS}
    usage["prompt_tokens_details"] = {"cached_tokens": 150}  # type: ignore[assignment]
    yield (
        b"data: "
        + orjson.dumps(
            {
                "id": "chatcmpl-script",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "script",
                "choices": [],
                "usage": usage,
            }
        )
        + b"\n\n"
    )
    yield b"data: [DONE]\n\n"


async def _endpoint(request: Request) -> Response:
    body = orjson.loads(await request.body())
    if body["model"] == "broken":
        return Response(
            b'{"error":{"message":"boom","type":"server_error"}}', status_code=500, media_type="application/json"
        )
    return StreamingResponse(_scripted(body), media_type="text/event-stream")


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("scripted")
    with serve(Starlette(routes=[Route("/v1/chat/completions", _endpoint, methods=["POST"])])) as upstream:
        config = {
            "upstreams": {"script": {"kind": "openai_chat", "base_url": upstream + "/v1"}},
            "models": {"script": {"upstream": "script"}, "broken": {"upstream": "script"}},
            "telemetry": {"capture": True, "capture_redact": ["SECRET-[0-9]+"]},
        }
        with gateway_with(config, data_dir) as url:
            yield url, data_dir


def stored_turns(data_dir: Path, session: str | None = None) -> list[TurnRecord]:
    async def read() -> list[TurnRecord]:
        engine = open_engine(f"sqlite:///{data_dir / 'splitlane.db'}")
        try:
            return await load_turns(engine, session=session)
        finally:
            await engine.dispose()

    return asyncio.run(read())
