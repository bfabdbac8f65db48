"""The engines compared, each behind one call: stream a completion of a rendered prompt, greedy.

- ``splitlane``: our engine in process (the same ``Engine`` the gateway runs);
- ``b1``: llama-cpp-python's high-level ``Llama.create_completion(stream=True)``, in a thread;
- ``b2``: llama-cpp-python's bundled server (``python -m llama_cpp.server``), ``/v1/completions``.

All load the same GGUF with the same thread count. B1 and B2 add ``<bos>`` themselves, so the
rendered prompt goes to them without its leading ``<bos>``: every target sees the same tokens.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from splitlane.bench.processes import free_port, start_process, wait_ready
from splitlane.config import UpstreamConfig
from splitlane.core.errors import SplitlaneError
from splitlane.engine.engine import Engine
from splitlane.engine.requests import Done, Job
from splitlane.engine.runner import Runner, RunnerConfig, SamplingParams, rope_stretch, trained_context
from splitlane.upstream.http import HttpClient, post_sse

GREEDY = SamplingParams(temperature=0.0)


@dataclass(slots=True)
class Result:
    """One request as the client saw it (times from the call)."""

    ttft_s: float | None = None
    wall_s: float = 0.0
    output_tokens: int = 0
    text: str = ""
    cached_tokens: int | None = None
    drafted_tokens: int | None = None
    accepted_tokens: int | None = None
    error: str | None = None

    @property
    def decode_tps(self) -> float | None:
        if self.ttft_s is None or self.output_tokens < 2 or self.wall_s <= self.ttft_s:
            return None
        return (self.output_tokens - 1) / (self.wall_s - self.ttft_s)


class Target(Protocol):
    name: str

    async def complete(self, prompt: str, max_tokens: int) -> Result: ...

    def close(self) -> None: ...


def _without_bos(prompt: str) -> str:
    return prompt.removeprefix("<bos>")


@dataclass
class Ours:
    config: RunnerConfig
    speculate: bool = True
    name: str = "splitlane"
    _engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self._engine = Engine(lambda: Runner(self.config))

    async def metadata(self) -> dict[str, str]:
        return (await self._engine.runner()).metadata

    async def complete(self, prompt: str, max_tokens: int) -> Result:
        result = Result()
        started = time.perf_counter()
        pieces: list[str] = []
        async for item in self._engine.generate(Job(prompt, max_tokens, GREEDY, speculate=self.speculate)):
            if isinstance(item, Done):
                result.output_tokens = item.output_tokens
                result.cached_tokens = item.cached_tokens
                result.drafted_tokens = item.drafted_tokens
                result.accepted_tokens = item.accepted_tokens
                if result.ttft_s is None:  # no visible text (an empty reply)
                    result.ttft_s = item.queue_wait_s + item.prefill_s
                break
            if result.ttft_s is None:
                result.ttft_s = time.perf_counter() - started
            pieces.append(item)
        result.wall_s = time.perf_counter() - started
        result.text = "".join(pieces)
        return result

    def close(self) -> None:
        self._engine.close()


class B1:
    """``Llama.create_completion`` as a user calls it; one request at a time (it holds one sequence)."""

    name = "B1 create_completion"

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int) -> None:
        from llama_cpp import Llama  # the baseline's own import; our engine's is in engine/runner.py

        stretch: dict[str, Any] = dict(rope_stretch(trained_context(model_path), n_ctx))  # as our engine runs
        self._llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
            **stretch,
        )
        self._lock = threading.Lock()

    def _run(self, prompt: str, max_tokens: int, out: Result, loop_started: float) -> None:
        with self._lock:
            texts: list[str] = []
            for chunk in self._llm.create_completion(
                _without_bos(prompt), max_tokens=max_tokens, temperature=0.0, stream=True
            ):
                if out.ttft_s is None:
                    out.ttft_s = time.perf_counter() - loop_started
                choice: Any = chunk["choices"][0]  # type: ignore[index]
                texts.append(choice["text"])
                out.output_tokens += choice["finish_reason"] is None  # the last chunk only says why
            out.text = "".join(texts)

    async def complete(self, prompt: str, max_tokens: int) -> Result:
        result = Result()
        started = time.perf_counter()
        await asyncio.to_thread(self._run, prompt, max_tokens, result, started)
        result.wall_s = time.perf_counter() - started
        return result

    def close(self) -> None:
        self._llm.close()


class B2:
    """llama-cpp-python's bundled OpenAI-compatible server, streamed ``/v1/completions``."""

    name = "B2 llama_cpp.server"

    def __init__(self, url: str) -> None:
        self._url = url
        # the gateway's own upstream client (a 600 s read bound: a long prefill on two cores)
        self._client = HttpClient(UpstreamConfig(kind="openai_chat", base_url=url, idle_timeout_s=600))

    async def _chunks(self, prompt: str, max_tokens: int) -> AsyncIterator[dict[str, Any]]:
        body = {"prompt": _without_bos(prompt), "max_tokens": max_tokens, "temperature": 0.0, "stream": True}
        async with post_sse(self._client, self.name, "/v1/completions", body, {}) as events:
            async for event in events:
                if event.data.strip() == "[DONE]":
                    return
                yield orjson.loads(event.data)

    async def complete(self, prompt: str, max_tokens: int) -> Result:
        result = Result()
        started = time.perf_counter()
        texts: list[str] = []
        try:
            async for chunk in self._chunks(prompt, max_tokens):
                if result.ttft_s is None:
                    result.ttft_s = time.perf_counter() - started
                choice = chunk["choices"][0]
                texts.append(choice["text"])
                result.output_tokens += choice.get("finish_reason") is None  # one chunk per token, then why
        except SplitlaneError as exc:
            result.error = f"{type(exc).__name__}: {exc.message}"
        result.wall_s = time.perf_counter() - started
        result.text = "".join(texts)
        return result

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        await self._client.aclose()


@contextmanager
def b2_server(workdir: Path, model_path: Path, n_ctx: int, n_threads: int) -> Iterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port; yields its URL."""
    port = free_port()
    argv = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
    ]  # fmt: skip
    for key, value in rope_stretch(trained_context(model_path), n_ctx).items():
        argv += [f"--{key}", str(value)]
    log = workdir / "b2.log"
    with ExitStack() as stack:
        proc = stack.enter_context(start_process(argv, log, env=dict(os.environ)))
        url = f"http://127.0.0.1:{port}"
        wait_ready("llama_cpp.server", f"{url}/v1/models", proc, log, timeout_s=120)
        yield url
