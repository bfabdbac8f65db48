"""Every surface x every remote upstream kind, streaming and not, through the official SDKs."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.api.surfaces import SURFACES, WEATHER_SCHEMA, Client
from tests.conftest import KINDS
from tests.servers import FakeProvider

pytestmark = pytest.mark.parametrize("stream", [True, False], ids=["stream", "nostream"])


@pytest.fixture(params=SURFACES)
def client(request: pytest.FixtureRequest, oai: openai.OpenAI, ant: anthropic.Anthropic) -> Client:
    return Client(request.param, oai, ant)


@pytest.mark.parametrize("kind", KINDS)
def test_text_reply_and_usage(client: Client, kind: str, stream: bool, fake: FakeProvider) -> None:
    reply = client.ask(f"{kind}:text", stream=stream)
    assert reply.text == "Hello from the fake upstream."
    assert reply.tool_calls == []
    # every fixture reports a 21-token prompt of which 16 were cached, and 6 output tokens
    assert (reply.input_tokens, reply.cached_tokens, reply.output_tokens) == (21, 16, 6)
    assert fake.last(kind).body["stream"] is True  # upstreams are always streamed, folded when needed


@pytest.mark.parametrize("kind", KINDS)
def test_tool_call_round_trip(client: Client, kind: str, stream: bool, fake: FakeProvider) -> None:
    history = client.first_turn()
    first = client.ask(f"{kind}:tool", history, stream=stream, tools=True)
    assert [(name, args) for _, name, args in first.tool_calls] == [("get_weather", {"city": "Paris"})]
    call_id = first.tool_calls[0][0]

    second = client.ask(f"{kind}:tool", client.follow_up(history, first, "sunny, 24C"), stream=stream, tools=True)
    assert second.text == "It is sunny in Paris."

    sent = fake.last(kind).body
    if kind == "openai_chat":
        assistant, tool = sent["messages"][-2:]
        assert assistant["tool_calls"][0]["id"] == call_id
        assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"
        assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        assert tool == {"role": "tool", "tool_call_id": call_id, "content": "sunny, 24C"}
        assert sent["tools"][0]["function"]["name"] == "get_weather"
    elif kind == "openai_responses":
        call, output = sent["input"][-2:]
        assert call["type"] == "function_call"
        assert call["call_id"] == call_id
        assert call["name"] == "get_weather"
        assert output == {"type": "function_call_output", "call_id": call_id, "output": "sunny, 24C"}
        assert json.loads(call["arguments"]) == {"city": "Paris"}
        assert sent["tools"][0] == {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": WEATHER_SCHEMA,
        }
    else:
        assistant, user = sent["messages"][-2:]
        assert assistant["role"] == "assistant"
        assert {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": "Paris"}} in assistant[
            "content"
        ]
        if client.surface == "messages":
            # a same-protocol hop: the client's own blocks, as its SDK wrote them
            result = {"type": "tool_result", "tool_use_id": call_id, "content": "sunny, 24C"}
        else:
            # encoded from the canonical model, with the automatic cache breakpoint on the last block
            result = {
                "type": "tool_result",
                "tool_use_id": call_id,
                "content": [{"type": "text", "text": "sunny, 24C"}],
                "cache_control": {"type": "ephemeral"},
            }
        assert user == {"role": "user", "content": [result]}
        assert sent["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}


@pytest.mark.parametrize("kind", KINDS)
def test_reasoning_is_passed_through(client: Client, kind: str, stream: bool) -> None:
    reply = client.ask(f"{kind}:reasoning", stream=stream)
    assert reply.reasoning == "The user wants the weather."
    assert reply.text == "Hello from the fake upstream."
