"""Codex's remote compaction (api/responses/compaction.py) through the real server: a
``compaction_trigger`` turn and ``POST /v1/responses/compact``, done by the gateway for a Chat
upstream, passed to an OpenAI Responses upstream; the gateway's compaction item read back."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from splitlane.api.responses.compaction import HANDOFF, PROMPT, SEALED, summary_request
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.routing.markers import background_reason
from tests.servers import FakeProvider

HISTORY = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "rename foo to bar"}]},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Renamed in 3 files."}]},
]
TOOLS = [{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}}]
TRIGGER = {"type": "compaction_trigger"}


def post(gateway: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(gateway + path, json=body, timeout=30)


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    return [orjson.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("stream", [False, True])
def test_a_trigger_to_a_chat_upstream_is_summarized_into_one_compaction_item(
    gateway: str, fake: FakeProvider, stream: bool
) -> None:
    body = {"model": "openai_chat:text", "input": [*HISTORY, TRIGGER], "tools": TOOLS, "store": False}
    response = post(gateway, "/v1/responses", {**body, "stream": stream})
    assert response.status_code == 200
    if stream:
        events = sse_events(response)
        assert [e["type"] for e in events] == [
            "response.created", "response.output_item.added", "response.output_item.done", "response.completed",
        ]  # fmt: skip
        document = events[-1]["response"]
    else:
        document = response.json()
    [item] = document["output"]
    assert item["type"] == "compaction"
    assert item["encrypted_content"].startswith(SEALED)
    sent = fake.requests[-1].body
    assert "tools" not in sent  # a summary, not a turn of the agent
    assert sent["messages"][-1] == {"role": "user", "content": PROMPT}
    assert sent["messages"][0]["content"] == "rename foo to bar"


def test_the_next_turn_gets_the_summary_where_the_item_was(gateway: str, fake: FakeProvider) -> None:
    body = {"model": "openai_chat:text", "input": [*HISTORY, TRIGGER], "store": False}
    [item] = post(gateway, "/v1/responses", body).json()["output"]
    after = [item, {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "now test it"}]}]
    assert post(gateway, "/v1/responses", {"model": "openai_chat:text", "input": after}).status_code == 200
    sent = fake.requests[-1].body["messages"]
    assert sent[0]["role"] == "user"
    assert sent[0]["content"].startswith(HANDOFF)
    assert len(sent[0]["content"]) > len(HANDOFF)
    assert sent[-1]["content"] == "now test it"
    assert len(fake.requests) == 2  # the summary turn, then the next turn


def test_the_summary_turn_goes_to_the_background_lane() -> None:
    request = ChatRequest(model="coder", messages=(Message(Role.USER, (TextPart("rename foo"),)),), tools=())
    assert background_reason(summary_request(request)) is not None


def test_a_trigger_to_a_responses_upstream_is_passed_on(gateway: str, fake: FakeProvider) -> None:
    body = {"model": "openai_responses:text", "input": [*HISTORY, TRIGGER], "tools": TOOLS, "store": False}
    assert post(gateway, "/v1/responses", body).status_code == 200
    sent = fake.requests[-1].body
    assert sent["input"][-1] == TRIGGER  # OpenAI compacts itself
    assert sent["tools"] == TOOLS


def test_compact_endpoint_for_a_chat_upstream(gateway: str, fake: FakeProvider) -> None:
    body = {"model": "openai_chat:text", "input": HISTORY, "instructions": "You are Codex.", "tools": TOOLS}
    response = post(gateway, "/v1/responses/compact", body)
    assert response.status_code == 200
    [item] = response.json()["output"]
    assert item["type"] == "compaction"
    assert item["encrypted_content"].startswith(SEALED)
    assert fake.requests[-1].body["messages"][0] == {"role": "system", "content": "You are Codex."}


def test_compact_endpoint_for_a_responses_upstream_is_forwarded(gateway: str, fake: FakeProvider) -> None:
    body = {"model": "openai_responses:text", "input": HISTORY, "instructions": "You are Codex.", "tools": TOOLS}
    response = post(gateway, "/v1/responses/compact", body)
    assert response.status_code == 200
    assert response.json()["output"][0]["encrypted_content"] == "gAAAAB-openai-sealed"
    sent = fake.requests[-1]
    assert sent.path == "/v1/responses/compact"
    assert sent.body == {**body, "model": "text"}


def test_an_openai_compaction_item_is_left_for_openai(gateway: str, fake: FakeProvider) -> None:
    theirs = {"type": "compaction", "encrypted_content": "gAAAAB-openai-sealed"}
    body = {"model": "openai_responses:text", "input": [theirs, *HISTORY]}
    assert post(gateway, "/v1/responses", body).status_code == 200
    assert fake.requests[-1].body["input"][0] == theirs
