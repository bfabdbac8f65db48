"""previous_response_id and store, for every upstream kind, and GET /v1/responses/{id}."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import KINDS
from tests.servers import FakeProvider

TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "nostream"])
def test_previous_response_id_continues_the_conversation(
    oai: openai.OpenAI, fake: FakeProvider, kind: str, stream: bool
) -> None:
    if stream:
        with oai.responses.stream(model=f"{kind}:tool", input="Weather in Paris?", tools=TOOLS) as s:  # type: ignore[arg-type]
            first = s.get_final_response()
    else:
        first = oai.responses.create(model=f"{kind}:tool", input="Weather in Paris?", tools=TOOLS)  # type: ignore[arg-type]
    call = next(i for i in first.output if i.type == "function_call")

    second = oai.responses.create(
        model=f"{kind}:tool",
        previous_response_id=first.id,
        tools=TOOLS,  # type: ignore[arg-type]
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "It is sunny in Paris."
    assert second.previous_response_id == first.id
    sent = str(fake.last(kind).body)
    assert "Weather in Paris?" in sent
    assert call.call_id in sent
    assert "sunny" in sent

    fetched = oai.responses.retrieve(first.id)
    assert fetched.id == first.id
    assert [i.type for i in fetched.output] == [i.type for i in first.output]
    assert fetched.usage is not None
    assert fetched.usage.output_tokens == 6


def test_store_false_is_not_retrievable(oai: openai.OpenAI) -> None:
    reply = oai.responses.create(model="openai_chat:text", input="hi", store=False)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(reply.id)
    with pytest.raises(openai.NotFoundError, match=r"previous_response_id|not found"):
        oai.responses.create(model="openai_chat:text", input="again", previous_response_id=reply.id)


def test_stream_events_are_in_the_documented_order(oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model="anthropic:tool", input="hi", tools=TOOLS, stream=True))  # type: ignore[arg-type]
    kinds = [e.type for e in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * 2,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].response.output == []
