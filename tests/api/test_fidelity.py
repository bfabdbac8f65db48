"""The fidelity matrix: real client requests through every surface to every upstream kind.

Inputs are what the real CLIs sent (tests/fixtures/requests, captured by
tests/fixtures/capture_requests.py: Claude Code's Messages bodies, Codex's Responses bodies) and
what the OpenAI SDK sends for a Chat Completions history. A same-protocol hop must hand the
upstream the client's JSON unchanged but for ``model`` and the gateway's documented edits; a
cross hop keeps, maps or drops each field by the table in docs/protocols.md, asserted here row
by row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from splitlane.api.responses.decode import decode_request
from splitlane.api.responses.encode import ResponseContext, output_item
from splitlane.api.responses.schema import ResponsesBody
from splitlane.core.parts import ToolCallPart
from tests.servers import FakeProvider

REQUESTS = Path(__file__).parents[1] / "fixtures" / "requests"


def captured(client: str) -> dict[str, list[dict[str, Any]]]:
    """Each captured version's request bodies (the pinned CLI's and npm latest's at capture time)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(REQUESTS.glob(f"{client}-*.json"))}


CLAUDE_CODE = captured("claude-code")
CODEX = captured("codex")
CLAUDE_CODE_TURNS = [(v, t) for v, bodies in CLAUDE_CODE.items() for t in range(len(bodies))]
CODEX_TURNS = [(v, t) for v, bodies in CODEX.items() for t in range(len(bodies))]
HEADERS = {"anthropic-version": "2023-06-01", "authorization": "Bearer test"}


def send(gateway: str, path: str, body: dict[str, Any], model: str) -> httpx.Response:
    reply = httpx.post(gateway + path, json={**body, "model": model}, headers=HEADERS, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply


def but_model(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "model"}


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))


def breakpoints(body: dict[str, Any]) -> int:
    return json.dumps(body).count('"cache_control"')


# ---------------------------------------------------------------- same protocol: lossless
@pytest.mark.parametrize(("version", "turn"), CLAUDE_CODE_TURNS)
def test_claude_code_to_anthropic_is_forwarded_unchanged(
    gateway: str, fake: FakeProvider, version: str, turn: int
) -> None:
    body = CLAUDE_CODE[version][turn]
    send(gateway, "/v1/messages", body, "anthropic:text")
    sent = fake.last("anthropic").body
    assert sent["model"] == "text"
    assert but_model(sent) == but_model(body)  # system blocks, breakpoints, system messages, betas' fields


@pytest.mark.parametrize(("version", "turn"), CODEX_TURNS)
def test_codex_to_openai_responses_is_forwarded_unchanged(
    gateway: str, fake: FakeProvider, version: str, turn: int
) -> None:
    body = CODEX[version][turn]
    send(gateway, "/v1/responses", body, "openai_responses:text")
    sent = fake.last("openai_responses").body
    assert but_model(sent) == but_model(body)  # namespace tools, client_metadata, prompt_cache_key, include


CHAT_HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]},
    {"role": "user", "content": "Weather in Paris?", "name": "ada"},
    {
        "role": "assistant",
        "content": None,
        "reasoning_content": "Call the tool.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]
CHAT_TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}
]


def test_sdk_chat_to_openai_chat_is_forwarded_with_the_gateways_edits_only(
    oai: openai.OpenAI, fake: FakeProvider
) -> None:
    extra = {"seed": 7, "logit_bias": {"50256": -100}, "user": "ada", "reasoning_effort": "low"}
    stream = oai.chat.completions.create(
        model="openai_chat:text",
        messages=CHAT_HISTORY,  # type: ignore[arg-type]
        tools=CHAT_TOOLS,
        stream=True,
        extra_body=extra,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    sent = fake.last("openai_chat").body
    expected = {"messages": CHAT_HISTORY, "tools": CHAT_TOOLS, "stream": True, **extra}
    # the gateway's edits: usage in the stream (it reads it for telemetry), the session's cache key
    assert sent.pop("stream_options") == {"include_usage": True}
    assert sent.pop("prompt_cache_key").startswith("fingerprint:")
    assert but_model(sent) == expected


def test_a_clients_own_prompt_cache_key_is_kept(oai: openai.OpenAI, fake: FakeProvider) -> None:
    oai.chat.completions.create(
        model="openai_chat:text", messages=[{"role": "user", "content": "hi"}], extra_body={"prompt_cache_key": "mine"}
    )
    assert fake.last("openai_chat").body["prompt_cache_key"] == "mine"


# ---------------------------------------------------------------- cross protocol: the table
@pytest.mark.parametrize("version", CLAUDE_CODE)
def test_claude_code_to_chat_upstream(gateway: str, fake: FakeProvider, version: str) -> None:
    body = CLAUDE_CODE[version][-1]
    send(gateway, "/v1/messages", body, "openai_chat:text")
    sent = fake.last("openai_chat").body
    messages = sent["messages"]
    # mapped: the system blocks into one system message, in order
    assert messages[0] == {"role": "system", "content": "".join(b["text"] for b in body["system"])}
    # kept in place: a system message inside the conversation (mid-conversation-system beta)
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "system", "assistant", "tool"]
    assert messages[2]["content"] == text_of(body["messages"][1]["content"])
    # mapped: tool_use -> tool_calls, tool_result -> a tool message with the same id
    use = body["messages"][2]["content"][0]
    assert messages[3]["tool_calls"][0]["id"] == use["id"]
    assert json.loads(messages[3]["tool_calls"][0]["function"]["arguments"]) == use["input"]
    assert messages[4]["tool_call_id"] == use["id"]
    # kept: every tool, by name and schema
    assert [t["function"]["name"] for t in sent["tools"]] == [t["name"] for t in body["tools"]]
    assert sent["tools"][1]["function"]["parameters"] == body["tools"][1]["input_schema"]
    assert sent["max_tokens"] == body["max_tokens"]
    # mapped: output_config.effort -> reasoning_effort; the session -> prompt_cache_key
    assert sent["reasoning_effort"] == body["output_config"]["effort"]
    assert sent["prompt_cache_key"]
    # dropped (no Chat equivalent): breakpoints, thinking config, context_management, metadata
    assert breakpoints(sent) == 0
    assert not {"thinking", "context_management", "output_config", "metadata", "system"} & set(sent)


