"""Servers the tests run on 127.0.0.1: the gateway itself and a fake provider.

The fake provider replays byte-exact provider streams from ``tests/fixtures/<kind>/<scenario>.sse``.
The scenario is the requested upstream model name; a request that carries a tool result gets the
``tool_final`` stream. Every request is recorded (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from splitlane.bench.in_process import serve_in_thread

FIXTURES = Path(__file__).parent / "fixtures"
KIND_BY_PATH = {"/v1/chat/completions": "openai_chat", "/v1/responses": "openai_responses", "/v1/messages": "anthropic"}


serve = serve_in_thread  # one implementation: the benches' in-process server (bench/in_process.py)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeProvider:
    requests: list[Recorded] = field(default_factory=list)
    disconnected_at: list[float] = field(default_factory=list)
    count_tokens_answer: int = 1234

    def last(self, kind: str) -> Recorded:
        return next(r for r in reversed(self.requests) if KIND_BY_PATH.get(r.path) == kind)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._stream, methods=["POST"]),
                Route("/v1/responses", self._stream, methods=["POST"]),
                Route("/v1/messages", self._stream, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count, methods=["POST"]),
                Route("/v1/responses/compact", self._compact, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> Recorded:
        body = orjson.loads(await request.body())
        recorded = Recorded(request.url.path, dict(request.headers), body)
        self.requests.append(recorded)
        return recorded

    async def _compact(self, request: Request) -> Response:
        """OpenAI's remote compaction: the new history, one opaque compaction item."""
        await self._record(request)
        item = {"type": "compaction", "id": "cmp_fx", "encrypted_content": "gAAAAB-openai-sealed"}
        return JSONResponse({"id": "resp_fxcompact", "object": "response.compaction", "output": [item]})

    async def _count(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"input_tokens": self.count_tokens_answer})

    async def _stream(self, request: Request) -> Response:
        recorded = await self._record(request)
        kind = KIND_BY_PATH[request.url.path]
        scenario = str(recorded.body.get("model"))
        if scenario == "status500":
            return _error(kind, 500, "internal failure upstream")
        if scenario == "status429":
            return _error(kind, 429, "slow down", {"retry-after": "7"})
        if scenario == "stall":  # headers only after a long silence
            await asyncio.sleep(5)
        if scenario == "drop":
            text = (FIXTURES / kind / "text.sse").read_bytes()
            return StreamingResponse(_dropping(text), media_type="text/event-stream")
        if scenario == "agent":
            return StreamingResponse(_chunks(agent_turn(kind, recorded.body)), media_type="text/event-stream")
        if scenario == "agent_plan":
            return StreamingResponse(_chunks(agent_plan(kind)), media_type="text/event-stream")
        if scenario == "slow":
            return StreamingResponse(self._slow(request), media_type="text/event-stream")
        if scenario in FAULTS:
            text = (FIXTURES / kind / "text.sse").read_bytes()
            return StreamingResponse(self._watched(FAULTS[scenario](text)), media_type="text/event-stream")
        if _has_tool_result(kind, recorded.body):
            scenario = "tool_final"
        if scenario == "stall":
            scenario = "text"
        data = (FIXTURES / kind / f"{scenario}.sse").read_bytes()
        return StreamingResponse(_chunks(data), media_type="text/event-stream")

    async def _watched(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """A stream whose end (or disconnection) is recorded."""
        try:
            async for chunk in stream:
                yield chunk
        finally:
            self.disconnected_at.append(time.monotonic())

    async def _slow(self, request: Request) -> AsyncIterator[bytes]:
        """A stream that never ends by itself: one text delta every 50 ms."""
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "slow",
            "choices": [{"index": 0, "delta": {"content": "tick "}, "finish_reason": None}],
        }
        try:
            while True:
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
                await asyncio.sleep(0.05)
        finally:
            self.disconnected_at.append(time.monotonic())


