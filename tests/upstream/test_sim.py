"""The simulated upstream: its schedule, its prefix cache, and all three surfaces in front of it."""

from __future__ import annotations

import anthropic
import openai
import pytest

from splitlane.sim_profiles import PROFILES, load_profile
from splitlane.upstream.sim.adapter import schedule


def test_schedule_follows_the_profile() -> None:
    profile = load_profile(
        "fast",
        {
            "base_latency_s": "0.5",
            "prefill_tps": "1000",
            "cached_prefill_tps": "10000",
            "decode_tps": "100",
            "chunk_interval_s": "0.05",
        },
    )
    first_s, chunks = schedule(profile, input_tokens=3000, cached_tokens=2000, output_tokens=101)
    assert first_s == pytest.approx(0.5 + 1000 / 1000 + 2000 / 10000)
    assert sum(n for n, _ in chunks) == 101
    assert chunks[0] == (1, 0.0)
    assert sum(d for _, d in chunks) == pytest.approx(100 / 100)  # the other 100 tokens at 100 tokens/s
    assert {n for n, _ in chunks[1:]} == {5}  # 0.05 s worth of tokens per chunk


def test_profiles_and_overrides_are_checked() -> None:
    assert set(PROFILES) >= {"frontier", "fast", "ultrafast"}
    assert load_profile("frontier", {"decode_tps": "500"}).decode_tps == 500
    with pytest.raises(ValueError, match="unknown sim parameter"):
        load_profile("fast", {"decode_speed": "1"})
    with pytest.raises(ValueError, match="unknown sim profile"):
        load_profile("turbo")


def test_any_model_name_on_every_surface(sim: str) -> None:
    oai = openai.OpenAI(base_url=sim + "/v1", api_key="x")
    chat = oai.chat.completions.create(model="gpt-x", messages=[{"role": "user", "content": "hi"}], max_tokens=7)
    assert chat.usage is not None
    assert chat.usage.completion_tokens == 7
    assert chat.choices[0].message.content == " tok" * 7
    response = oai.responses.create(model="o-y", input="hi", max_output_tokens=5)
    assert response.usage is not None
    assert response.usage.output_tokens == 5
    message = anthropic.Anthropic(base_url=sim, api_key="x").messages.create(
        model="claude-z", max_tokens=3, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.usage.output_tokens == 3
    assert message.stop_reason == "end_turn"


def test_a_session_prefix_is_cached_on_the_next_turn(sim: str) -> None:
    oai = openai.OpenAI(base_url=sim + "/v1", api_key="x")
    history = [{"role": "system", "content": "You are terse. " * 200}, {"role": "user", "content": "first " * 300}]
    first = oai.chat.completions.create(model="m", messages=history, max_tokens=4)  # type: ignore[arg-type]
    assert first.usage is not None
    assert first.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    history += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "second"},
    ]
    second = oai.chat.completions.create(model="m", messages=history, max_tokens=4)  # type: ignore[arg-type]
    assert second.usage is not None
    assert second.usage.prompt_tokens_details is not None
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert first.usage.prompt_tokens - 10 <= cached < second.usage.prompt_tokens
