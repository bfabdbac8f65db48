"""Upstream kind ``local``: the embedded llama.cpp engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from functools import partial

from splitlane.config import UpstreamConfig
from splitlane.core.blocks import BlockWriter
from splitlane.core.events import Event, StopReason
from splitlane.core.ids import new_id
from splitlane.core.request import ChatRequest
from splitlane.core.usage import EngineStats, Usage
from splitlane.engine import prompt, templates, toolcalls
from splitlane.engine.engine import Engine
from splitlane.engine.models import OTHER_GGUF
from splitlane.engine.requests import Done, Job
from splitlane.engine.runner import Runner, RunnerConfig, SamplingParams, grammar_of
from splitlane.upstream import unsupported


def _load(config: UpstreamConfig) -> Runner:
    return Runner(
        RunnerConfig(
            model_path=config.model_file(),
            n_ctx=config.n_ctx,
            n_seq=config.n_seq,
            kv_cells=config.kv_cells,
            kv_unified=config.kv_unified,
            n_batch=config.n_batch,
            n_threads=config.n_threads,
            flash_attn=config.flash_attn,
        )
    )


class LocalUpstream:
    kind = "local"

    def __init__(self, name: str, config: UpstreamConfig, default_max_tokens: int = 4096) -> None:
        self.name = name
        self.default_max_tokens = default_max_tokens
        self.config = config
        model = config.packaged_model()
        self.sampling = OTHER_GGUF if model is None else model.sampling
        self._engine: Engine | None = None

    def start(self) -> Engine:
        """The engine thread, started (and the model loading) on first use or by ``warm``."""
        if self._engine is None:
            self._engine = Engine(partial(_load, self.config))
        return self._engine

    def warm(self) -> None:
        """Start loading the model in the engine thread now, while the server starts."""
        self.start()

    async def _prompt(self, request: ChatRequest) -> str:
        runner = await self.start().runner()
        return templates.render(runner.metadata, prompt.turns(request))

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        unsupported.check(request, "", self.config, self.kind)  # the engine runs no server tools
        schema = toolcalls.forced_schema(request) if prompt.tools_enabled(request) else None
        sampling = request.sampling
        job = Job(
            prompt=await self._prompt(request),
            max_tokens=min(
                request.max_output_tokens or self.default_max_tokens,
                self.config.max_output_tokens or self.default_max_tokens * 64,
            ),
            sampling=SamplingParams(
                temperature=self.sampling.temperature if sampling.temperature is None else sampling.temperature,
                top_p=self.sampling.top_p if sampling.top_p is None else sampling.top_p,
                top_k=self.sampling.top_k if sampling.top_k is None else sampling.top_k,
                seed=self.config.seed if sampling.seed is None else sampling.seed,
                ignore_eos=request.extensions.get("ignore_eos") is True,
            ),
            stops=(*request.stop, *self.config.stop),
            grammar=None if schema is None else await asyncio.to_thread(grammar_of, schema),
            speculate=self.config.speculation,
        )
        parser = toolcalls.ToolCallParser(prompt.tools_enabled(request), forced=schema is not None)
        blocks = BlockWriter()
        async with aclosing(self.start().generate(job)) as items:
            async for item in items:
                if isinstance(item, Done):
                    for event in self._pieces(blocks, parser.finish()) + self._finish(blocks, item):
                        yield event
                    return
                for event in self._pieces(blocks, parser.feed(item)):
                    yield event

    def _pieces(self, blocks: BlockWriter, pieces: list[toolcalls.Piece]) -> list[Event]:
        events: list[Event] = []
        for piece in pieces:
            if isinstance(piece, str):
                events += blocks.text(piece)
                continue
            call_id = new_id("call")
            events += blocks.tool_call(call_id, call_id, piece.name)
            events += blocks.tool_args(call_id, piece.arguments)
            events += blocks.close()
        return events

    def _finish(self, blocks: BlockWriter, done: Done) -> list[Event]:
        usage = Usage(
            input_tokens=done.prompt_tokens, output_tokens=done.output_tokens, cached_input_tokens=done.cached_tokens
        )
        stats = EngineStats(done.queue_wait_s, done.prefill_s, done.decode_s, done.drafted_tokens, done.accepted_tokens)
        if done.stop_sequence is not None:
            return blocks.finish(StopReason.STOP_SEQUENCE, usage, done.stop_sequence, stats)
        reason = StopReason.MAX_TOKENS if done.hit_max_tokens and not blocks.has_tool_calls else StopReason.END_TURN
        return blocks.finish(reason, usage, engine=stats)

    def relays(self, request: ChatRequest) -> bool:
        return False

    async def count_tokens(self, request: ChatRequest) -> int:
        runner = await self.start().runner()
        return len(await asyncio.to_thread(runner.tokenize, await self._prompt(request)))

    @property
    def queue_depth(self) -> int:
        return 0 if self._engine is None else self._engine.queue_depth

    async def aclose(self) -> None:
        if self._engine is not None:
            self._engine.close()
