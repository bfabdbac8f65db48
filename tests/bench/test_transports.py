"""bench/transports.py: the scripted Codex session over HTTP and over the Responses WebSocket,
through an in-process gateway (what the bench measures; no timing asserted)."""

from __future__ import annotations

import asyncio
import itertools
import tomllib
from pathlib import Path

from splitlane.api.app import create_app
from splitlane.bench import transports as bench
from splitlane.config import Config
from tests.servers import serve


def test_the_socket_session_sends_a_constant_frame_and_the_http_one_the_growing_conversation(tmp_path: Path) -> None:
    config = Config.model_validate(tomllib.loads(bench.gateway_config(tmp_path / "data")))
    app = create_app(config)
    labels: list[str] = []
    with serve(app) as url:
        samples = asyncio.run(bench.run(url, rounds=1, turns=4, tool_bytes=5000, tick=labels.append))
    assert labels == ["round 1: http", "round 1: websocket"]
    http = [s.sent_bytes for s in samples if s.transport == "http"]
    ws = [s.sent_bytes for s in samples if s.transport == "websocket"]
    assert len(http) == len(ws) == 4
    assert all(later - earlier > 5000 for earlier, later in itertools.pairwise(http))  # it re-sends all
    assert max(ws[1:]) - min(ws[1:]) < 100  # only the new tool result, each turn
    assert ws[-1] < http[-1] / 2
    # eight turns reached the upstream (the prewarm did not), each with its whole conversation
    routed = list(app.state.services.routed)
    assert len(routed) == 8
    assert len({t.session for t in routed}) == 2
