"""Fallback to the next upstream on each fault kind, only before the first byte reached the client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import gateway_with
from tests.servers import FakeProvider

QUESTION = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def fallback_gateway(provider: tuple[FakeProvider, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _, url = provider
    config = {
        "upstreams": {
            "refused": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9/v1"},
            "chat": {"kind": "openai_chat", "base_url": url + "/v1", "first_byte_timeout_s": 0.5},
            "claude": {"kind": "anthropic", "base_url": url},
            # the same fake under another name: a Retry-After cool-down is per replica URL
            "limited": {"kind": "openai_chat", "base_url": url.replace("127.0.0.1", "localhost") + "/v1"},
        },
        "models": {
            f"fb-{fault}": {"upstream": upstream, "model": model, "fallbacks": ["claude/text"]}
            for fault, upstream, model in [
                ("refused", "refused", "text"),
                ("500", "chat", "status500"),
                ("429", "limited", "status429"),
                ("stall", "chat", "stall"),
                ("drop", "chat", "drop"),
                ("midstream", "chat", "midstream_error"),
            ]
        },
    }
    with gateway_with(config, tmp_path_factory.mktemp("fallbacks")) as gateway:
        yield gateway


@pytest.mark.parametrize("fault", ["refused", "500", "stall"])
def test_falls_back_before_the_first_byte(fallback_gateway: str, fake: FakeProvider, fault: str) -> None:
    client = openai.OpenAI(base_url=fallback_gateway + "/v1", api_key="x", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model=f"fb-{fault}", messages=QUESTION)  # type: ignore[arg-type]
    assert raw.headers["x-splitlane-upstream"] == "claude/text"
    assert raw.parse().choices[0].message.content == "Hello from the fake upstream."
    assert [r.path for r in fake.requests][-1] == "/v1/messages"


def test_retry_after_sends_later_turns_to_the_fallback_first(fallback_gateway: str, fake: FakeProvider) -> None:
    client = openai.OpenAI(base_url=fallback_gateway + "/v1", api_key="x", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="fb-429", messages=QUESTION)  # type: ignore[arg-type]
    assert raw.headers["x-splitlane-upstream"] == "claude/text"
    assert [r.path for r in fake.requests] == ["/v1/chat/completions", "/v1/messages"]
    fake.requests.clear()
    client.chat.completions.create(model="fb-429", messages=QUESTION)  # type: ignore[arg-type]
    assert [r.path for r in fake.requests] == ["/v1/messages"]  # the 429'd upstream waits out its Retry-After


@pytest.mark.parametrize("fault", ["drop", "midstream"])
def test_no_fallback_after_the_first_byte(fallback_gateway: str, fake: FakeProvider, fault: str) -> None:
    with httpx.stream(
        "POST",
        fallback_gateway + "/v1/chat/completions",
        timeout=10,
        json={"model": f"fb-{fault}", "messages": QUESTION, "stream": True},
    ) as response:
        assert response.status_code == 200
        body = response.read().decode()
    assert "Hello" in body  # the client already had content ...
    assert '"error"' in body.splitlines()[-3] or '"error"' in body  # ... and the stream ends with an error event
    assert body.rstrip().endswith("data: [DONE]")
    assert all(r.path != "/v1/messages" for r in fake.requests)


def test_every_route_failing_is_one_clear_error(tmp_path: Path) -> None:
    config = {
        "upstreams": {
            "a": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9/v1"},
            "b": {"kind": "anthropic", "base_url": "http://127.0.0.1:9"},
        },
        "models": {"m": {"upstream": "a", "fallbacks": ["b/m"]}},
    }
    with gateway_with(config, tmp_path) as gateway:
        response = httpx.post(gateway + "/v1/messages", json={"model": "m", "max_tokens": 5, "messages": QUESTION})
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "api_error"
    assert "cannot connect" in response.json()["error"]["message"]
