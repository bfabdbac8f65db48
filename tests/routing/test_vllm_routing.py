"""Replica routing against two real vLLM replicas (tests/vllm.py): the prefix policy lands
sessions that share a context where that context is cached (vLLM's own ``cached_tokens`` says
so), least-loaded reads vLLM's ``/metrics``, and a dead replica costs a fallback, not a turn."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import gateway_with
from tests.scripted import stored_turns
from tests.vllm import SERVED, Replica

pytestmark = pytest.mark.vllm


def repo_context() -> str:
    """~1,500 tokens of shared system prompt and repository, new for each test."""
    nonce = secrets.token_hex(4)
    files = "".join(
        f"# file src/mod_{i}.py ({nonce})\ndef handler_{i}(event):\n    return event['{i}']\n" for i in range(60)
    )
    return f"You are a coding agent. Repository {nonce}:\n{files}"


def fleet_config(replicas: list[str], routing: str, **balance: Any) -> dict[str, Any]:
    upstream = {"kind": "openai_chat", "replicas": replicas, "routing": routing, "balance": balance}
    return {"upstreams": {"fleet": upstream}, "models": {"smol": {"upstream": "fleet", "model": SERVED}}}


def ask(url: str, session: str, system: str, question: str) -> int:
    """One turn; the cached prompt tokens vLLM reported for it."""
    client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=120)
    reply = client.chat.completions.create(
        model="smol",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
        max_tokens=4,
        temperature=0,
        extra_headers={"session_id": session},
    )
    assert reply.usage is not None
    details = reply.usage.prompt_tokens_details
    return (details.cached_tokens or 0) if details is not None else 0


@pytest.fixture
def fleet(vllm_fleet: list[Replica]) -> list[Replica]:
    return vllm_fleet


def test_prefix_routing_lands_shared_context_where_it_is_cached(fleet: list[Replica], tmp_path: Path) -> None:
    system = repo_context()
    sessions = [f"dev-{i}" for i in range(6)]
    with gateway_with(fleet_config([r.url for r in fleet], "prefix", block_chars=256), tmp_path) as url:
        cached = [ask(url, s, system, f"What does handler_{i} return?") for i, s in enumerate(sessions)]
    turns = stored_turns(tmp_path)
    assert len({t.replica for t in turns}) == 1  # six sessions, one replica: the one holding the context
    assert cached[0] == 0
    assert all(c >= 1000 for c in cached[1:])  # every later session read the shared context from cache
    assert turns[0].replica_reason is not None
    assert "no replica holds" in turns[0].replica_reason
    assert all(t.replica_policy == "prefix" and t.replica_score is not None for t in turns)
    assert all(t.cached_input_tokens == c for t, c in zip(turns, cached, strict=True))


def test_round_robin_pays_a_cold_prefill_on_each_replica(fleet: list[Replica], tmp_path: Path) -> None:
    system = repo_context()
    with gateway_with(fleet_config([r.url for r in fleet], "round_robin"), tmp_path) as url:
        cached = [ask(url, f"dev-{i}", system, f"What does handler_{i} return?") for i in range(4)]
    turns = stored_turns(tmp_path)
    assert [t.replica for t in turns[:2]] != [turns[0].replica] * 2  # alternating
    assert cached[0] == 0
    assert cached[1] == 0  # the second replica had never seen the context
    assert min(cached[2:]) >= 1000


def test_least_loaded_reads_vllm_metrics_and_avoids_a_busy_replica(fleet: list[Replica], tmp_path: Path) -> None:
    busy, idle = fleet
    # another gateway's long turn on ``busy``: this gateway only learns of it from busy's /metrics
    body = {"model": SERVED, "messages": [{"role": "user", "content": "Count."}], "max_tokens": 600,
            "ignore_eos": True, "stream": True}  # fmt: skip
    started = threading.Event()

    def occupy() -> None:
        with httpx.stream("POST", busy.url + "/chat/completions", json=body, timeout=120) as reply:
            for n, _ in enumerate(reply.iter_lines()):
                if n == 2:
                    started.set()

    thread = threading.Thread(target=occupy, daemon=True)
    thread.start()
    try:
        assert started.wait(60)
        config = fleet_config([busy.url, idle.url], "least_loaded", metrics=True, poll_s=0.5)
        with gateway_with(config, tmp_path) as url:
            time.sleep(2.0)  # four polls of /metrics (each may take most of a second while the suite runs)
            for i in range(3):
                ask(url, f"s{i}", "You are terse.", "Say hi.")
        turns = stored_turns(tmp_path)
        assert {t.replica for t in turns} == {idle.url}
        # the idle replica's load is 0, or 1 where a poll caught this gateway's previous turn on it
        assert all(t.replica_policy == "least_loaded" and (t.replica_reason or "").startswith("load") for t in turns)
    finally:
        thread.join(120)


def test_a_dead_replica_costs_a_fallback_not_a_turn(fleet: list[Replica], tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9/v1"
    system = repo_context()
    # round robin: the first turn goes to the dead replica, and so would every other one
    with gateway_with(fleet_config([dead, fleet[0].url], "round_robin"), tmp_path) as url:
        for i in range(6):
            ask(url, f"s{i}", system, "Say hi.")
    turns = stored_turns(tmp_path)
    assert len(turns) == 6
    assert all(t.status == "ok" and t.replica == fleet[0].url for t in turns)
    assert turns[0].fallbacks == 1  # refused, then served by the other replica before any byte went out
    # after that refusal the dead replica is tried last for a while: no turn waits on it again
    assert [t.fallbacks for t in turns[1:]] == [0] * 5
