"""`splitlane serve` killed with SIGKILL mid-session: every turn that finished before is stored
(each turn's record is committed before the client sees the turn end; SQLite WAL keeps commits)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

from splitlane.store.database import open_engine
from splitlane.telemetry.queries import load_turns
from splitlane.telemetry.records import TurnRecord


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read(db: Path) -> list[TurnRecord]:
    async def read() -> list[TurnRecord]:
        engine = open_engine(f"sqlite:///{db}")
        try:
            return await load_turns(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_sigkill_loses_no_finished_turn(tmp_path: Path) -> None:
    port = _free_port()
    config = tmp_path / "splitlane.toml"
    config.write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f'data_dir = "{tmp_path}"\n'
        "[upstreams.sim]\n"
        'kind = "sim"\n'
        'sim_profile = "fast"\n'
        'sim = { decode_tps = "20", base_latency_s = "0.01" }\n'
        "[models.sim]\n"
        'upstream = "sim"\n'
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "splitlane", "serve", "-c", str(config), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, timeout=30)
        other = [{"role": "system", "content": "another session"}, {"role": "user", "content": "long answer"}]
        stream = client.chat.completions.create(model="sim", messages=other, max_tokens=400, stream=True)  # type: ignore[arg-type]
        next(iter(stream))  # another session's turn is streaming through all of this
        messages = [{"role": "system", "content": "kill test"}, {"role": "user", "content": "go"}]
        finished = []
        for n in range(5):
            reply = client.chat.completions.create(model="sim", messages=messages, max_tokens=3)  # type: ignore[arg-type]
            finished.append(reply.usage.completion_tokens if reply.usage else -1)
            messages.append({"role": "assistant", "content": reply.choices[0].message.content})
            messages.append({"role": "user", "content": f"step {n}"})
        # killed the moment the fifth reply arrived: no time for a lazy flush
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    turns = _read(tmp_path / "splitlane.db")
    done = [t for t in turns if t.status == "ok"]
    assert len(done) == 5
    assert [t.output_tokens for t in done] == finished
    assert len({t.session for t in done}) == 1  # the streaming turn never finished
    assert all(t.t_first is not None for t in done)
