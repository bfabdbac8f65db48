"""GET /v1/models in both shapes; count_tokens from the upstream, the engine, or an estimate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import gateway_with
from tests.servers import FakeProvider, serve


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


class Tokenizer:
    """vLLM's ``POST /tokenize`` (its chat form: messages, tools, add_generation_prompt) answering
    ``{count, max_model_len, tokens}``; or, ``present=False``, a server without it (404)."""

    def __init__(self, present: bool) -> None:
        self.present = present
        self.bodies: list[dict[str, Any]] = []

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/tokenize", self.tokenize, methods=["POST"]),
                Route("/v1/responses/input_tokens", self.input_tokens, methods=["POST"]),
            ]
        )

    async def input_tokens(self, request: Request) -> Response:
        """OpenAI's Responses input-token count: ``{object, input_tokens}``."""
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        return JSONResponse({"object": "response.input_tokens", "input_tokens": len(orjson.dumps(body["input"])) // 3})

    async def tokenize(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        if not self.present:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        tokens = list(range(len(orjson.dumps(body["messages"])) // 3))
        return JSONResponse({"count": len(tokens), "max_model_len": 32768, "tokens": tokens})


@pytest.mark.parametrize("present", [True, False])
def test_count_tokens_asks_a_chat_servers_tokenizer(tmp_path: Path, present: bool) -> None:
    tokenizer = Tokenizer(present)
    with serve(tokenizer.app()) as url:
        config = {
            "upstreams": {"vllm": {"kind": "openai_chat", "base_url": url + "/v1"}},
            "models": {"m": {"upstream": "vllm", "model": "served-model"}},
        }
        with gateway_with(config, tmp_path) as gateway:
            ant = anthropic.Anthropic(base_url=gateway, api_key="unused", max_retries=0)
            tool = {"name": "ls", "description": "list", "input_schema": {"type": "object", "properties": {}}}
            counts = [
                ant.messages.count_tokens(
                    model="m", system="be brief", messages=[{"role": "user", "content": "hi " * n}], tools=[tool]
                ).input_tokens
                for n in (10, 200)
            ]
    sent = tokenizer.bodies[0]
    assert sent["model"] == "served-model"
    assert sent["add_generation_prompt"] is True
    assert sent["messages"][0] == {"role": "system", "content": "be brief"}
    assert sent["tools"][0]["function"]["name"] == "ls"
    if present:
        assert counts == [len(orjson.dumps(b["messages"])) // 3 for b in tokenizer.bodies]
    else:
        assert len(tokenizer.bodies) == 1  # a server without /tokenize is not asked again
        assert 0 < counts[0] < counts[1]  # the estimate


def test_count_tokens_asks_a_responses_upstream(tmp_path: Path) -> None:
    tokenizer = Tokenizer(True)
    with serve(tokenizer.app()) as url:
        config = {
            "upstreams": {"oai": {"kind": "openai_responses", "base_url": url + "/v1"}},
            "models": {"m": {"upstream": "oai", "model": "gpt-x"}},
        }
        with gateway_with(config, tmp_path) as gateway:
            oai = httpx.post(
                gateway + "/v1/messages/count_tokens",
                json={"model": "m", "messages": [{"role": "user", "content": "hello there"}]},
            )
    [sent] = tokenizer.bodies
    assert sent["model"] == "gpt-x"
    assert "stream" not in sent
    assert oai.json()["input_tokens"] == len(orjson.dumps(sent["input"])) // 3
