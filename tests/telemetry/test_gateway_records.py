"""Every metric definition, end to end: a fake OpenAI upstream with scripted timings (TTFT, token
rate), the real openai SDK as the agent, the gateway's stored records compared with the script
(within 2%), a tool-call-only turn included. Also: errors, cancellations, /metrics, capture."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from splitlane.telemetry.metrics import summarize_session
from tests.scripted import GAP_S, TOKENS, TOKENS_PER_S, TOOL_PROMPT, TTFT_S, scripted, stored_turns

__all__ = ["scripted"]  # the fixture


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
    turns = [t for t in stored_turns(data_dir) if t.prompt_chars and t.messages >= 2 and t.status == "ok"]
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
        statuses = {t.status for t in stored_turns(data_dir)}
        if {"error", "cancelled"} <= statuses:
            break
        time.sleep(0.1)
    turns = stored_turns(data_dir)
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
