"""Prompt-cache hints, server tools and relayed events through the gateway (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import gateway_with
from tests.servers import FIXTURES, FakeProvider

USER = {"role": "user", "content": "What is the weather in Paris?"}
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
TOOL = {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}


def messages(gateway: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        gateway + "/v1/messages", json={"max_tokens": 64, **body}, headers={"anthropic-version": "2023-06-01"}
    )


# ---------------------------------------------------------------- cache_control is checked
@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (
            {"system": [{"type": "text", "text": "s", "cache_control": "ephemeral"}]},
            "system.0.cache_control",
            "object",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "x"}}]}
                ]
            },
            "messages.0.content.0.cache_control.type",
            "ephemeral",
        ),
        (
            {"tools": [{**TOOL, "cache_control": {"type": "ephemeral", "ttl": "2h"}}]},
            "tools.0.cache_control.ttl",
            "'5m' or '1h'",
        ),
        (
            {
                "system": [{"type": "text", "text": f"s{i}", "cache_control": {"type": "ephemeral"}} for i in range(3)],
                "tools": [{**TOOL, "cache_control": {"type": "ephemeral"}}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}
                ],
            },
            "messages.0.content.0.cache_control",
            "maximum of 4",
        ),
    ],
    ids=["not-an-object", "wrong-type", "wrong-ttl", "fifth-breakpoint"],
)
def test_bad_cache_control_is_a_400_naming_the_field(
    gateway: str, fake: FakeProvider, body: dict[str, Any], field: str, says: str
) -> None:
    reply = messages(gateway, {"model": "anthropic:text", "messages": [USER], **body})
    assert reply.status_code == 400, reply.text
    error = reply.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert field in error["error"]["message"]
    assert says in error["error"]["message"]
    assert not fake.requests  # refused before anything went upstream


def test_breakpoints_reach_a_chat_client_routed_to_anthropic_and_are_not_doubled(
    oai: openai.OpenAI, fake: FakeProvider
) -> None:
    """A Chat client's own cache_control parts are hints: they go to Anthropic as they were, and
    the gateway adds none of its own."""
    oai.chat.completions.create(
        model="anthropic:text",
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "hi"},
        ],  # type: ignore[list-item]
    )
    sent = fake.last("anthropic").body
    assert sent["system"] == [{"type": "text", "text": "rules", "cache_control": {"type": "ephemeral"}}]
    assert json.dumps(sent).count("cache_control") == 1


def test_automatic_breakpoints_follow_the_conversation(oai: openai.OpenAI, fake: FakeProvider) -> None:
    history = [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    tools: Any = [{"type": "function", "function": {"name": "t", "parameters": {"type": "object"}}}]
    oai.chat.completions.create(model="anthropic:text", messages=history, tools=tools)  # type: ignore[arg-type]
    sent = fake.last("anthropic").body
    mark = {"type": "ephemeral"}
    assert sent["tools"][-1]["cache_control"] == mark
    assert sent["system"] == [{"type": "text", "text": "rules", "cache_control": mark}]
    # the rolling pair: the latest message and the previous user turn
    assert [m["content"][-1].get("cache_control") for m in sent["messages"]] == [mark, None, mark]


def test_breakpoints_off_and_a_one_hour_ttl(tmp_path: Path, provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    config = {
        "upstreams": {
            "off": {"kind": "anthropic", "base_url": url, "cache": {"breakpoints": "off"}},
            "hour": {"kind": "anthropic", "base_url": url, "cache": {"ttl": "1h"}},
        },
        "models": {"off": {"upstream": "off", "model": "text"}, "hour": {"upstream": "hour", "model": "text"}},
    }
    with gateway_with(config, tmp_path) as gateway:
        client = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0)
        fake.requests.clear()
        client.chat.completions.create(model="off", messages=[{"role": "system", "content": "s"}, USER])  # type: ignore[list-item]
        assert "cache_control" not in json.dumps(fake.last("anthropic").body)
        client.chat.completions.create(model="hour", messages=[{"role": "system", "content": "s"}, USER])  # type: ignore[list-item]
        assert fake.last("anthropic").body["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}


def test_prompt_cache_key_is_the_session_for_openai_upstreams(oai: openai.OpenAI, fake: FakeProvider) -> None:
    history: Any = [{"role": "user", "content": "same session"}]
    oai.responses.create(model="openai_responses:text", input=history)
    first = fake.last("openai_responses").body["prompt_cache_key"]
    oai.responses.create(model="openai_responses:text", input=[*history, {"role": "user", "content": "more"}])
    assert fake.last("openai_responses").body["prompt_cache_key"] == first  # one session, one key


# ---------------------------------------------------------------- server tools and opaque blocks
def test_a_server_tool_goes_to_anthropic_as_it_came(gateway: str, fake: FakeProvider) -> None:
    reply = messages(gateway, {"model": "anthropic:text", "messages": [USER], "tools": [TOOL, WEB_SEARCH]})
    assert reply.status_code == 200, reply.text
    assert fake.last("anthropic").body["tools"] == [TOOL, WEB_SEARCH]


def test_a_server_tool_to_an_upstream_that_cannot_run_it_is_a_400_naming_it(gateway: str, fake: FakeProvider) -> None:
    reply = messages(gateway, {"model": "openai_chat:text", "messages": [USER], "tools": [TOOL, WEB_SEARCH]})
    assert reply.status_code == 400
    message = reply.json()["error"]["message"]
    assert "tools.1.type" in message
    assert "web_search_20250305" in message
    assert 'unsupported = "drop"' in message
    assert not fake.requests


def test_a_hosted_responses_tool_to_anthropic_is_a_400(oai: openai.OpenAI, fake: FakeProvider) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model="anthropic:text", input="hi", tools=[{"type": "web_search"}])
    assert caught.value.body is not None
    assert "tools.0.type" in str(caught.value.body)
    assert not fake.requests


SEARCH_HISTORY = [
    USER,
    {
        "role": "assistant",
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "paris weather"}},
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_1",
                "content": [{"type": "web_search_result", "url": "https://x", "title": "x", "encrypted_content": "e"}],
            },
            {
                "type": "text",
                "text": "Sunny.",
                "citations": [{"type": "web_search_result_location", "url": "https://x"}],
            },
        ],
    },
    {"role": "user", "content": "And tomorrow?"},
]


def test_server_tool_blocks_in_the_history_are_refused_or_dropped_by_config(
    tmp_path: Path, provider: tuple[FakeProvider, str]
) -> None:
    fake, url = provider
    config = {
        "upstreams": {
            "strict": {"kind": "openai_chat", "base_url": url + "/v1"},
            "lenient": {"kind": "openai_chat", "base_url": url + "/v1", "unsupported": "drop"},
        },
        "models": {
            "strict": {"upstream": "strict", "model": "text"},
            "lenient": {"upstream": "lenient", "model": "text"},
        },
    }
    with gateway_with(config, tmp_path) as gateway:
        fake.requests.clear()
        refused = messages(gateway, {"model": "strict", "messages": SEARCH_HISTORY, "tools": [WEB_SEARCH]})
        assert refused.status_code == 400
        assert "tools.0.type" in refused.json()["error"]["message"]
        assert not fake.requests
        kept = messages(gateway, {"model": "lenient", "messages": SEARCH_HISTORY, "tools": [WEB_SEARCH]})
        assert kept.status_code == 200, kept.text
        sent = fake.last("openai_chat").body
        assert "tools" not in sent
        assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
        assert sent["messages"][1]["content"] == "Sunny."  # the text stays; the search blocks do not


def test_mid_conversation_system_message_on_the_messages_surface(ant: anthropic.Anthropic, fake: FakeProvider) -> None:
    history: Any = [USER, {"role": "assistant", "content": "ok"}, {"role": "system", "content": "Be brief."}, USER]
    ant.messages.create(model="openai_chat:text", max_tokens=64, messages=history)
    assert [m["role"] for m in fake.last("openai_chat").body["messages"]] == ["user", "assistant", "system", "user"]
    ant.messages.create(model="anthropic:text", max_tokens=64, messages=history)
    assert fake.last("anthropic").body["messages"] == history


# ---------------------------------------------------------------- relayed events
@pytest.mark.parametrize("scenario", ["text", "tool", "reasoning"])
def test_anthropic_events_reach_a_messages_client_byte_for_byte(gateway: str, scenario: str) -> None:
    body = {"model": f"anthropic:{scenario}", "max_tokens": 64, "messages": [USER], "stream": True}
    with httpx.stream("POST", gateway + "/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}) as r:
        received = b"".join(r.iter_bytes())
    assert received == (FIXTURES / "anthropic" / f"{scenario}.sse").read_bytes()


def test_chat_chunks_are_relayed_and_the_usage_chunk_only_when_asked(oai: openai.OpenAI, gateway: str) -> None:
    fixture = (FIXTURES / "openai_chat" / "text.sse").read_bytes()
    events = [e for e in fixture.split(b"\n\n") if e]
    body: dict[str, Any] = {"model": "openai_chat:text", "messages": [USER], "stream": True}
    with httpx.stream("POST", gateway + "/v1/chat/completions", json=body) as r:
        plain = b"".join(r.iter_bytes())
    usage_event = next(e for e in events if b'"choices":[]' in e)
    assert plain == b"".join(e + b"\n\n" for e in events if e != usage_event)
    body["stream_options"] = {"include_usage": True}
    with httpx.stream("POST", gateway + "/v1/chat/completions", json=body) as r:
        asked = b"".join(r.iter_bytes())
    assert asked == fixture


def test_a_relayed_non_streamed_messages_answer_is_the_upstreams_message(ant: anthropic.Anthropic) -> None:
    reply = ant.messages.create(model="anthropic:reasoning", max_tokens=64, messages=[USER])  # type: ignore[list-item]
    assert reply.id.startswith("msg_fx")  # the upstream's own id, not one the gateway made
    assert [b.type for b in reply.content] == ["thinking", "text"]
    assert reply.usage.cache_read_input_tokens == 16
