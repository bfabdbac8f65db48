"""``splitlane bench load``: a bounded soak of the gateway on loopback. ``splitlane serve`` runs in
its own process on a simulated upstream; N concurrent streaming sessions (each its own session id,
a pause between turns like an agent's tool time) run for a warm-up, then for the measured window.

What it checks: every request answered without error; every turn sent has its telemetry row (read
from the gateway's SQLite after a graceful stop, which flushes it); the gateway's RSS after the run
against its RSS after the warm-up.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psutil

from splitlane.bench.overhead.load import Endpoint, Sample, run_phase
from splitlane.bench.processes import free_port, start_process, wait_ready

Say = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class LoadSettings:
    workdir: Path
    sessions: int = 200
    duration_s: float = 60.0
    warmup_s: float = 10.0
    gap_s: float = 1.0  # between one session's turns
    max_tokens: int = 64
    decode_tps: float = 100.0  # the simulated upstream's speed, per stream
    timeout_s: float = 60.0


@dataclass(slots=True)
class LoadOutcome:
    sessions: int
    duration_s: float
    requests: int = 0  # sent, warm-up included: every one must have its row
    measured: int = 0  # sent in the measured window
    errors: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)  # telemetry rows by status
    rss_after_warmup: int = 0
    rss_after_run: int = 0

    @property
    def lost_rows(self) -> int:
        return self.requests - sum(self.rows.values())

    @property
    def rss_growth(self) -> float:
        return self.rss_after_run / self.rss_after_warmup - 1.0 if self.rss_after_warmup else 0.0

    @property
    def turns_per_s(self) -> float:
        return self.measured / self.duration_s if self.duration_s else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "sessions": self.sessions,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "measured_requests": self.measured,
            "turns_per_s": self.turns_per_s,
            "errors": dict(self.errors),
            "telemetry_rows": dict(self.rows),
            "lost_rows": self.lost_rows,
            "rss_after_warmup": self.rss_after_warmup,
            "rss_after_run": self.rss_after_run,
            "rss_growth": self.rss_growth,
        }


def gateway_config(settings: LoadSettings) -> str:
    return (
        f'data_dir = "{settings.workdir / "data"}"\n'
        "[upstreams.sim]\n"
        'kind = "sim"\n'
        'sim_profile = "fast"\n'
        f'sim = {{ decode_tps = "{settings.decode_tps}", base_latency_s = "0.05", chunk_interval_s = "0.1",'
        f' concurrency = "{max(64, settings.sessions)}" }}\n'
        "[models.sim]\n"
        'upstream = "sim"\n'
    )


def endpoints(url: str, settings: LoadSettings) -> list[Endpoint]:
    out = []
    for i in range(settings.sessions):
        body = {
            "model": "sim",
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": settings.max_tokens,
            "messages": [
                {"role": "system", "content": "You are a coding agent."},
                {"role": "user", "content": f"Task {i}: fix the failing test."},
            ],
        }
        out.append(Endpoint.post(url, "/v1/chat/completions", orjson.dumps(body), {"x-session-affinity": f"load-{i}"}))
    return out


def _tally(outcome: LoadOutcome, samples: list[Sample]) -> None:
    outcome.requests += len(samples)
    outcome.errors.update(s.error for s in samples if s.error is not None)


def _rows(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as connection:
        return Counter(dict(connection.execute("SELECT status, COUNT(*) FROM turns GROUP BY status").fetchall()))


def run_load(settings: LoadSettings, say: Say) -> LoadOutcome:
    outcome = LoadOutcome(settings.sessions, settings.duration_s)
    config = settings.workdir / "splitlane.toml"
    config.write_text(gateway_config(settings))
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "splitlane",
        "serve",
        "-c",
        str(config),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    log = settings.workdir / "splitlane.log"
    with ExitStack() as stack:
        proc = stack.enter_context(start_process(argv, log))
        url = f"http://127.0.0.1:{port}"
        wait_ready("splitlane", f"{url}/health", proc, log, 60)
        gateway = psutil.Process(proc.pid)
        targets = endpoints(url, settings)
        say(f"warm-up: {settings.sessions} sessions for {settings.warmup_s:g} s")
        samples, _, _ = asyncio.run(
            run_phase(targets, settings.sessions, settings.warmup_s, 0, settings.timeout_s, settings.gap_s)
        )
        _tally(outcome, samples)
        time.sleep(1.0)
        outcome.rss_after_warmup = gateway.memory_info().rss
        say(f"measured run: {settings.sessions} sessions for {settings.duration_s:g} s")
        samples, _, _ = asyncio.run(
            run_phase(targets, settings.sessions, settings.duration_s, 0, settings.timeout_s, settings.gap_s)
        )
        _tally(outcome, samples)
        outcome.measured = len(samples)
        time.sleep(1.0)
        outcome.rss_after_run = gateway.memory_info().rss
        say("stopping the gateway (SIGTERM: it flushes its telemetry)")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            outcome.errors["the gateway did not stop within 60 s of SIGTERM"] += 1
    outcome.rows = _rows(settings.workdir / "data" / "splitlane.db")
    return outcome
