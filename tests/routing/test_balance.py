"""Replica choice by each upstream's routing policy, through the Planner as a turn meets it."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from splitlane.cli.main import app
from splitlane.cli.route import describe, explain
from splitlane.config import Config
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.routing.planner import Planner
from splitlane.routing.replicas import stand_ins

REPLICAS = ["http://127.0.1.1:8000/v1", "http://127.0.1.2:8000/v1", "http://127.0.1.3:8000/v1"]
REPO = "def handler(event):\n    return event\n" * 120  # ~4K characters of shared repository context


def config(routing: str, **balance: Any) -> Config:
    upstream = {"kind": "openai_chat", "replicas": REPLICAS, "routing": routing, "balance": balance}
    return Config.model_validate({"upstreams": {"vllm": upstream}, "models": {"coder": {"upstream": "vllm"}}})


def turn(session: str, context: str = REPO, ask: str = "fix it") -> ChatRequest:
    messages = (Message(Role.SYSTEM, (TextPart(context),)), Message(Role.USER, (TextPart(ask),)))
    return ChatRequest("coder", messages, headers={"session_id": session})


def planner(routing: str, **balance: Any) -> Planner:
    cfg = config(routing, **balance)
    return Planner(cfg, stand_ins(cfg))


def test_every_replica_is_a_next_try_in_policy_order() -> None:
    for routing in ("session", "prefix", "least_loaded", "round_robin"):
        targets = planner(routing).plan(turn("s1")).targets
        assert sorted(t.replica.url for t in targets) == sorted(REPLICAS)
        assert all(t.pick is not None and t.pick.policy == routing for t in targets)


def test_round_robin_rotates_turn_by_turn() -> None:
    plans = planner("round_robin")
    firsts = [plans.plan(turn("same-session")).targets[0].replica.url for _ in range(6)]
    assert firsts == REPLICAS * 2


def test_least_loaded_avoids_the_busy_replica_and_ties_keep_session_affinity() -> None:
    plans = planner("least_loaded")
    sticky = plans.plan(turn("s1")).targets[0].replica.url
    assert plans.plan(turn("s1")).targets[0].replica.url == sticky  # equal loads: the session's own replica
    for _ in range(3):
        plans.balancer.board.started(sticky)
    moved = plans.plan(turn("s1")).targets
    assert moved[0].replica.url != sticky
    assert moved[-1].replica.url == sticky
    assert moved[-1].pick is not None
    assert moved[-1].pick.reason == "load 3"


def test_prefix_sends_another_session_with_the_same_prefix_where_it_was_sent() -> None:
    plans = planner("prefix", block_chars=256)
    first = plans.plan(turn("alice")).targets[0]
    assert first.pick is not None
    assert "no replica holds this prefix" in first.pick.reason
    plans.answered(first)
    # sessions that rendezvous hashing would spread: all follow the shared context
    followers = {plans.plan(turn(f"bob-{i}", ask=f"task {i}")).targets[0].replica.url for i in range(12)}
    assert followers == {first.replica.url}
    other = plans.plan(turn("carol", context="unrelated " * 500)).targets[0]
    assert other.pick is not None
    assert other.pick.reason.startswith("no replica holds")


def test_prefix_gives_way_to_load_past_the_imbalance() -> None:
    plans = planner("prefix", block_chars=256, imbalance=2)
    first = plans.plan(turn("alice")).targets[0]
    plans.answered(first)
    board = plans.balancer.board
    board.started(first.replica.url)
    board.started(first.replica.url)
    assert plans.plan(turn("bob")).targets[0].replica.url == first.replica.url  # 2 apart: not past it
    board.started(first.replica.url)
    moved = plans.plan(turn("bob")).targets[0]
    assert moved.replica.url != first.replica.url
    assert moved.pick is not None
    assert moved.pick.reason.startswith("imbalance")


def test_an_unreachable_replica_goes_last_and_loses_its_prefixes() -> None:
    plans = planner("prefix", block_chars=256)
    first = plans.plan(turn("alice")).targets[0]
    plans.answered(first)
    plans.unreachable(first)
    after = plans.plan(turn("bob")).targets
    assert after[-1].replica.url == first.replica.url
    assert after[0].pick is not None
    assert after[0].pick.reason.startswith("no replica holds")


def test_session_policy_keeps_its_old_choice() -> None:
    from splitlane.routing.affinity import pick

    plans = planner("session")
    for i in range(20):
        plan = plans.plan(turn(f"s{i}"))
        assert plan.targets[0].replica.url == REPLICAS[pick(plan.session.key, REPLICAS)]


def test_route_explain_lists_each_replica_with_its_score(tmp_path: Any) -> None:
    cfg = config("least_loaded")
    body = {"model": "coder", "messages": [{"role": "user", "content": "hi"}]}
    info = describe(explain(cfg, body, {"session_id": "s1"}))
    assert sorted(r["replica"] for r in info["replicas"]) == sorted(REPLICAS)
    assert len(info["replicas"]) == 3
    assert info["replicas"][0]["replica"] == info["replica"]
    assert {r["policy"] for r in info["replicas"]} == {"least_loaded"}
    assert info["fallbacks"] == []  # the other replicas are not the model's fallbacks
    (tmp_path / "splitlane.toml").write_text(
        '[upstreams.vllm]\nkind = "openai_chat"\nrouting = "prefix"\n'
        f'replicas = {json.dumps(REPLICAS)}\n[models.coder]\nupstream = "vllm"\n'
    )
    (tmp_path / "request.json").write_text(json.dumps(body))
    result = CliRunner().invoke(
        app, ["route", "explain", str(tmp_path / "request.json"), "--config", str(tmp_path / "splitlane.toml")]
    )
    assert result.exit_code == 0, result.output
    assert "1. http://127.0.1." in result.output
    assert "prefix score" in result.output