def _error(kind: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if kind == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": "api_error", "message": message}}
    else:
        body = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return JSONResponse(body, status_code=status, headers=headers)


def sse_events(data: bytes) -> list[bytes]:
    return [event + b"\n\n" for event in data.split(b"\n\n") if event.strip()]


async def _stall_midstream(data: bytes) -> AsyncIterator[bytes]:
    """Two events, then silence (until the reader goes away)."""
    for event in sse_events(data)[:2]:
        yield event
    await asyncio.sleep(3600)


async def _truncated(data: bytes) -> AsyncIterator[bytes]:
    """The first half of the events, then a clean end of the body: no finish, no [DONE]."""
    events = sse_events(data)
    for event in events[: len(events) // 2]:
        yield event


async def _bad_json(data: bytes) -> AsyncIterator[bytes]:
    """The middle event's data is not JSON."""
    events = sse_events(data)
    middle = len(events) // 2
    head, _, _ = events[middle].rpartition(b"data:")
    events[middle] = head + b'data: {"oops": \n\n'
    for event in events:
        yield event


async def _pause(data: bytes) -> AsyncIterator[bytes]:
    """Two events, 0.6 s of silence, the rest."""
    events = sse_events(data)
    for event in events[:2]:
        yield event
    await asyncio.sleep(0.6)
    for event in events[2:]:
        yield event


FAULTS = {"stall_midstream": _stall_midstream, "truncated": _truncated, "bad_json": _bad_json, "pause": _pause}


async def _dropping(data: bytes) -> AsyncIterator[bytes]:
    """Half of a stream, then the connection dies."""
    yield data[: len(data) // 2]
    await asyncio.sleep(0.05)
    raise ConnectionResetError("fake upstream died mid-stream")


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    """Send the stream in uneven pieces, so parsers must handle events split across reads."""
    for start in range(0, len(data), 97):
        yield data[start : start + 97]
        await asyncio.sleep(0)


def _has_tool_result(kind: str, body: dict[str, Any]) -> bool:
    if kind == "openai_chat":
        return any(m.get("role") == "tool" for m in body.get("messages", []))
    if kind == "openai_responses":
        return any(i.get("type") == "function_call_output" for i in body.get("input", []))
    return any(
        isinstance(m.get("content"), list) and any(b.get("type") == "tool_result" for b in m["content"])
        for m in body.get("messages", [])
    )


# ---------------------------------------------------------------- a scripted agent provider
AGENT_FILE = "created.txt"
AGENT_CONTENT = "hello from splitlane"
AGENT_FINAL = f"Done: I wrote {AGENT_FILE}."
AGENT_PLAN = f"Plan: 1. write {AGENT_FILE} with printf. 2. check it."


def _shell_call(tools: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A call that creates AGENT_FILE, for whichever shell or write tool the agent offers."""
    names = {(t.get("function") or {}).get("name") or t.get("name"): t for t in tools}
    command = f"printf '{AGENT_CONTENT}' > {AGENT_FILE}"
    if "exec_command" in names:  # Codex
        return "exec_command", {"cmd": command}
    for name in ("Bash", "bash", "shell", "run_shell_command"):  # Claude Code, OpenCode, Qwen Code
        if name in names:
            return name, _required(names[name], {"command": command})
    raise ValueError(f"no shell tool among {sorted(n for n in names if n)}")


def _required(tool: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments with every other required one filled, as a model would (OpenCode 1.15's bash
    tool requires a ``description``)."""
    schema = (tool.get("function") or tool).get("parameters") or tool.get("input_schema") or {}
    for key in schema.get("required") or []:
        arguments.setdefault(key, f"{key} of the call")
    return arguments


def _substituted(data: bytes, strings: dict[str, str]) -> bytes:
    """A fixture stream with string values replaced (each event's JSON parsed, edited, written
    again), so scripted turns keep the provider's exact event shapes."""

    def edit(value: Any) -> Any:
        if isinstance(value, str):
            return strings.get(value, value)
        if isinstance(value, list):
            return [edit(v) for v in value]
        if isinstance(value, dict):
            return {k: edit(v) for k, v in value.items()}
        return value

    out: list[bytes] = []
    for event in sse_events(data):
        head, _, payload = event.strip().rpartition(b"data: ")
        out.append(head + b"data: " + orjson.dumps(edit(orjson.loads(payload))) + b"\n\n")
    return b"".join(out)


def chat_stream(deltas: list[dict[str, Any]], finish: str, prompt_tokens: int = 100) -> bytes:
    """An OpenAI Chat Completions stream in the provider's exact shape (as in tests/fixtures)."""
    base = {
        "id": "chatcmpl-agent",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "agent",
        "system_fingerprint": "fp_fx",
    }
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}], "usage": None}
        for d in [{"role": "assistant", "content": "", "refusal": None}, *deltas]
    ]
    chunks.append(
        {**base, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}], "usage": None}
    )
    chunks.append(
        {
            **base,
            "choices": [],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": 12,
                "total_tokens": prompt_tokens + 12,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        }
    )
    return b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def agent_turn(kind: str, body: dict[str, Any]) -> bytes:
    """A new instruction: call a tool that writes AGENT_FILE. A tool result: a final message."""
    final = _answers_a_tool(kind, body) or not body.get("tools")
    if kind != "openai_chat":
        if final:
            strings = {"It is sunny": AGENT_FINAL, " in Paris.": "", "It is sunny in Paris.": AGENT_FINAL}
            return _substituted((FIXTURES / kind / "tool_final.sse").read_bytes(), strings)
        name, arguments = _shell_call(body["tools"])
        encoded = orjson.dumps(arguments).decode()
        strings = {"get_weather": name, '{"city"': encoded, ': "Paris"}': "", '{"city": "Paris"}': encoded}
        return _substituted((FIXTURES / kind / "tool.sse").read_bytes(), strings)
    if final:
        return chat_stream([{"content": AGENT_FINAL}], "stop")
    name, arguments = _shell_call(body["tools"])
    call = {"index": 0, "id": "call_agent1", "type": "function", "function": {"name": name, "arguments": ""}}
    return chat_stream(
        [
            {"tool_calls": [call]},
            {"tool_calls": [{"index": 0, "function": {"arguments": orjson.dumps(arguments).decode()}}]},
        ],
        "tool_calls",
    )


def _answers_a_tool(kind: str, body: dict[str, Any]) -> bool:
    """Whether the request's last message is a tool result (the agent ran the call)."""
    if kind == "openai_chat":
        return bool(body.get("messages")) and body["messages"][-1].get("role") == "tool"
    if kind == "openai_responses":
        items = body.get("input") or [{}]
        return isinstance(items, list) and items[-1].get("type") == "function_call_output"
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    return isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)


def agent_plan(kind: str) -> bytes:
    """A planning turn's answer: AGENT_PLAN as text."""
    if kind == "openai_chat":
        return chat_stream([{"content": AGENT_PLAN}], "stop")
    strings = {"Hello": AGENT_PLAN, " from the": "", " fake upstream.": "", "Hello from the fake upstream.": AGENT_PLAN}
    return _substituted((FIXTURES / kind / "text.sse").read_bytes(), strings)
