"""Contract of the upstreams against a real vLLM (0.32, CPU, tests/vllm.py): the ``openai_chat``
hop as every surface meets it, and vLLM's own Responses and Anthropic endpoints.

Greedy (temperature 0) where a reply is read: the 135M model babbles at its default sampling. The
anthropic SDK no longer takes ``temperature`` as an argument; it goes in ``extra_body``, as the
Messages API still accepts it."""

from __future__ import annotations

import re
import secrets
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from splitlane.api.app import create_app
from splitlane.config import Config
from tests.servers import serve
from tests.vllm import SERVED, Replica

pytestmark = pytest.mark.vllm

LS_SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}


def context() -> str:
    """A system prompt over vLLM's 16-token blocks many times, new for each test (so a cache read
    is this test's own)."""
    return f"Session {secrets.token_hex(4)}. You are a careful coding assistant in a Python repository. " * 20


@pytest.fixture(scope="module")
def vllm(vllm_fleet: list[Replica], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Replica]]:
    replica = vllm_fleet[0]
    config = Config.model_validate(
        {
            "data_dir": tmp_path_factory.mktemp("vllm-gateway"),
            "upstreams": {
                "chat": {"kind": "openai_chat", "base_url": replica.url},
                "responses": {"kind": "openai_responses", "base_url": replica.url},
                "messages": {"kind": "anthropic", "base_url": replica.root},
            },
            "models": {
                "smol": {"upstream": "chat", "model": SERVED},
                "smol-responses": {"upstream": "responses", "model": SERVED},
                "smol-messages": {"upstream": "messages", "model": SERVED},
            },
        }
    )
    with serve(create_app(config)) as url:
        yield url, replica


def oai(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=120)


def ant(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="x", max_retries=0, timeout=120)


def gauge(replica: Replica, name: str) -> float:
    with urllib.request.urlopen(replica.root + "/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}{{[^}}]*}} (\S+)$", text, re.M))


