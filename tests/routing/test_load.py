"""Replica load: this gateway's turns in flight and the server's own /metrics (real vLLM bytes)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from splitlane.config import UpstreamConfig
from splitlane.routing.load import LoadBoard, MetricsPoller, metrics_root, parse_metrics
from tests.servers import serve

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vllm"


def test_reads_vllm_running_waiting_and_kv_use() -> None:
    reported = parse_metrics((FIXTURES / "metrics.txt").read_text(), at=5.0)
    assert reported is not None
    assert (reported.running, reported.waiting) == (6.0, 0.0)  # captured with six turns in flight
    assert reported.kv_usage is not None
    assert 0 < reported.kv_usage < 1


def test_reads_sglang_names_and_ignores_other_servers() -> None:
    text = '# TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs{model_name="m"} 3\n'
    text += '# TYPE sglang:num_running_reqs gauge\nsglang:num_running_reqs{model_name="m"} 2\n'
    reported = parse_metrics(text, at=0.0)
    assert reported is not None
    assert (reported.waiting, reported.running) == (3.0, 2.0)
    assert parse_metrics("# TYPE http_requests_total counter\nhttp_requests_total 9\n", at=0.0) is None


def test_load_is_own_turns_plus_everyone_elses_from_a_fresh_report() -> None:
    board = LoadBoard(poll_s=1.0)
    board.started("r1")
    board.started("r1")
    assert board.load("r1", now=0.0) == 2
    reported = parse_metrics((FIXTURES / "metrics.txt").read_text(), at=10.0)
    assert reported is not None
    board.reported["r1"] = replace(reported, own=2)  # six running, two of them ours when it was read
    assert board.load("r1", now=11.0) == 6  # ours counted once: 2 now + 4 of other gateways
    board.ended("r1")
    assert board.load("r1", now=11.0) == 5  # one of ours ended since the report: not counted twice
    board.reported["r1"] = replace(reported, own=0)
    assert board.load("r1", now=11.0) == 7
    assert board.load("r1", now=15.0) == 7
    assert board.load("r1", now=15.1) == 1  # older than three polls and a poll's timeout (2 s): not used


def test_metrics_live_at_the_server_root() -> None:
    assert metrics_root("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000"
    assert metrics_root("http://h:1/v1/") == "http://h:1"


def test_poller_reads_a_server_and_survives_one_without_metrics() -> None:
    body = (FIXTURES / "metrics.txt").read_text()

    async def metrics(_: Request) -> PlainTextResponse:
        return PlainTextResponse(body)

    async def poll(good: str, dead: str) -> LoadBoard:
        config = UpstreamConfig.model_validate({"kind": "openai_chat", "base_url": good})
        board = LoadBoard(poll_s=0.5)
        poller = MetricsPoller(board, [(config, good), (config, dead)])
        try:
            await asyncio.wait_for(poller.poll_once(), 5)
        finally:
            await poller.aclose()
        return board

    with serve(Starlette(routes=[Route("/metrics", metrics)])) as root:
        good, dead = root + "/v1", "http://127.0.0.1:9/v1"
        board = asyncio.run(poll(good, dead))
    assert board.report(good) is not None
    assert board.load(good) == 6
    assert board.report(dead) is None
    assert board.load(dead) == 0
