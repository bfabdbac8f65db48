"""The real embedded model (the default, SmolLM2 135M Instruct from PyPI) behind every surface."""

from __future__ import annotations

from pathlib import Path

import anthropic
import openai
import pytest

from splitlane.config import UpstreamConfig
from splitlane.core.events import TextDelta
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.engine.models import MODELS, OTHER_GGUF
from splitlane.upstream.local.adapter import LocalUpstream
from tests.api.surfaces import SURFACES, Client


@pytest.fixture(params=SURFACES)
def client(request: pytest.FixtureRequest, oai: openai.OpenAI, ant: anthropic.Anthropic) -> Client:
    return Client(request.param, oai, ant)


def test_smoke_streams_a_reply(client: Client) -> None:
    limit = {"responses": {"max_output_tokens": 24}, "chat": {"max_tokens": 24}, "messages": {"max_tokens": 24}}
    extra = {**limit[client.surface], "temperature": 0}
    if client.surface == "responses":  # a length-limited reply ends in response.incomplete, not completed
        stream = client.oai.responses.create(model="local", input="Write a haiku about the sea.", stream=True, **extra)
        events = list(stream)
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert events[-1].type in ("response.completed", "response.incomplete")
        usage = events[-1].response.usage
        assert text
        assert usage is not None
        assert usage.output_tokens <= 24
        assert usage.input_tokens > 5
        return
    if client.surface == "chat":  # the SDK's stream helper raises on finish_reason "length": read raw chunks
        chunks = list(
            client.oai.chat.completions.create(
                model="local",
                messages=[{"role": "user", "content": "Write a haiku about the sea."}],
                stream=True,
                stream_options={"include_usage": True},
                **extra,
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.strip()
        assert chunks[-1].usage is not None
        assert 0 < chunks[-1].usage.completion_tokens <= 24
        return
    reply = client.ask("local", [{"role": "user", "content": "Write a haiku about the sea."}], stream=True, **extra)
    assert reply.text.strip()
    assert 0 < reply.output_tokens <= 24
    assert reply.input_tokens > 5


def test_greedy_is_repeatable_and_reuses_the_prefix(oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "List three fruits."}]
    first = oai.chat.completions.create(model="local", messages=messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    second = oai.chat.completions.create(model="local", messages=messages, max_tokens=16, temperature=0)  # type: ignore[arg-type]
    assert first.choices[0].message.content == second.choices[0].message.content
    assert second.usage is not None
    assert second.usage.prompt_tokens_details is not None
    assert second.usage.prompt_tokens_details.cached_tokens >= second.usage.prompt_tokens - 1


def test_stop_sequence_is_honoured(oai: openai.OpenAI) -> None:
    free = oai.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "Count: 1, 2, 3"}], max_tokens=20, temperature=0
    )
    text = free.choices[0].message.content or ""
    assert len(text) > 4
    stop = text[2:4]
    cut = oai.chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "Count: 1, 2, 3"}],
        max_tokens=20,
        temperature=0,
        stop=[stop],
    )
    assert cut.choices[0].message.content == text[: text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_forced_tool_call_round_trip(client: Client) -> None:
    """tool_choice required: a grammar makes even a 135M model emit a valid call."""
    forced = {
        "responses": {"tool_choice": "required"},
        "chat": {"tool_choice": "required"},
        "messages": {"tool_choice": {"type": "any"}},
    }[client.surface]
    history = client.first_turn()
    first = client.ask("local", history, stream=True, tools=True, temperature=0, **forced)
    assert len(first.tool_calls) == 1
    _, name, arguments = first.tool_calls[0]
    assert name == "get_weather"
    assert isinstance(arguments, dict)
    second = client.ask(
        "local",
        client.follow_up(history, first, "sunny"),
        stream=False,
        tools=True,
        temperature=0,
        **(
            {"max_output_tokens": 16}
            if client.surface == "responses"
            else {"max_tokens": 16}
            if client.surface == "chat"
            else {}
        ),
    )
    assert second.input_tokens > first.input_tokens


@pytest.mark.parametrize(
    "parameters",
    [
        {"type": "object", "properties": {"a": {"type": 5}}},
        {"type": "object", "properties": {"a": {"type": "string", "pattern": "(["}}},
        {"type": "object", "properties": {"a": {"$ref": "#"}}},
    ],
    ids=["type is a number", "bad pattern", "self reference"],
)
def test_a_forced_call_with_a_schema_the_engine_cannot_follow_is_400(oai: openai.OpenAI, parameters: dict) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": parameters}}
    with pytest.raises(openai.BadRequestError, match="not a JSON schema this engine can follow") as refused:
        oai.chat.completions.create(
            model="local",
            max_tokens=4,
            messages=[{"role": "user", "content": "hi"}],
            tools=[tool],  # type: ignore[list-item]
            tool_choice="required",
        )
    assert refused.value.body["param"] == "tools"  # type: ignore[index]
    reply = oai.chat.completions.create(model="local", max_tokens=2, messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content is not None  # the engine goes on serving


def test_a_seeded_sampled_reply_repeats(oai: openai.OpenAI) -> None:
    """At the model's own sampling (no temperature given), one seed gives one reply."""
    messages = [{"role": "user", "content": "Tell me about the moon."}]
    replies = {
        seed: [
            oai.chat.completions.create(model="local", messages=messages, max_tokens=24, seed=seed)  # type: ignore[arg-type]
            .choices[0]
            .message.content
            for _ in range(2)
        ]
        for seed in (1, 2)
    }
    assert replies[1][0] == replies[1][1]
    assert replies[2][0] == replies[2][1]
    assert replies[1][0] != replies[2][0]  # the seed reached the sampler (24 sampled tokens)


async def _text(upstream: LocalUpstream, request: ChatRequest) -> str:
    return "".join([e.text async for e in upstream.stream(request) if isinstance(e, TextDelta)])


@pytest.mark.anyio
async def test_the_upstreams_seed_serves_requests_that_send_none() -> None:
    request = ChatRequest(
        model="local", messages=(Message(Role.USER, (TextPart("Tell me about the moon."),)),), max_output_tokens=24
    )
    texts = []
    for seed in (5, 5, 6):
        upstream = LocalUpstream("local", UpstreamConfig(kind="local", n_ctx=512, n_seq=1, seed=seed))
        try:
            texts.append(await _text(upstream, request))
        finally:
            await upstream.aclose()
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_a_packaged_model_brings_its_own_default_sampling() -> None:
    smol = LocalUpstream("a", UpstreamConfig(kind="local"))
    gemma = LocalUpstream("b", UpstreamConfig(kind="local", model="gemma3-270m"))
    other = LocalUpstream("c", UpstreamConfig(kind="local", model_path=Path("/x.gguf")))
    assert smol.sampling == MODELS["smollm2-135m-instruct"].sampling
    assert smol.sampling.temperature == 0.2  # SmolLM2's model card
    assert gemma.sampling.temperature == 1.0  # Gemma 3's
    assert other.sampling == OTHER_GGUF
