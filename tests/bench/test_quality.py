"""``splitlane bench quality``: the rough check, the page for a person, one real reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitlane.bench import quality
from splitlane.cli.main import app


def _prompt(name: str) -> quality.Prompt:
    return next(p for p in quality.PROMPTS if p.id == name)


def test_twenty_prompts_of_three_kinds() -> None:
    assert len(quality.PROMPTS) == 20
    assert {p.kind for p in quality.PROMPTS} == {"code", "tool", "instruction"}
    assert len({p.id for p in quality.PROMPTS}) == 20
    assert any(p.forced for p in quality.PROMPTS)
    assert all(p.expect or p.tool for p in quality.PROMPTS)  # every reply can be checked


def test_the_rough_check_wants_the_word_or_the_tool() -> None:
    reverse = _prompt("reverse")
    assert quality.check(reverse, quality.Reply("m", "reverse", text="return s[::-1]"))
    assert not quality.check(reverse, quality.Reply("m", "reverse", text="I like strings"))
    weather = _prompt("weather-forced")
    assert quality.check(weather, quality.Reply("m", "w", calls=[("get_weather", '{"city":"Paris"}')]))
    assert not quality.check(weather, quality.Reply("m", "w", text="get_weather", calls=[("other", "{}")]))


def test_the_page_keeps_each_reply_verbatim() -> None:
    replies = [
        quality.Reply("smollm2-135m-instruct", "reverse", text="```python\nreturn s[::-1]\n```", passed=True),
        quality.Reply("gemma3-270m", "reverse", text="strings", output_tokens=3, decode_s=0.1),
    ]
    page = quality.markdown(replies, ["smollm2-135m-instruct", "gemma3-270m"], [_prompt("reverse")])
    assert "````text\n```python\nreturn s[::-1]\n```\n````" in page  # the reply's own fence survives
    assert "| SmolLM2 135M Instruct Q4_1 | 1 / 1 |" in page
    assert "**gemma3-270m** ✗" in page


@pytest.mark.anyio
async def test_the_default_model_answers_a_forced_call_for_real() -> None:
    ticks: list[str] = []
    replies = await quality.run(
        ["smollm2-135m-instruct"], 32, 0, 2, ticks.append, prompts=[_prompt("weather-forced"), _prompt("capital")]
    )
    assert ticks == ["smollm2-135m-instruct: weather-forced", "smollm2-135m-instruct: capital"]
    forced = replies[0]
    assert forced.calls
    assert forced.calls[0][0] == "get_weather"
    assert forced.passed
    assert replies[1].output_tokens > 0


def test_an_unknown_model_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "quality", "--models", "gpt-7", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "gpt-7" in result.output
