"""Every metric definition, end to end: a fake OpenAI upstream with scripted timings (TTFT, token
rate), the real openai SDK as the agent, the gateway's stored records compared with the script
(within 2%), a tool-call-only turn included. Also: errors, cancellations, /metrics, capture."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from splitlane.store.database import open_engine
from splitlane.telemetry.metrics import summarize_session
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
            "telemetry": {"capture": True},
        }
        with gateway_with(config, data_dir) as url:
            yield url, data_dir


def _turns(data_dir: Path, session: str | None = None) -> list[TurnRecord]:
    async def read() -> list[TurnRecord]:
        engine = open_engine(f"sqlite:///{data_dir / 'splitlane.db'}")
        try:
            return await load_turns(engine, session=session)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _session(client: openai.OpenAI, marker: str, stream: bool) -> list[float]:
    """Three turns with GAP_S of "tool time" between them; returns the gaps the client saw (from
    a reply's end to the next request), which include the SDK's own work around the sleep."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": f"agent {marker}"}]
    gaps, ended = [], 0.0
    for prompt in ("start", TOOL_PROMPT, "finish"):
        messages.append({"role": "user", "content": prompt})
        if ended:
            gaps.append(time.monotonic() - ended)
        if stream:
            for _ in client.chat.completions.create(model="script", messages=messages, stream=True):  # type: ignore[arg-type]
                pass
        else:
            client.chat.completions.create(model="script", messages=messages)  # type: ignore[arg-type]
        ended = time.monotonic()
        messages.append({"role": "assistant", "content": "ok"})
        time.sleep(GAP_S)
    return gaps


@pytest.mark.parametrize("stream", [True, False])
def test_stored_turns_match_the_scripted_timings(scripted: tuple[str, Path], stream: bool) -> None:
    url, data_dir = scripted
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)
    marker = f"timing-{stream}"
    client_gaps = _session(client, marker, stream)
    turns = [t for t in _turns(data_dir) if t.prompt_chars and t.messages >= 2 and t.status == "ok"]
    mine = [t for t in turns if t.session == turns[-1].session][-3:]
    assert len(mine) == 3
    decode_s = (TOKENS - 1) / TOKENS_PER_S
    for turn in mine:
        assert turn.ttft_s == pytest.approx(TTFT_S, rel=0.02)
        assert turn.decode_tps == pytest.approx(TOKENS_PER_S, rel=0.02)
        assert turn.output_tokens == TOKENS
        assert turn.input_tokens == 200
        assert turn.cached_input_tokens == 150
        assert turn.upstream_ttft_s is not None
        assert turn.upstream_ttft_s <= turn.ttft_s
    tool_turn = mine[1]  # tool-call-only: its TTFT is the tool call's start
    assert tool_turn.tool_calls == 1
    assert tool_turn.stop_reason == "tool_use"
    assert mine[0].gap_before_s is None
    for turn, seen in zip(mine[1:], client_gaps, strict=True):
        assert turn.gap_before_s == pytest.approx(seen, rel=0.02)
        assert turn.gap_before_s == pytest.approx(GAP_S, rel=0.05)
    summary = summarize_session([t.times for t in mine])
    wall = 3 * (TTFT_S + decode_s) + 2 * GAP_S
    assert summary.wall_s == pytest.approx(wall, rel=0.02)
    assert summary.effective_tps == pytest.approx(3 * TOKENS / wall, rel=0.02)
    assert summary.cache_hit_ratio == pytest.approx(0.75)
    assert {t.lane for t in mine} == {"act"}
    assert {t.client for t in mine} == {"openai-python"}
    assert {t.stream for t in mine} == {stream}


def test_errors_and_cancellations_are_recorded(scripted: tuple[str, Path]) -> None:
    url, data_dir = scripted
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "error case"}])
    stream = client.chat.completions.create(
        model="script", messages=[{"role": "user", "content": "cancel case"}], stream=True
    )
    next(iter(stream))
    stream.close()  # the agent gives up mid-stream
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        statuses = {t.status for t in _turns(data_dir)}
        if {"error", "cancelled"} <= statuses:
            break
        time.sleep(0.1)
    turns = _turns(data_dir)
    error = next(t for t in turns if t.status == "error")
    assert error.error is not None
    assert error.error.startswith("upstream")
    assert error.model == "broken"
    cancelled = next(t for t in turns if t.status == "cancelled")
    assert cancelled.t_last >= cancelled.t_recv


def test_prometheus_metrics(scripted: tuple[str, Path]) -> None:
    url, _ = scripted
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)
    client.chat.completions.create(model="script", messages=[{"role": "user", "content": "metrics"}])
    text = httpx.get(url + "/metrics").text
    assert (
        'splitlane_turns_total{lane="act",model="script",status="ok",surface="chat",upstream="script/script"}' in text
    )
    assert "splitlane_ttft_seconds_bucket" in text
    assert "splitlane_decode_tokens_per_second_count" in text
    assert 'splitlane_tokens_total{kind="cached_input"' in text
    assert "splitlane_telemetry_queue_depth 0.0" in text
    assert 'splitlane_telemetry_dropped_records{reason="queue_full"} 0.0' in text
    assert "_created" not in text
