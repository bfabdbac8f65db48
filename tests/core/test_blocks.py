from __future__ import annotations

import pytest

from splitlane.core.blocks import BlockWriter
from splitlane.core.errors import UpstreamProtocolError
from splitlane.core.events import BlockEnd, BlockKind, BlockStart, Finish, StopReason, TextDelta
from splitlane.core.parts import ReasoningPart, TextPart, ToolCallPart
from splitlane.core.response import ResponseBuilder
from splitlane.core.usage import Usage


def test_blocks_are_opened_and_closed_in_order_and_fold_into_parts() -> None:
    w = BlockWriter()
    events = [
        *w.reasoning("think", key="r"),
        *w.text("Hel"),
        *w.text("lo"),
        *w.tool_call(0, "call_1", "ls"),
        *w.tool_args(0, '{"a":'),
        *w.tool_args(0, "1}"),
        *w.finish(StopReason.END_TURN, Usage(3, 4)),
    ]
    assert [type(e).__name__ for e in events][:4] == ["BlockStart", "ReasoningDelta", "BlockEnd", "BlockStart"]
    builder = ResponseBuilder()
    for event in events:
        builder.feed(event)
    response = builder.build()
    assert response.parts == (ReasoningPart("think"), TextPart("Hello"), ToolCallPart("call_1", "ls", '{"a":1}'))
    assert response.stop_reason is StopReason.TOOL_USE  # a turn that called tools ends in tool use


def test_a_closed_tool_call_cannot_be_resumed() -> None:
    w = BlockWriter()
    w.tool_call(0, "a", "x")
    w.tool_call(1, "b", "y")
    with pytest.raises(UpstreamProtocolError):
        w.tool_args(0, "{}")


def test_builder_rejects_out_of_order_streams() -> None:
    builder = ResponseBuilder()
    builder.feed(BlockStart(0, BlockKind.TEXT))
    with pytest.raises(UpstreamProtocolError):
        builder.feed(TextDelta(1, "x"))
    with pytest.raises(UpstreamProtocolError):
        builder.feed(Finish(StopReason.END_TURN, Usage()))
    builder.feed(BlockEnd(0))
    with pytest.raises(UpstreamProtocolError):
        builder.build()  # no Finish yet
