"""reasoning_format: where a Chat Completions server puts reasoning, read and sent back."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from splitlane.config import UpstreamConfig
from splitlane.core.events import Event, ReasoningDelta, TextDelta
from splitlane.core.parts import Message, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest
from splitlane.upstream.openai_chat.decode import ChatDecoder
from splitlane.upstream.openai_chat.encode import encode_request
from splitlane.upstream.sse import ServerSentEvent


def chunk(delta: dict[str, Any], finish: str | None = None) -> ServerSentEvent:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "choices": [choice]}
    return ServerSentEvent(data=orjson.dumps(body).decode())


def read(reasoning_format: str | None, deltas: list[dict[str, Any]]) -> tuple[str, str]:
    decoder = ChatDecoder("up", reasoning_format)
    events: list[Event] = []
    for delta in deltas:
        events += decoder.feed(chunk(delta))
    events += decoder.feed(chunk({}, "stop"))
    events += decoder.feed(ServerSentEvent(data="[DONE]"))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    return reasoning, "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize(
    ("reasoning_format", "deltas"),
    [
        (None, [{"reasoning_content": "think "}, {"reasoning_content": "hard"}, {"content": "answer"}]),
        (None, [{"reasoning": "think hard"}, {"content": "answer"}]),
        ("reasoning_content", [{"reasoning_content": "think hard", "reasoning": "ignored"}, {"content": "answer"}]),
        ("reasoning", [{"reasoning": "think hard"}, {"content": "answer"}]),
        (
            "reasoning_details",
            [
                {"reasoning_details": [{"type": "reasoning.text", "text": "think hard", "index": 0}]},
                {"content": "answer"},
            ],
        ),
        # tags split across chunks, as a server without a reasoning parser streams them
        (
            "think_tags",
            [{"content": "<th"}, {"content": "ink>think "}, {"content": "hard</thi"}, {"content": "nk>\nanswer"}],
        ),
    ],
)
def test_reasoning_is_read_where_the_format_says(reasoning_format: str | None, deltas: list[dict[str, Any]]) -> None:
    assert read(reasoning_format, deltas) == ("think hard", "answer")


def test_none_reads_no_reasoning() -> None:
    assert read("none", [{"reasoning_content": "secret"}, {"content": "answer"}]) == ("", "answer")


def loop() -> ChatRequest:
    """An earlier finished turn, then the current tool loop: reasoning, a call, its result."""
    return ChatRequest(
        model="m",
        messages=(
            Message(Role.USER, (TextPart("old question"),)),
            Message(Role.ASSISTANT, (ReasoningPart("old thought"), TextPart("old answer"))),
            Message(Role.USER, (TextPart("weather?"),)),
            Message(Role.ASSISTANT, (ReasoningPart("call the tool"), ToolCallPart("c1", "get_weather", "{}"))),
            Message(Role.TOOL, (ToolResultPart("c1", (TextPart("sunny"),)),)),
        ),
    )


@pytest.mark.parametrize(
    ("reasoning_format", "expected"),
    [
        ("reasoning_content", {"reasoning_content": "call the tool"}),
        ("reasoning", {"reasoning": "call the tool"}),
        ("reasoning_details", {"reasoning_details": [{"type": "reasoning.text", "text": "call the tool", "index": 0}]}),
    ],
)
def test_the_current_tool_loops_reasoning_goes_back(reasoning_format: str, expected: dict[str, Any]) -> None:
    config = UpstreamConfig(kind="openai_chat", base_url="http://127.0.0.1:1/v1", reasoning_format=reasoning_format)  # type: ignore[arg-type]
    messages = encode_request(loop(), config)["messages"]
    assert {k: v for k, v in messages[3].items() if k in expected} == expected
    assert not {"reasoning_content", "reasoning", "reasoning_details"} & set(messages[1])  # an earlier turn's: not


def test_think_tags_go_back_inside_the_content() -> None:
    config = UpstreamConfig(kind="openai_chat", base_url="http://127.0.0.1:1/v1", reasoning_format="think_tags")
    messages = encode_request(loop(), config)["messages"]
    assert str(messages[3]["content"]).startswith("<think>call the tool</think>")
    assert "<think>" not in str(messages[1]["content"])


@pytest.mark.parametrize("reasoning_format", [None, "none"])
def test_plain_openai_gets_no_reasoning_back(reasoning_format: str | None) -> None:
    config = UpstreamConfig(kind="openai_chat", base_url="http://127.0.0.1:1/v1", reasoning_format=reasoning_format)  # type: ignore[arg-type]
    text = orjson.dumps(encode_request(loop(), config)).decode()
    assert "call the tool" not in text
