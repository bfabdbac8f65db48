"""Every metric definition, end to end: a fake OpenAI upstream with scripted timings (TTFT, token
rate), the real openai SDK as the agent, the gateway's stored records checked against the script
and what the client saw, a tool-call-only turn included. Also: errors, cancellations, /metrics, capture."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from splitlane.telemetry.metrics import summarize_session
from tests.scripted import GAP_S, TOKENS, TOKENS_PER_S, TOOL_PROMPT, TTFT_S, scripted, stored_turns

__all__ = ["scripted"]  # the fixture

EPS = 1e-6  # the stored stamps are seconds since the epoch in a float: ~0.2 µs apart


@dataclass(frozen=True)
class Seen:
    """What the client saw of one turn, on ``time.monotonic()``: the gateway shares that clock, so
    differences of its stored stamps are bounded by these (whatever else the machine is doing)."""

    sent: float  # just before the request went out
    first: float  # the first chunk with content arrived (streaming), or the reply (not streaming)
    ended: float  # the reply's end arrived


def _session(client: openai.OpenAI, marker: str, stream: bool) -> list[Seen]:
    """Three turns with GAP_S of "tool time" between them."""
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": f"agent {marker}"}]
    seen = []
    for prompt in ("start", TOOL_PROMPT, "finish"):
        messages.append({"role": "user", "content": prompt})
        sent = time.monotonic()
        if stream:
            first = 0.0
            for chunk in client.chat.completions.create(model="script", messages=messages, stream=True):
                delta = chunk.choices[0].delta if chunk.choices else None
                if not first and delta is not None and (delta.content or delta.tool_calls):
                    first = time.monotonic()
        else:
            client.chat.completions.create(model="script", messages=messages)
            first = time.monotonic()
        seen.append(Seen(sent, first, time.monotonic()))
        messages.append({"role": "assistant", "content": "ok"})
        time.sleep(GAP_S)
    return seen


@pytest.mark.parametrize("stream", [True, False])
def test_stored_turns_match_the_scripted_timings(scripted: tuple[str, Path], stream: bool) -> None:
    """Each stored stamp is checked against bounds the client saw, which no stall can break (a slow
    commit before the reply's end, a collection in this process — both have happened on CI; an
    interval within 2% of the script would not survive them): the upstream paces its deltas to
    deadlines from the request's arrival, so the gateway's TTFT is at least the script's and at most
    what the client waited; its gap contains the client's (the previous reply's last event precedes
    its end there) and fits between the previous request going out plus that turn's stored
    duration, and the next turn's first chunk. A wrong definition (TTFT to the role chunk, the gap
    from the first token, decode rate over all tokens) falls outside."""
    url, data_dir = scripted
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)
    marker = f"timing-{stream}"
    seen = _session(client, marker, stream)
    turns = [t for t in stored_turns(data_dir) if t.prompt_chars and t.messages >= 2 and t.status == "ok"]
    mine = [t for t in turns if t.session == turns[-1].session][-3:]
    assert len(mine) == 3
    decode_s = (TOKENS - 1) / TOKENS_PER_S  # the last content token's deadline, after the first's
    for turn, client_saw in zip(mine, seen, strict=True):
        waited = client_saw.first - client_saw.sent  # ≥ the gateway's TTFT: it holds it
        assert turn.ttft_s is not None
        assert TTFT_S - EPS <= turn.ttft_s <= waited + EPS
        assert (
            TTFT_S + decode_s - waited - EPS <= turn.times.decode_s <= client_saw.ended - client_saw.sent - TTFT_S + EPS
        )
        assert turn.decode_tps == pytest.approx((TOKENS - 1) / turn.times.decode_s)
        assert turn.output_tokens == TOKENS
        assert turn.input_tokens == 200
        assert turn.cached_input_tokens == 150
        assert turn.upstream_ttft_s is not None
        assert turn.upstream_ttft_s <= turn.ttft_s
    tool_turn = mine[1]  # tool-call-only: its TTFT is the tool call's start
    assert tool_turn.tool_calls == 1
    assert tool_turn.stop_reason == "tool_use"
    assert mine[0].gap_before_s is None
    for k in (1, 2):
        gap, before, after = mine[k].gap_before_s, seen[k - 1], seen[k]
        assert gap is not None
        assert after.sent - before.ended - EPS <= gap  # the client's gap, GAP_S of sleep inside it
        assert GAP_S - EPS <= gap <= after.first - before.sent - (mine[k - 1].t_last - mine[k - 1].t_recv) + EPS
    summary = summarize_session([t.times for t in mine])
    assert summary.gap_s == pytest.approx(sum(t.gap_before_s or 0.0 for t in mine))
    assert summary.wall_s == pytest.approx(summary.wait_s + summary.decode_s + summary.gap_s)
    assert 3 * (TTFT_S + decode_s) + 2 * GAP_S - EPS <= summary.wall_s <= seen[-1].ended - seen[0].sent + EPS
    assert summary.effective_tps == pytest.approx(3 * TOKENS / summary.wall_s)
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
    # a fake provider on loopback is a self-hosted server: priced at $0, not unknown
    assert 'splitlane_cost_usd_total{lane="act",model="script",surface="chat",upstream="script/script"} 0.0' in text
    assert "splitlane_unpriced_turns_total{" not in text
    assert "splitlane_telemetry_queue_depth 0.0" in text
    assert 'splitlane_telemetry_dropped_records{reason="queue_full"} 0.0' in text
    assert "_created" not in text
