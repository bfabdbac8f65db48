from __future__ import annotations

import json
from dataclasses import replace

from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest, ToolChoice, ToolChoiceMode, ToolSpec
from splitlane.engine.toolcalls import ParsedCall, ToolCallParser, forced_schema


def feed_all(parser: ToolCallParser, pieces: list[str]) -> list[object]:
    out: list[object] = []
    for piece in pieces:
        out += parser.feed(piece)
    return out + parser.finish()


def test_call_split_across_pieces_is_parsed() -> None:
    parser = ToolCallParser(enabled=True, forced=False)
    out = feed_all(
        parser, ["Let me check. <tool", '_call>{"name": "ls", "argu', 'ments": {"path": "."}}</tool_', "call>"]
    )
    assert out == ["Let me check. ", ParsedCall("ls", '{"path":"."}')]


def test_a_list_of_calls_in_one_tag_is_every_call() -> None:
    """SmolLM2's function-calling format: a JSON list inside one <tool_call> tag."""
    parser = ToolCallParser(enabled=True, forced=False)
    out = feed_all(
        parser,
        ['<tool_call>[{"name": "ls", "arguments": {"path": "."}},', ' {"name": "pwd", "arguments": {}}]</tool_call>'],
    )
    assert out == [ParsedCall("ls", '{"path":"."}'), ParsedCall("pwd", "{}")]


def test_a_list_with_a_non_call_stays_text() -> None:
    parser = ToolCallParser(enabled=True, forced=False)
    out = feed_all(parser, ['<tool_call>[{"name": "ls"}, 3]</tool_call>'])
    assert out == ['<tool_call>[{"name": "ls"}, 3]</tool_call>']


def test_invalid_call_stays_text() -> None:
    parser = ToolCallParser(enabled=True, forced=False)
    out = feed_all(parser, ["<tool_call>not json</tool_call> ok"])
    assert "".join(p for p in out if isinstance(p, str)) == "<tool_call>not json</tool_call> ok"


def test_disabled_parser_passes_text_through() -> None:
    assert feed_all(ToolCallParser(enabled=False, forced=False), ["<tool_call>{}</tool_call>"]) == [
        "<tool_call>{}</tool_call>"
    ]


def test_forced_output_is_one_call() -> None:
    parser = ToolCallParser(enabled=True, forced=True)
    assert feed_all(parser, ['{"name": "get_weather", ', '"arguments": {"city": "Paris"}}']) == [
        ParsedCall("get_weather", '{"city":"Paris"}')
    ]


def test_forced_schema_names_the_tool() -> None:
    tools = (ToolSpec("a", parameters={"type": "object", "properties": {"x": {"type": "integer"}}}), ToolSpec("b"))
    base = ChatRequest(model="m", messages=(Message(Role.USER, (TextPart("hi"),)),), tools=tools)
    assert forced_schema(base) is None
    named = json.loads(forced_schema(_with(base, ToolChoice(ToolChoiceMode.TOOL, "a"))) or "{}")
    assert named["properties"]["name"] == {"const": "a"}
    assert named["properties"]["arguments"]["properties"] == {"x": {"type": "integer"}}
    anyof = json.loads(forced_schema(_with(base, ToolChoice(ToolChoiceMode.REQUIRED))) or "{}")
    assert [o["properties"]["name"]["const"] for o in anyof["anyOf"]] == ["a", "b"]


def _with(request: ChatRequest, choice: ToolChoice) -> ChatRequest:
    return replace(request, tool_choice=choice)
