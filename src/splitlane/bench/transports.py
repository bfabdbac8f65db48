"""Codex's two transports through one gateway: the Responses API over HTTP (each turn POSTs the
whole conversation) against the Responses WebSocket (each turn a ``response.create`` frame with
``previous_response_id`` and only the new items, after a ``generate: false`` prewarm), as Codex
0.169 sends them (docs/agents.md#codex-over-websocket).

The session is scripted from Codex's own first request (``CODEX_REQUEST``, captured from the real
CLI): every turn appends the model's output and one tool result of ``tool_bytes``. The upstream is
the simulator's ``instant`` profile inside the gateway's process, so a turn's time is the gateway's
(and loopback's). Sessions alternate between the transports, round after round, in one run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from splitlane.config import UpstreamConfig
from splitlane.core.ids import new_id
from splitlane.upstream.http import HttpClient, post_sse

CODEX_REQUEST = Path(__file__).parent / "data" / "codex-0.169.0-request.json"
TRANSPORTS = ("http", "websocket")
ALIAS = "codex"
HEADERS = {"authorization": "Bearer bench", "openai-beta": "responses_websockets=2026-02-06"}


@dataclass(frozen=True, slots=True)
class TurnSample:
    transport: str
    round: int
    turn: int
    sent_bytes: int  # the request body (HTTP) or frame (WebSocket) the client sent for this turn
    seconds: float  # from sending it to the response's completed event


def gateway_config(data_dir: Path) -> str:
    return (
        f'data_dir = "{data_dir}"\n\n'
        "[upstreams.sim]\n"
        'kind = "sim"\n'
        'sim_profile = "instant"\n\n'
        f"[models.{ALIAS}]\n"
        'upstream = "sim"\n'
    )


def first_request() -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(CODEX_REQUEST.read_bytes())
    return {**body, "model": ALIAS}


def tool_result(turn: int, size: int) -> dict[str, Any]:
    """What a turn adds besides the model's output: a command's output as the next message."""
    line = f"turn {turn}: src/module_{turn}.py:{turn}: def handler_{turn}(request): ...\n"
    text = (line * (size // len(line) + 1))[:size]
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def _output(event: dict[str, Any], items: list[Any]) -> str | None:
    """Note an output item; the response id once it completed."""
    if event.get("type") == "response.output_item.done":
        items.append(event["item"])
    if event.get("type") == "response.completed":
        return str(event["response"]["id"])
    if event.get("type") in ("response.failed", "response.incomplete", "error"):
        raise RuntimeError(f"the turn failed: {orjson.dumps(event)[:300].decode()}")
    return None


async def http_session(url: str, round_: int, turns: int, tool_bytes: int) -> list[TurnSample]:
    client = HttpClient(UpstreamConfig(kind="openai_responses", base_url=url, idle_timeout_s=120))
    body = {**first_request(), "prompt_cache_key": new_id("bench")}
    conversation: list[Any] = list(body["input"])
    samples: list[TurnSample] = []
    try:
        for turn in range(turns):
            request = {**body, "input": conversation}
            sent = len(orjson.dumps(request))
            started = time.perf_counter()
            items: list[Any] = []
            async with post_sse(client, "gateway", "/v1/responses", request, HEADERS) as events:
                async for sse in events:
                    _output(orjson.loads(sse.data), items)
            samples.append(TurnSample("http", round_, turn, sent, time.perf_counter() - started))
            conversation = [*conversation, *items, tool_result(turn, tool_bytes)]
    finally:
        await client.aclose()
    return samples


async def _socket_turn(ws: ClientConnection, frame: dict[str, Any], items: list[Any]) -> str:
    await ws.send(orjson.dumps(frame).decode())
    while True:
        done = _output(orjson.loads(await ws.recv()), items)
        if done is not None:
            return done


async def socket_session(url: str, round_: int, turns: int, tool_bytes: int) -> list[TurnSample]:
    body = {**first_request(), "prompt_cache_key": new_id("bench")}
    *opening, ask = body["input"]
    samples: list[TurnSample] = []
    ws_url = url.replace("http://", "ws://", 1) + "/v1/responses"
    async with connect(ws_url, additional_headers=HEADERS, max_size=None) as ws:  # deflate offered, as Codex does
        # Codex's prewarm: the opening items, nothing generated (not a turn of the session)
        previous = await _socket_turn(ws, {"type": "response.create", **body, "input": opening, "generate": False}, [])
        new: list[Any] = [ask]
        for turn in range(turns):
            frame = {"type": "response.create", **body, "previous_response_id": previous, "input": new}
            text = orjson.dumps(frame)
            started = time.perf_counter()
            items: list[Any] = []
            previous = await _socket_turn(ws, frame, items)
            samples.append(TurnSample("websocket", round_, turn, len(text), time.perf_counter() - started))
            new = [tool_result(turn, tool_bytes)]  # the output items are the socket's to remember
    return samples


async def run(url: str, rounds: int, turns: int, tool_bytes: int, tick: Callable[[str], None]) -> list[TurnSample]:
    """``rounds`` sessions on each transport, alternating."""
    samples: list[TurnSample] = []
    for round_ in range(rounds):
        for transport in TRANSPORTS:
            session = http_session if transport == "http" else socket_session
            samples += await session(url, round_, turns, tool_bytes)
            tick(f"round {round_ + 1}: {transport}")
    return samples


def run_sync(url: str, rounds: int, turns: int, tool_bytes: int, tick: Callable[[str], None]) -> list[TurnSample]:
    return asyncio.run(run(url, rounds, turns, tool_bytes, tick))
