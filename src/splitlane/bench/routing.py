"""``splitlane bench routing``: replica routing policies on one fleet, measured side by side.

The workload is what makes routing matter: agent sessions that share a long system prompt and
repository context and then grow their own history turn by turn. It is written as a block-hash
trace (``trace.jsonl``, the Mooncake format: bench/convert/mooncake.py), so the replay makes equal
block ids equal text within one policy's run and different text across runs — each policy starts
with nothing of its prompts cached, and vLLM's own ``cached_tokens`` says what each turn reused.

Each policy gets a gateway of its own (in this process) in front of the same replicas, one after
another; ``round_robin`` is the named baseline the others are divided by. The gateway's telemetry
says where each turn went, with the policy's score and any fallback (a replica that refused).
Disturbances: ``busy`` keeps long requests running on one replica straight from this process (a
tenant the gateway does not see but ``/metrics`` shows); ``kill`` SIGKILLs a replica's process
some seconds into the first policy's run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitlane.bench import split
from splitlane.bench.convert.mooncake import convert
from splitlane.bench.replay import TurnResult
from splitlane.bench.trace import Session
from splitlane.config import Config
from splitlane.telemetry.metrics import percentile
from splitlane.telemetry.records import TurnRecord

POLICIES = ("round_robin", "session", "prefix", "least_loaded")
BASELINE = "round_robin"


@dataclass(frozen=True, slots=True)
class Workload:
    """Sessions × turns; every prompt = the shared blocks, the session's task block, then one
    block per turn so far (tool output). Sizes in the replica's tokens, roughly (the filler is
    about four characters a token)."""

    sessions: int = 8
    turns: int = 4
    shared_blocks: int = 12  # system prompt + repository context, the same in every session
    block_tokens: int = 128
    output_tokens: int = 24

    def rows(self) -> list[dict[str, Any]]:
        shared = list(range(self.shared_blocks))
        rows = []
        for s in range(self.sessions):
            own = [100_000 * (s + 1)]
            for t in range(self.turns):
                ids = shared + own + [100_000 * (s + 1) + 1 + k for k in range(t)]
                rows.append(
                    {
                        "session_id": f"dev-{s}",
                        "timestamp": 0,
                        "input_length": len(ids) * self.block_tokens,
                        "output_length": self.output_tokens,
                        "hash_ids": ids,
                    }
                )
        return rows

    def sessions_in(self, folder: Path) -> list[Session]:
        path = folder / "trace.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in self.rows()))
        return convert(path, self.block_tokens)[1]

    @property
    def largest_prompt(self) -> int:
        return (self.shared_blocks + self.turns) * self.block_tokens


@dataclass(frozen=True, slots=True)
class PolicyResult:
    policy: str
    turns: int
    errors: int
    fallbacks: int
    ttft_p50_s: float
    ttft_p90_s: float
    hit_ratio: float  # cached / prompt tokens over every turn after a session's first (vLLM's counts)
    first_turn_hit_ratio: float  # the same over first turns: only another session's context can be cached
    session_wall_p50_s: float
    wall_s: float
    per_replica: dict[str, int]
    recorded: int  # telemetry rows the gateway wrote (every turn: none lost)

    def row(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "turns": self.turns,
            "errors": self.errors,
            "fallbacks": self.fallbacks,
            "ttft_p50_s": round(self.ttft_p50_s, 4),
            "ttft_p90_s": round(self.ttft_p90_s, 4),
            "cache_hit_ratio": round(self.hit_ratio, 4),
            "first_turn_hit_ratio": round(self.first_turn_hit_ratio, 4),
            "session_wall_p50_s": round(self.session_wall_p50_s, 3),
            "wall_s": round(self.wall_s, 3),
            "per_replica": self.per_replica,
            "telemetry_rows": self.recorded,
        }


def gateway_config(replicas: Sequence[str], model: str, policy: str, data_dir: Path, poll_s: float) -> Config:
    upstream = {
        "kind": "openai_chat",
        "replicas": list(replicas),
        "routing": policy,
        "balance": {"metrics": True, "poll_s": poll_s},
        "first_byte_timeout_s": 60.0,
    }
    return Config.model_validate(
        {
            "data_dir": data_dir,
            "upstreams": {"fleet": upstream},
            "models": {"bench": {"upstream": "fleet", "model": model}},
        }
    )


def stored(data_dir: Path) -> list[TurnRecord]:
    """The turns a gateway of this run recorded (read after it stopped)."""
    return asyncio.run(split.stored(data_dir))


def summarize(
    policy: str, results: Sequence[TurnResult], records: Sequence[TurnRecord], replicas: Sequence[str]
) -> PolicyResult:
    ok = [r for r in results if r.error is None]
    ttfts = [r.t_first - r.t_send for r in ok if r.t_first is not None]
    later = [r for r in ok if r.turn_index > 0]
    first = [r for r in ok if r.turn_index == 0]
    walls = []
    for session in {r.session_id for r in results}:
        mine = [r for r in results if r.session_id == session]
        walls.append(max(r.t_last for r in mine) - min(r.t_send for r in mine))
    names = {url: f"r{i}" for i, url in enumerate(replicas)}
    return PolicyResult(
        policy,
        len(results),
        len(results) - len(ok),
        sum(r.fallbacks for r in records),
        percentile(ttfts, 50),
        percentile(ttfts, 90),
        _ratio(later),
        _ratio(first),
        statistics.median(walls) if walls else float("nan"),
        (max(r.t_last for r in results) - min(r.t_send for r in results)) if results else 0.0,
        dict(sorted(Counter(names.get(r.replica, r.replica) for r in records).items())),
        len(records),
    )


def _ratio(results: Sequence[TurnResult]) -> float:
    prompt = sum(r.prompt_tokens for r in results)
    return sum(r.cached_tokens for r in results) / prompt if prompt else 0.0


def comparisons(results: Sequence[PolicyResult], baseline: str = BASELINE) -> list[dict[str, Any]]:
    """Each policy against the baseline: TTFT and session-wall ratios (< 1 is faster), hit-ratio points."""
    base = next((r for r in results if r.policy == baseline), None)
    if base is None:
        return []
    rows = []
    for r in results:
        if r.policy == baseline:
            continue
        rows.append(
            {
                "measured": r.policy,
                "baseline": baseline,
                "ttft_p50_ratio": round(r.ttft_p50_s / base.ttft_p50_s, 3) if base.ttft_p50_s else float("nan"),
                "ttft_p90_ratio": round(r.ttft_p90_s / base.ttft_p90_s, 3) if base.ttft_p90_s else float("nan"),
                "session_wall_p50_ratio": round(r.session_wall_p50_s / base.session_wall_p50_s, 3)
                if base.session_wall_p50_s
                else float("nan"),
                "hit_ratio_points": round(100 * (r.hit_ratio - base.hit_ratio), 1),
            }
        )
    return rows


@contextmanager
def busy(replica: str, model: str, streams: int, max_tokens: int = 256) -> Iterator[None]:
    """Another tenant on ``replica``: ``streams`` long requests kept running (each thread sends the
    next when one ends) until the block exits. Threads, plain HTTP: nothing on the event loop."""
    stop = threading.Event()
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
            "max_tokens": max_tokens,
            "ignore_eos": True,  # vLLM's: the request runs its full length
        }
    ).encode()

    def loop() -> None:
        while not stop.is_set():
            request = urllib.request.Request(
                replica.rstrip("/") + "/chat/completions", body, {"content-type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=300) as answer:
                    answer.read()
            except OSError:
                stop.wait(1.0)

    threads = [threading.Thread(target=loop, daemon=True, name=f"busy-{i}") for i in range(streams)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=300)


def kill_later(pid: int, after_s: float) -> threading.Timer:
    """SIGKILL ``pid`` (a replica's server: its process group) ``after_s`` seconds from now."""

    def kill() -> None:
        try:
            if os.getpgid(pid) == pid:  # a group of its own (vLLM's engine process with it)
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    timer = threading.Timer(after_s, kill)
    timer.daemon = True
    timer.start()
    return timer