def test_chat_streams_text_and_reports_vllm_cache_reads(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    messages: Any = [{"role": "system", "content": context()}, {"role": "user", "content": "Capital of France?"}]
    usages = []
    for _ in range(2):
        chunks = list(
            oai(url).chat.completions.create(
                model="smol",
                messages=messages,
                max_tokens=12,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "Paris" in text
        usages.append(chunks[-1].usage)
    cold, warm = usages
    assert cold is not None
    assert warm is not None
    assert cold.prompt_tokens == warm.prompt_tokens > 200
    assert warm.prompt_tokens_details is not None
    assert cold.prompt_tokens_details is not None
    assert (cold.prompt_tokens_details.cached_tokens or 0) == 0  # a context no one sent before
    assert (warm.prompt_tokens_details.cached_tokens or 0) >= 192  # the whole blocks of the repeat


def test_anthropic_surface_forces_a_tool_call_through_the_hermes_parser(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    reply = ant(url).messages.create(
        model="smol",
        max_tokens=60,
        extra_body={"temperature": 0},
        system=context(),
        messages=[{"role": "user", "content": "List the files in the src folder."}],
        tools=[{"name": "list_files", "description": "List the files of a folder", "input_schema": LS_SCHEMA}],
        tool_choice={"type": "any"},
    )
    uses = [block for block in reply.content if block.type == "tool_use"]
    assert [u.name for u in uses] == ["list_files"]
    assert isinstance(uses[0].input, dict)
    assert uses[0].id
    assert reply.stop_reason == "tool_use"


def test_responses_surface_over_the_chat_hop_keeps_cached_tokens(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    system = context()
    responses = [
        oai(url).responses.create(
            model="smol", instructions=system, input="Capital of France?", max_output_tokens=16, temperature=0
        )
        for _ in range(2)
    ]
    assert "Paris" in responses[1].output_text
    usage = responses[1].usage
    assert usage is not None
    assert usage.input_tokens_details.cached_tokens >= 192


def test_count_tokens_is_vllms_own_count(vllm: tuple[str, Replica]) -> None:
    url, replica = vllm
    messages: Any = [{"role": "user", "content": "How many tokens is this sentence, with its template?"}]
    counted = ant(url).messages.count_tokens(model="smol", messages=messages)
    body = {"model": SERVED, "messages": messages, "add_generation_prompt": True}
    own = httpx.post(replica.root + "/tokenize", json=body, timeout=30).json()["count"]
    assert counted.input_tokens == own


def test_context_overflow_is_each_surfaces_context_error(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    huge: Any = [{"role": "user", "content": "word " * 6000}]  # over the 4,096-token window
    with pytest.raises(openai.BadRequestError) as chat:
        oai(url).chat.completions.create(model="smol", messages=huge, max_tokens=8)
    assert chat.value.code == "context_length_exceeded"
    assert "maximum context length is 4096" in chat.value.message
    with pytest.raises(anthropic.BadRequestError) as messages:
        ant(url).messages.create(model="smol", messages=huge, max_tokens=8)
    assert messages.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "maximum context length" in messages.value.message


def test_a_bad_schema_is_vllms_400_passed_on(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nonsense"}}}
    with pytest.raises(openai.BadRequestError) as error:
        oai(url).chat.completions.create(
            model="smol",
            messages=[{"role": "user", "content": "hi"}],
            max_tokens=8,
            response_format=bad,  # type: ignore[arg-type]
        )
    assert "nonsense" in error.value.message
    assert error.value.code != "context_length_exceeded"


def test_a_client_that_goes_away_frees_the_request_on_vllm(vllm: tuple[str, Replica]) -> None:
    url, replica = vllm
    body = {
        "model": "smol",
        "messages": [{"role": "user", "content": "Count to a thousand."}],
        "max_tokens": 3000,
        "ignore_eos": True,  # vLLM's own sampling extra: it goes through the same-API hop untouched
        "stream": True,
    }
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=60) as reply:
        lines = reply.iter_lines()
        seen = [next(lines) for _ in range(6)]
        assert any('"content"' in line for line in seen)
        assert gauge(replica, "vllm:num_requests_running") >= 1
    deadline = time.monotonic() + 30
    while gauge(replica, "vllm:num_requests_running") > 0:
        assert time.monotonic() < deadline, "vLLM kept generating for a client that left"
        time.sleep(0.25)


def test_vllms_own_responses_endpoint(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    stream = oai(url).responses.create(
        model="smol-responses", input="Capital of France?", max_output_tokens=16, temperature=0, stream=True
    )
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    final = events[-1].response  # type: ignore[union-attr]
    assert "Paris" in final.output_text


def test_vllms_own_messages_endpoint(vllm: tuple[str, Replica]) -> None:
    url, _ = vllm
    with ant(url).messages.stream(
        model="smol-messages",
        max_tokens=16,
        extra_body={"temperature": 0},
        messages=[{"role": "user", "content": "Capital of France?"}],
    ) as stream:
        final = stream.get_final_message()
    text = "".join(block.text for block in final.content if block.type == "text")
    assert "Paris" in text
    assert final.usage.output_tokens > 0


def test_cross_protocol_tool_result_turn(vllm: tuple[str, Replica]) -> None:
    """A second agent turn: the tool's result goes back in the client's form and vLLM answers it."""
    url, _ = vllm
    tool = {"name": "list_files", "description": "List the files of a folder", "input_schema": LS_SCHEMA}
    messages: Any = [
        {"role": "user", "content": "List the files in src."},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "call_1", "name": "list_files", "input": {"path": "src"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "main.py\nutil.py"}]},
    ]
    reply = ant(url).messages.create(
        model="smol", max_tokens=40, messages=messages, tools=[tool], extra_body={"temperature": 0}
    )
    assert reply.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert reply.content  # an answer to the result (text, or the 135M model's next call)
    assert all(b.type in ("text", "tool_use") for b in reply.content)
