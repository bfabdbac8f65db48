"""The engine on the real packaged default model (SmolLM2 135M Instruct): the same guarantees as with the fake."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from splitlane.engine import templates
from splitlane.engine.engine import Engine
from splitlane.engine.models import MODELS, default_model_path
from splitlane.engine.requests import Done, Job
from splitlane.engine.runner import Runner, RunnerConfig, SamplingParams, rope_stretch, trained_context

pytestmark = pytest.mark.anyio

SOURCE = (Path(__file__).parents[2] / "src/splitlane/engine/text.py").read_text()
GREEDY = SamplingParams(temperature=0.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=[True, False], ids=["unified-kv", "kv-stream-per-sequence"])
def runner_config(request: pytest.FixtureRequest) -> RunnerConfig:
    return RunnerConfig(default_model_path(), n_ctx=4096, n_seq=4, n_threads=2, kv_unified=request.param)


def _prompt(engine_runner: Runner, text: str) -> str:
    return templates.render(engine_runner.metadata, [{"role": "user", "content": text}])


async def _run(engine: Engine, prompt: str, max_tokens: int, speculate: bool = True) -> tuple[str, Done]:
    pieces: list[str] = []
    async for item in engine.generate(Job(prompt, max_tokens, GREEDY, speculate=speculate)):
        if isinstance(item, Done):
            return "".join(pieces), item
        pieces.append(item)
    raise AssertionError("no Done")


async def test_greedy_speculation_matches_plain_decoding(runner_config: RunnerConfig) -> None:
    """Token-identical with flash attention off. With it on (the default, 1.2-1.4x faster here)
    llama.cpp's CPU kernel rounds a k-token step differently from a 1-token step (|logit| off by
    up to ~1 at the same position), so a greedy reply can take the other branch of a near-tie."""
    exact = dataclasses.replace(runner_config, flash_attn=False)
    engine = Engine(lambda: Runner(exact))
    try:
        runner = await engine.runner()
        prompt = _prompt(runner, "Rewrite this file, renaming TextStream to TokenText:\n\n" + SOURCE)
        plain, plain_done = await _run(engine, prompt, 96, speculate=False)
        fast, fast_done = await _run(engine, prompt, 96, speculate=True)
    finally:
        engine.close()
    assert fast == plain
    assert fast_done.output_tokens == plain_done.output_tokens
    assert fast_done.drafted_tokens > 0  # the reply copies the file: there was something to draft
    assert fast_done.cached_tokens == fast_done.prompt_tokens - 1  # and the second run reused the prompt


async def test_a_warm_turn_equals_a_cold_one(runner_config: RunnerConfig) -> None:
    """Token-identical with flash attention off. With it on, the warm turn's cached reply was
    computed in decode steps whose size follows the measured step cost (the draft length), the
    cold turn's in one prefill chunk, and the CPU kernel rounds those differently: on a loaded
    machine the two replies took different branches of a near-tie (CI, stop 17)."""
    exact = dataclasses.replace(runner_config, flash_attn=False)
    engine = Engine(lambda: Runner(exact))
    try:
        runner = await engine.runner()
        first_prompt = _prompt(runner, "Summarise this file in one sentence:\n\n" + SOURCE)
        first, _ = await _run(engine, first_prompt, 24)
        second_prompt = templates.render(
            runner.metadata,
            [
                {"role": "user", "content": "Summarise this file in one sentence:\n\n" + SOURCE},
                {"role": "assistant", "content": first},
                {"role": "user", "content": "Now name its class."},
            ],
        )
        warm, warm_done = await _run(engine, second_prompt, 24)
    finally:
        engine.close()
    cold_engine = Engine(lambda: Runner(exact))
    try:
        cold, cold_done = await _run(cold_engine, second_prompt, 24)
    finally:
        cold_engine.close()
    assert warm_done.cached_tokens > 0.8 * warm_done.prompt_tokens
    assert cold_done.cached_tokens == 0
    assert warm == cold


async def test_concurrent_sessions_do_not_disturb_each_other(runner_config: RunnerConfig) -> None:
    engine = Engine(lambda: Runner(runner_config))
    try:
        runner = await engine.runner()
        prompts = [_prompt(runner, q) for q in ("Name three rivers.", "What is 2+2?", "Write a Python hello world.")]
        solo = [await _run(engine, p, 24, speculate=False) for p in prompts]
        together = await asyncio.gather(*(_run(engine, p, 24, speculate=False) for p in prompts))
    finally:
        engine.close()
    assert [text for text, _ in together] == [text for text, _ in solo]


async def test_sessions_started_together_prefill_their_common_prefix_once(runner_config: RunnerConfig) -> None:
    """Concurrent greedy output is not bit-exact against solo runs in one unified KV cache: where a
    sequence's cells sit among other sequences' changes which SIMD lane sums each term of the
    attention dot products, so a near-tie late in a reply can flip (seen in this test with and
    without this sharing). What sharing the wrong cells would break — the reply from its first
    line — is compared; how many prompt tokens each request computed itself is exact."""
    questions = ("Which class does it define?", "Name one method.", "Is there a docstring?")
    solo_engine = Engine(lambda: Runner(runner_config))
    try:
        runner = await solo_engine.runner()
        context = SOURCE * 3  # longer than one 512-token prefill step
        prompts = [_prompt(runner, context + "\n\n" + q) for q in questions]
        solo = []
        for p in prompts:
            solo_engine.close()
            solo_engine = Engine(lambda: Runner(runner_config))  # cold each: nothing cached
            solo.append(await _run(solo_engine, p, 16, speculate=False))
    finally:
        solo_engine.close()
    engine = Engine(lambda: Runner(runner_config))
    try:
        runner = await engine.runner()
        common = len(runner.tokenize(context)) - 8  # the prompts' common beginning, give or take the template
        together = await asyncio.gather(*(_run(engine, p, 16, speculate=False) for p in prompts))
    finally:
        engine.close()
    for (text, _), (alone, _) in zip(together, solo, strict=True):
        assert text.splitlines()[:1] == alone.splitlines()[:1]
    assert [done.cached_tokens for _, done in solo] == [0, 0, 0]
    # the first admitted prefills the shared part; the other two wait for it and share its cells
    # (admitted a step after it, they would otherwise share its first 512 tokens and compute the rest)
    cached = sorted(done.cached_tokens for _, done in together)
    assert cached[0] == 0
    assert cached[1] >= common, cached
    assert cached[2] >= common, cached


async def test_a_context_past_the_trained_one_is_served_with_yarn() -> None:
    """SmolLM2 was trained on 8K tokens; n_ctx = 16K is granted (the rotary positions stretched
    with YaRN), not cut back to 8K, and the model still answers a short prompt."""
    config = RunnerConfig(default_model_path(), n_ctx=16384, n_seq=1, n_threads=2)
    engine = Engine(lambda: Runner(config))
    try:
        runner = await engine.runner()
        assert runner.n_ctx == 16384
        text, done = await _run(engine, _prompt(runner, "Write a Python function that reverses a string."), 24)
    finally:
        engine.close()
    assert "def " in text
    assert done.output_tokens > 0


def test_the_trained_context_is_read_from_the_gguf_header() -> None:
    assert trained_context(MODELS["smollm2-135m-instruct"].path()) == 8192
    assert trained_context(MODELS["gemma3-270m"].path()) == 32768
    assert rope_stretch(8192, 8192) == {}
    assert rope_stretch(0, 65536) == {}  # a model that does not say is not stretched
    assert rope_stretch(8192, 32768)["rope_freq_scale"] == 0.25
