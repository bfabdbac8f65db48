"""GET /v1/models in both shapes; count_tokens from the upstream, the engine, or an estimate."""

from __future__ import annotations

import anthropic
import httpx
import openai

from tests.servers import FakeProvider


def test_models_in_openai_shape(oai: openai.OpenAI) -> None:
    ids = [m.id for m in oai.models.list()]
    assert "local" in ids
    assert "anthropic:text" in ids
    assert ids == sorted(ids)


def test_models_in_anthropic_shape(gateway: str) -> None:
    body = httpx.get(gateway + "/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert body["has_more"] is False
    assert {"type": "model", "id": "local", "display_name": "local"}.items() <= body["data"][0].items() or any(
        m["id"] == "local" and m["type"] == "model" for m in body["data"]
    )


def test_models_say_each_aliases_limits_and_tool_search(gateway: str) -> None:
    """The embedded engine's alias: its n_ctx (4096 in the test gateway); an Anthropic upstream
    runs Claude Code's tool search, others do not."""
    for headers in ({}, {"anthropic-version": "2023-06-01"}):
        entries = {m["id"]: m for m in httpx.get(gateway + "/v1/models", headers=headers).json()["data"]}
        assert entries["local"]["context_window"] == 4096
        assert entries["anthropic:text"]["tool_search"] is True
        assert entries["openai_chat:text"]["tool_search"] is False
        assert "context_window" not in entries["openai_chat:text"]  # a fake model no dataset knows


def test_count_tokens_asks_an_anthropic_upstream(ant: anthropic.Anthropic, fake: FakeProvider) -> None:
    fake.count_tokens_answer = 4321
    counted = ant.messages.count_tokens(model="anthropic:text", messages=[{"role": "user", "content": "hi"}])
    assert counted.input_tokens == 4321
    sent = fake.requests[-1]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.body["model"] == "text"
    assert "max_tokens" not in sent.body
    assert "stream" not in sent.body


def test_count_tokens_with_beta_query_and_estimate_grows_with_input(gateway: str) -> None:
    def count(text: str) -> int:
        response = httpx.post(
            gateway + "/v1/messages/count_tokens?beta=true",
            json={"model": "openai_chat:text", "messages": [{"role": "user", "content": text}]},
        )
        assert response.status_code == 200
        return int(response.json()["input_tokens"])

    short, long = count("hi"), count("hello world " * 400)
    assert 0 < short < long
    assert abs(long - 1200) < 100


def test_count_tokens_uses_the_engine_tokenizer(ant: anthropic.Anthropic) -> None:
    one = ant.messages.count_tokens(model="local", messages=[{"role": "user", "content": "hello"}])
    many = ant.messages.count_tokens(model="local", messages=[{"role": "user", "content": "hello " * 100}])
    assert 0 < one.input_tokens < many.input_tokens
    assert many.input_tokens - one.input_tokens >= 99  # one token per repeated word at least
