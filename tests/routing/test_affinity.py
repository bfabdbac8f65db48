"""Session affinity: stable across restarts, few sessions move when replicas change."""

from __future__ import annotations

import subprocess
import sys

from splitlane.config import Config
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.routing.affinity import pick
from splitlane.routing.planner import Planner
from splitlane.routing.replicas import stand_ins

SESSIONS = [f"session-{i}" for i in range(2000)]
REPLICAS = [f"http://127.0.1.{i}:8000/v1" for i in range(1, 5)]


def test_adding_one_of_n_replicas_moves_at_most_one_nth_and_only_to_it() -> None:
    before = {s: REPLICAS[pick(s, REPLICAS)] for s in SESSIONS}
    grown = [*REPLICAS, "http://127.0.1.9:8000/v1"]
    after = {s: grown[pick(s, grown)] for s in SESSIONS}
    moved = [s for s in SESSIONS if before[s] != after[s]]
    assert len(moved) <= len(SESSIONS) / len(REPLICAS)
    assert {after[s] for s in moved} == {"http://127.0.1.9:8000/v1"}
    share = len(moved) / len(SESSIONS)
    assert 0.15 < share < 0.25  # about 1/(N+1): the new replica takes its fair share


def test_losing_a_replica_moves_only_its_sessions() -> None:
    before = {s: REPLICAS[pick(s, REPLICAS)] for s in SESSIONS}
    shrunk = REPLICAS[:2] + REPLICAS[3:]
    after = {s: shrunk[pick(s, shrunk)] for s in SESSIONS}
    assert {s for s in SESSIONS if before[s] != after[s]} == {s for s in SESSIONS if before[s] == REPLICAS[2]}


def test_choice_ignores_replica_order_and_survives_a_restart() -> None:
    mine = [REPLICAS[pick(s, REPLICAS)] for s in SESSIONS[:50]]
    assert mine == [REPLICAS[::-1][pick(s, REPLICAS[::-1])] for s in SESSIONS[:50]]
    code = (
        "from splitlane.routing.affinity import pick;"
        f"r={REPLICAS!r};print([r[pick(f'session-{{i}}', r)] for i in range(50)])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "12345"}
    )
    assert other.stdout.strip() == repr(mine)


def test_planner_keeps_a_session_on_one_replica() -> None:
    config = Config.model_validate(
        {
            "upstreams": {"vllm": {"kind": "openai_chat", "replicas": REPLICAS}},
            "models": {"coder": {"upstream": "vllm"}},
        }
    )
    replicas = stand_ins(config)

    def replica(session: str, planner: Planner) -> str:
        request = ChatRequest("coder", (Message(Role.USER, (TextPart("hi"),)),), headers={"session_id": session})
        return planner.plan(request).targets[0].replica.url

    first, restarted = Planner(config, replicas), Planner(config, stand_ins(config))
    seen = {replica(f"s{i}", first) for i in range(40)}
    assert len(seen) == 4  # sessions spread over all replicas
    assert all(replica(f"s{i}", first) == replica(f"s{i}", restarted) for i in range(40))
