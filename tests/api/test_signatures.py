"""Reasoning signatures survive a round trip through a surface other than their provider's own,
and are only ever sent back to the provider that made them."""

from __future__ import annotations

import anthropic
import openai

from tests.servers import FakeProvider

SIGNATURE = "sig-fx-EqQBCgIYAhIM"  # tests/fixtures/anthropic/reasoning.sse
ENCRYPTED = "gAAAAABencrypted-fx-reasoning"  # tests/fixtures/openai_responses/reasoning.sse
QUESTION = {"role": "user", "content": "What is the weather in Paris?"}


def test_anthropic_signature_through_responses_surface(oai: openai.OpenAI, fake: FakeProvider) -> None:
    first = oai.responses.create(model="anthropic:reasoning", input=[QUESTION])
    reasoning = next(i for i in first.output if i.type == "reasoning")
    assert reasoning.encrypted_content
    assert SIGNATURE not in reasoning.encrypted_content

    follow = [
        QUESTION,
        *[i.model_dump(exclude_none=True) for i in first.output],
        {"role": "user", "content": "And tomorrow?"},
    ]
    oai.responses.create(model="anthropic:text", input=follow)
    assistant = fake.last("anthropic").body["messages"][1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "The user wants the weather.",
        "signature": SIGNATURE,
    }


def follow_up(first: anthropic.types.Message) -> list[dict[str, object]]:
    """The next turn on the Messages surface: the reply, replayed as the client stored it, and a question."""
    replayed = [b.model_dump(exclude_none=True) for b in first.content]
    return [QUESTION, {"role": "assistant", "content": replayed}, {"role": "user", "content": "And tomorrow?"}]


def test_anthropic_signature_is_untouched_on_its_own_surface(ant: anthropic.Anthropic, fake: FakeProvider) -> None:
    first = ant.messages.create(model="anthropic:reasoning", max_tokens=256, messages=[QUESTION])
    thinking = first.content[0]
    assert thinking.type == "thinking"
    assert thinking.signature == SIGNATURE

    ant.messages.create(
        model="anthropic:text",
        max_tokens=256,
        messages=follow_up(first),
    )
    assert fake.last("anthropic").body["messages"][1]["content"][0]["signature"] == SIGNATURE


def test_openai_encrypted_reasoning_through_messages_surface(ant: anthropic.Anthropic, fake: FakeProvider) -> None:
    with ant.messages.stream(model="openai_responses:reasoning", max_tokens=256, messages=[QUESTION]) as stream:
        first = stream.get_final_message()
    thinking = first.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == "The user wants the weather."

    ant.messages.create(
        model="openai_responses:text",
        max_tokens=256,
        messages=follow_up(first),
    )
    sent = fake.last("openai_responses").body["input"]
    reasoning = next(i for i in sent if i["type"] == "reasoning")
    assert reasoning["encrypted_content"] == ENCRYPTED
    assert reasoning["id"] == "rs_fx1"


def test_signature_is_never_sent_to_another_provider(oai: openai.OpenAI, fake: FakeProvider) -> None:
    first = oai.responses.create(model="anthropic:reasoning", input=[QUESTION])
    follow = [
        QUESTION,
        *[i.model_dump(exclude_none=True) for i in first.output],
        {"role": "user", "content": "And tomorrow?"},
    ]
    oai.responses.create(model="openai_responses:text", input=follow)
    assert not any(i.get("type") == "reasoning" for i in fake.last("openai_responses").body["input"])
    oai.responses.create(model="openai_chat:text", input=follow)
    assert SIGNATURE not in str(fake.last("openai_chat").body)
