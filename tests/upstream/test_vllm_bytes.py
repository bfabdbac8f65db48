"""vLLM 0.32's own Chat Completions bytes (captured from the real server by
tests/fixtures/capture_vllm.py) replayed by the fake provider, through every surface: its extras
(``prompt_token_ids``, ``token_ids``, ``created_cache_tokens``), a tool-call id in the first
fragment only, and ``cached_tokens`` as each surface reports cache reads. The live server is
tests/upstream/test_vllm.py; these run everywhere."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from tests.fixtures.capture_vllm import LS  # the tool the fixtures were captured with


def test_chat_relay_is_byte_faithful_and_keeps_vllm_extras(gateway: str) -> None:
    body = {
        "model": "openai_chat:vllm_text",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream("POST", gateway + "/v1/chat/completions", json=body, timeout=60) as reply:
        raw = reply.read().decode()
    chunks = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "The capital of France is Paris."
    usage = chunks[-1]["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 128, "created_cache_tokens": 0}
    assert chunks[0]["prompt_token_ids"] is None  # vLLM's own fields came through
    assert chunks[-1]["system_fingerprint"] == "vllm-0.32.0-86b7bf89"


def test_chat_sdk_reads_cached_tokens(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="openai_chat:vllm_text",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 128


def test_anthropic_sdk_gets_vllm_tool_call_and_cache_read(ant: anthropic.Anthropic) -> None:
    with ant.messages.stream(
        model="openai_chat:vllm_tool",
        max_tokens=40,
        messages=[{"role": "user", "content": "List the files in src"}],
        tools=[{"name": "list_files", "description": "List", "input_schema": LS["function"]["parameters"]}],  # type: ignore[index]
        tool_choice={"type": "any"},
    ) as stream:
        final = stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    # the 135M model's own argument, as vLLM streamed it (its key in capitals: the schema is not enforced)
    assert [(u.name, u.input) for u in uses] == [("list_files", {"PATH": "src"})]
    assert uses[0].id  # vLLM sent the id in the first fragment only; it is kept
    assert final.stop_reason == "tool_use"
    # Anthropic counts cache reads apart from input: vLLM's 306 prompt tokens, 128 of them cached
    assert final.usage.cache_read_input_tokens == 128
    assert final.usage.input_tokens == 306 - 128


def test_responses_sdk_gets_vllm_tool_call(oai: openai.OpenAI) -> None:
    response = oai.responses.create(
        model="openai_chat:vllm_tool",
        input="List the files in src",
        tools=[{"type": "function", "name": "list_files", "parameters": LS["function"]["parameters"], "strict": False}],  # type: ignore[index]
        tool_choice="required",
    )
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("list_files", {"PATH": "src"})]
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 128


def test_an_error_vllm_streams_with_its_status_is_that_status(oai: openai.OpenAI, ant: anthropic.Anthropic) -> None:
    """vLLM answers a bad ``response_format`` schema on a stream with 200 and one error event that
    carries ``code: 400``: the client gets a 400 in its own format, not a 502."""
    with pytest.raises(openai.BadRequestError) as chat:
        oai.chat.completions.create(model="openai_chat:vllm_bad_schema", messages=[{"role": "user", "content": "hi"}])
    assert "Grammar error: Invalid type: nonsense" in chat.value.message
    with pytest.raises(anthropic.BadRequestError) as messages:
        ant.messages.create(
            model="openai_chat:vllm_bad_schema", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    assert messages.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