@pytest.mark.parametrize("version", CLAUDE_CODE)
def test_claude_code_to_responses_upstream(gateway: str, fake: FakeProvider, version: str) -> None:
    body = CLAUDE_CODE[version][-1]
    send(gateway, "/v1/messages", body, "openai_responses:text")
    sent = fake.last("openai_responses").body
    assert sent["instructions"] == "".join(b["text"] for b in body["system"])
    kinds = [(i["type"], i.get("role")) for i in sent["input"]]
    assert kinds == [
        ("message", "user"),
        ("message", "system"),
        ("function_call", None),
        ("function_call_output", None),
    ]
    assert [t["name"] for t in sent["tools"]] == [t["name"] for t in body["tools"]]
    assert sent["max_output_tokens"] == body["max_tokens"]
    assert sent["reasoning"]["effort"] == "high"
    assert sent["store"] is False  # the gateway keeps the state; reasoning comes back encrypted
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert sent["prompt_cache_key"]
    assert breakpoints(sent) == 0
    assert not {"thinking", "context_management", "output_config", "metadata", "system"} & set(sent)


@pytest.mark.parametrize("version", CODEX)
def test_codex_to_anthropic_upstream(gateway: str, fake: FakeProvider, version: str) -> None:
    body = CODEX[version][-1]
    send(gateway, "/v1/responses", body, "anthropic:text")
    sent = fake.last("anthropic").body
    developer = [i for i in body["input"] if i.get("role") == "developer"]
    # mapped: developer messages -> system blocks
    assert [b["text"] for b in sent["system"]] == [p["text"] for i in developer for p in i["content"]]
    # mapped: the namespace's tools, flattened as namespace__name
    namespace = next(t for t in body["tools"] if t["type"] == "namespace")
    names = [t["name"] for t in sent["tools"]]
    assert [f"{namespace['name']}__{t['name']}" for t in namespace["tools"]] == [
        n for n in names if n.startswith(namespace["name"])
    ]
    # mapped: the function call and its output
    call = next(i for i in body["input"] if i["type"] == "function_call")
    use = sent["messages"][-2]["content"][-1]
    assert (use["type"], use["id"], use["name"]) == ("tool_use", call["call_id"], call["name"])
    assert sent["messages"][-1]["content"][0]["tool_use_id"] == call["call_id"]
    # added: automatic breakpoints on the last tool, the last system block and the latest turns
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert breakpoints(sent) <= 4
    # dropped (no Messages equivalent): Codex's metadata, cache key, include, store
    assert not {"client_metadata", "prompt_cache_key", "include", "store", "input", "instructions"} & set(sent)


@pytest.mark.parametrize("version", CODEX)
def test_codex_to_chat_upstream(gateway: str, fake: FakeProvider, version: str) -> None:
    body = CODEX[version][-1]
    send(gateway, "/v1/responses", body, "openai_chat:text")
    sent = fake.last("openai_chat").body
    assert [m["role"] for m in sent["messages"]][:2] == ["developer", "developer"]
    assert sent["prompt_cache_key"] == body["prompt_cache_key"]  # Codex's own key, kept
    assert sent["parallel_tool_calls"] is True
    assert "multi_agent_v1__spawn_agent" in [t["function"]["name"] for t in sent["tools"]]
    assert not {"client_metadata", "include", "store", "input", "reasoning"} & set(sent)


def test_a_namespaced_call_round_trips_through_the_flat_name() -> None:
    """A cross upstream calls crm__lookup; Codex gets a function_call with namespace crm and name
    lookup, and sends it back so; the canonical model sees crm__lookup both ways."""
    tools = [
        {
            "type": "namespace",
            "name": "crm",
            "description": "CRM tools",
            "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
        }
    ]
    history = [
        {"type": "message", "role": "user", "content": "find ada"},
        {"type": "function_call", "call_id": "c1", "namespace": "crm", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "found"},
    ]
    body = ResponsesBody.model_validate({"model": "m", "input": history, "tools": tools})
    request = decode_request(body, history, {})
    assert [t.name for t in request.tools] == ["crm__lookup"]
    call = request.messages[1].parts[0]
    assert isinstance(call, ToolCallPart)
    assert call.name == "crm__lookup"

    ctx = ResponseContext(model="m", echo={}, namespaced=dict(request.extensions["namespaced_tools"]))
    item = output_item(ctx, 0, ToolCallPart("c2", "crm__lookup", "{}"))
    assert (item["type"], item["namespace"], item["name"]) == ("function_call", "crm", "lookup")
