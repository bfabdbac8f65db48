"""The engine's scheduling, prefix cache and speculation, against a model that checks its KV use."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

import pytest

from splitlane.core.errors import ContextTooLong, Overloaded
from splitlane.engine.engine import Engine
from splitlane.engine.requests import Done, Job
from splitlane.engine.runner import BatchToken, Runner, SamplingParams
from tests.engine.fake_model import FakeModel

pytestmark = pytest.mark.anyio

GREEDY = SamplingParams(temperature=0.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


CODE = "def parse(text): return [line.split() for line in text.splitlines() if line]\n" * 3


def _engine(model: FakeModel) -> Engine:
    return Engine(lambda: cast(Runner, model))


async def _run(engine: Engine, prompt: str, max_tokens: int = 80, **job: object) -> tuple[str, Done]:
    text: list[str] = []
    async for item in engine.generate(Job(prompt, max_tokens, GREEDY, **job)):  # type: ignore[arg-type]
        if isinstance(item, Done):
            return "".join(text), item
        text.append(item)
    raise AssertionError("no Done")


async def _idle(engine: Engine) -> None:
    for _ in range(200):
        if not engine.scheduler.running and not any(s.busy for s in engine.scheduler.slots):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the engine kept a sequence busy")


@pytest.mark.parametrize("prompt", [CODE, "the quick brown fox jumps over the lazy dog", "abc" * 40])
async def test_speculation_is_token_exact(prompt: str) -> None:
    plain = _engine(FakeModel())
    fast = _engine(FakeModel())
    try:
        off, off_done = await _run(plain, prompt, 120, speculate=False)
        on, on_done = await _run(fast, prompt, 120, speculate=True)
    finally:
        plain.close()
        fast.close()
    assert on == off
    assert on_done.output_tokens == off_done.output_tokens == 120
    assert off_done.drafted_tokens == 0
    assert on_done.accepted_tokens <= on_done.drafted_tokens


async def test_speculation_drafts_from_the_session_and_saves_steps() -> None:
    model = FakeModel()
    engine = _engine(model)
    try:
        text, done = await _run(engine, CODE, 200)
    finally:
        engine.close()
    assert done.drafted_tokens > 0
    assert done.accepted_tokens > 50  # the fake model loops: most of its output was drafted
    decode_steps = len(model.batches) - 1  # one step prefilled the prompt
    assert decode_steps < 200 - done.accepted_tokens + 5
    assert len(text) == 200


async def test_a_next_turn_prefills_only_what_it_appended_and_matches_a_cold_run() -> None:
    warm_model = FakeModel()
    engine = _engine(warm_model)
    try:
        first, first_done = await _run(engine, CODE, 40)
        turn_two = CODE + first + "\nnow fix the bug"
        before = warm_model.decoded_tokens
        warm, warm_done = await _run(engine, turn_two, 40)
        prefilled = warm_model.decoded_tokens - before
    finally:
        engine.close()
    cold_engine = _engine(FakeModel())
    try:
        cold, cold_done = await _run(cold_engine, turn_two, 40)
    finally:
        cold_engine.close()
    assert first_done.cached_tokens == 0
    assert warm == cold
    assert cold_done.cached_tokens == 0
    assert warm_done.cached_tokens >= len(CODE) + len(first) - 1
    assert warm_done.prompt_tokens == cold_done.prompt_tokens == len(turn_two)
    assert prefilled < len("\nnow fix the bug") + 60  # the delta and the decode, not the whole prompt


async def test_concurrent_sessions_match_their_solo_runs_and_share_steps() -> None:
    prompts = [CODE, "the quick brown fox jumps over the lazy dog " * 2, "lorem ipsum dolor sit amet " * 3]
    solo = {}
    for prompt in prompts:
        engine = _engine(FakeModel())
        try:
            solo[prompt] = await _run(engine, prompt, 60)
        finally:
            engine.close()
    model = FakeModel()
    model.gate.clear()  # hold the first step until all three are queued
    engine = _engine(model)
    try:
        tasks = [asyncio.create_task(_run(engine, p, 60)) for p in prompts]
        await asyncio.sleep(0.2)
        model.gate.set()
        together = await asyncio.gather(*tasks)
    finally:
        engine.close()
    for prompt, (text, done) in zip(prompts, together, strict=True):
        assert text == solo[prompt][0]
        assert done.output_tokens == 60
    assert len(model.batches) < sum(60 for _ in prompts)  # steps carried several sequences


async def test_a_shared_prefix_is_taken_from_another_sequence() -> None:
    engine = _engine(FakeModel(n_seq=2))
    try:
        await _run(engine, CODE + "first task", 10)
        model_text, done = await _run(engine, CODE + "second task", 10, speculate=False)
        # the first session's sequence is idle; the new session reuses the common part
        assert done.cached_tokens >= len(CODE)
        assert model_text
    finally:
        engine.close()


async def test_cancelling_frees_the_sequence() -> None:
    model = FakeModel(n_seq=1)
    engine = _engine(model)
    try:
        stream = engine.generate(Job(CODE, 10_000, GREEDY, speculate=False))
        pieces = 0
        async for _ in stream:
            pieces += 1
            if pieces == 5:
                break
        await stream.aclose()
        await _idle(engine)
        assert model.freed == 1
        _, done = await _run(engine, "another session entirely", 20)  # the only sequence is free
        assert done.output_tokens == 20
    finally:
        engine.close()


async def test_a_full_cache_evicts_idle_sessions_then_refuses_the_newest() -> None:
    model = FakeModel(n_seq=3, kv_cells=300)
    engine = _engine(model)
    try:
        await _run(engine, "a" * 150, 10)  # idle afterwards, 160 cells
        _, done = await _run(engine, "b" * 150, 100)  # needs the idle session's cells
        assert done.output_tokens == 100
        model.gate.clear()
        tasks = [asyncio.create_task(_run(engine, c * 100, 150, speculate=False)) for c in "xyz"]
        await asyncio.sleep(0.2)
        model.gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        engine.close()
    refused = [r for r in results if isinstance(r, Overloaded)]
    finished = [r for r in results if isinstance(r, tuple)]
    assert refused
    assert finished
    assert all(done.output_tokens == 150 for _, done in finished)


async def test_context_too_long_and_limits() -> None:
    engine = _engine(FakeModel(n_ctx=100))
    try:
        with pytest.raises(ContextTooLong):
            await _run(engine, "x" * 100, 10)
        _, done = await _run(engine, "x" * 90, 50)  # only 10 positions left
        assert done.output_tokens == 10
        assert done.hit_max_tokens
    finally:
        engine.close()


async def test_stop_string_ends_the_request() -> None:
    engine = _engine(FakeModel())
    try:
        free, _ = await _run(engine, CODE, 60)
        stop = free[20:23]
        cut, done = await _run(engine, CODE, 60, stops=(stop,))
    finally:
        engine.close()
    assert cut == free[: free.index(stop)]
    assert done.stop_sequence == stop
    assert not done.hit_max_tokens


class BrokenModel(FakeModel):
    """Fails one decode once ``broken`` is set (a model error mid-run), then works again."""

    broken = False

    def decode(self, tokens: Sequence[BatchToken]) -> None:
        if self.broken:
            self.broken = False
            raise RuntimeError("the model broke")
        super().decode(tokens)


async def test_a_failing_step_reaches_every_running_request() -> None:
    """The step carried all three: each must learn of its failure, none may go on as if not."""
    model = BrokenModel()
    model.gate.clear()
    engine = _engine(model)
    prompts = [CODE, "the quick brown fox jumps over the lazy dog " * 2, "lorem ipsum dolor sit amet " * 3]
    try:
        tasks = [asyncio.create_task(_run(engine, p, 60)) for p in prompts]
        await asyncio.sleep(0.2)  # all three queued and admitted before the first step
        model.broken = True
        model.gate.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    finally:
        engine.close()
    assert all(isinstance(r, RuntimeError) for r in results), results
