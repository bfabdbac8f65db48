"""`splitlane serve` stopped by signals. SIGKILL mid-session: every turn that finished before is
stored (each turn's record is committed before the client sees the turn end; SQLite WAL keeps
commits). SIGTERM: no new connections, streams in flight finish (up to ``shutdown_grace_s``; past it
they are cut and recorded as cancelled), telemetry flushed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from splitlane.store.database import open_engine
from splitlane.telemetry.queries import load_turns
from splitlane.telemetry.records import TurnRecord
from tests.processes import free_port, serve_process

QUESTION = [{"role": "user", "content": "hi"}]


def _read(db: Path) -> list[TurnRecord]:
    async def read() -> list[TurnRecord]:
        engine = open_engine(f"sqlite:///{db}")
        try:
            return await load_turns(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


@contextmanager
def gateway_process(tmp_path: Path, grace_s: int = 30) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`splitlane serve` in a process of its own, on a simulated upstream decoding 20 tokens/s."""
    port = free_port()
    config = tmp_path / "splitlane.toml"
    config.write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f'data_dir = "{tmp_path}"\n'
        f"shutdown_grace_s = {grace_s}\n"
        "[upstreams.sim]\n"
        'kind = "sim"\n'
        'sim_profile = "fast"\n'
        'sim = { decode_tps = "20", base_latency_s = "0.01" }\n'
        "[models.sim]\n"
        'upstream = "sim"\n'
    )
    with serve_process(config, port) as server:
        yield server, port


def test_sigkill_loses_no_finished_turn(tmp_path: Path) -> None:
    with gateway_process(tmp_path) as (server, port):
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
    turns = _read(tmp_path / "splitlane.db")
    done = [t for t in turns if t.status == "ok"]
    assert len(done) == 5
    assert [t.output_tokens for t in done] == finished
    assert len({t.session for t in done}) == 1  # the streaming turn never finished
    assert all(t.t_first is not None for t in done)


def _refused(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
    except httpx.TransportError:
        return True
    return False


def test_sigterm_lets_streams_in_flight_finish(tmp_path: Path) -> None:
    with gateway_process(tmp_path) as (server, port):
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, timeout=30)
        stream = client.chat.completions.create(model="sim", messages=QUESTION, max_tokens=40, stream=True)  # type: ignore[arg-type]
        chunks = iter(stream)
        next(chunks)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        refused = _refused(port)  # no new connection while the stream (2 s at 20 tokens/s) goes on
        rest = list(chunks)
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    assert refused
    assert [c.choices[0].finish_reason for c in rest if c.choices][-1] is not None  # the stream ended normally
    turns = _read(tmp_path / "splitlane.db")
    assert [(t.status, t.output_tokens) for t in turns] == [("ok", 40)]


def test_sigterm_cuts_streams_past_the_grace_period(tmp_path: Path) -> None:
    with gateway_process(tmp_path, grace_s=1) as (server, port):
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, timeout=30)
        stream = client.chat.completions.create(model="sim", messages=QUESTION, max_tokens=2000, stream=True)  # type: ignore[arg-type]
        chunks = iter(stream)
        next(chunks)
        server.send_signal(signal.SIGTERM)
        with pytest.raises((openai.APIError, httpx.TransportError)):  # the client sees the stream cut, not a hang
            for _ in chunks:
                pass
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    turns = _read(tmp_path / "splitlane.db")
    assert [t.status for t in turns] == ["cancelled"]  # recorded and flushed on the way out
