"""Bad input and upstream failures: a clear error in each surface's own format, nothing hung."""

from __future__ import annotations

import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from splitlane.api.app import create_app
from splitlane.config import Config
from tests.servers import FakeProvider, serve

QUESTION = [{"role": "user", "content": "hi"}]


def test_unknown_model_is_404_in_each_format(oai: openai.OpenAI, ant: anthropic.Anthropic) -> None:
    with pytest.raises(openai.NotFoundError) as chat:
        oai.chat.completions.create(model="no-such-model", messages=QUESTION)
    assert "no-such-model" in chat.value.message
    assert chat.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError):
        oai.responses.create(model="no-such-model", input="hi")
    with pytest.raises(anthropic.NotFoundError) as messages:
        ant.messages.create(model="no-such-model", max_tokens=10, messages=QUESTION)  # type: ignore[arg-type]
    assert messages.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/chat/completions", {"model": "local", "messages": "hi"}, "messages"),
        (
            "/v1/chat/completions",
            {"model": "local", "messages": [{"role": "wizard", "content": "x"}]},
            "messages.0.role",
        ),
        ("/v1/chat/completions", {"model": "local", "messages": QUESTION, "max_tokens": "many"}, "max_tokens"),
        ("/v1/responses", {"model": "local", "input": 5}, "input"),
        (
            "/v1/responses",
            {"model": "local", "input": [{"type": "message", "role": "user", "content": 3}]},
            "input.0.content",
        ),
        ("/v1/messages", {"model": "local", "messages": QUESTION}, "max_tokens"),
        (
            "/v1/messages",
            {"model": "local", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "hologram"}]}]},
            "messages.0.content.0.type",
        ),
        ("/v1/messages/count_tokens", {"model": "local"}, "messages"),
    ],
)
def test_wrong_fields_are_400_naming_the_field(gateway: str, path: str, body: dict, field: str) -> None:
    response = httpx.post(gateway + path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["message"]
    if path.startswith("/v1/messages"):
        assert response.json()["type"] == "error"
        assert error["type"] == "invalid_request_error"
    else:
        assert error["type"] == "invalid_request_error"
        assert error["param"] == field


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses", "/v1/messages"])
def test_turn_paths_answer_other_methods_in_the_surface_format(gateway: str, path: str) -> None:
    # turn POSTs skip the router (api/app.py); everything else on those paths still reaches it
    anthropic_client = path == "/v1/messages"
    headers = {"anthropic-version": "2023-06-01"} if anthropic_client else {}
    response = httpx.get(gateway + path, headers=headers)
    assert response.status_code == 404
    body = response.json()
    assert f"no route for GET {path}" in body["error"]["message"]
    assert (body.get("type") == "error") is anthropic_client


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses", "/v1/messages"])
def test_malformed_json_and_oversize_bodies(gateway: str, path: str) -> None:
    bad = httpx.post(
        gateway + path, content=b'{"model": "local", "messages": [', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["error"]["message"]
    huge = httpx.post(gateway + path, content=b'{"model": "' + b"x" * (33 * 1024 * 1024) + b'"}')
    assert huge.status_code == 413


@pytest.mark.parametrize("kind", ["openai_chat", "openai_responses", "anthropic"])
def test_upstream_error_before_first_byte_is_an_http_error(
    oai: openai.OpenAI, ant: anthropic.Anthropic, kind: str
) -> None:
    with pytest.raises(openai.APIStatusError) as failed:
        oai.chat.completions.create(model=f"{kind}:status500", messages=QUESTION, stream=True)
    assert failed.value.status_code == 502
    assert "internal failure upstream" in failed.value.message
    with pytest.raises(openai.RateLimitError) as limited:
        oai.responses.create(model=f"{kind}:status429", input="hi", stream=True)
    assert limited.value.response.headers["retry-after"] == "7"
    with pytest.raises(anthropic.RateLimitError) as limited_a:
        ant.messages.create(model=f"{kind}:status429", max_tokens=10, messages=QUESTION)  # type: ignore[arg-type]
    assert limited_a.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


@pytest.mark.parametrize("kind", ["openai_chat", "openai_responses", "anthropic"])
def test_upstream_error_mid_stream_is_an_in_stream_error(
    oai: openai.OpenAI, ant: anthropic.Anthropic, kind: str
) -> None:
    with pytest.raises(openai.APIError, match=r"exploded|Overloaded"):
        for _ in oai.chat.completions.create(model=f"{kind}:midstream_error", messages=QUESTION, stream=True):
            pass
    events = list(oai.responses.create(model=f"{kind}:midstream_error", input="hi", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.failed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    stream = ant.messages.stream(model=f"{kind}:midstream_error", max_tokens=10, messages=QUESTION)  # type: ignore[arg-type]
    with pytest.raises(anthropic.APIStatusError, match=r"exploded|Overloaded"), stream as s:
        s.get_final_message()


def test_unreachable_upstream_is_a_502(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "data_dir": tmp_path,
            "upstreams": {"dead": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9/v1"}},
            "models": {"dead": {"upstream": "dead"}},
        }
    )
    with serve(create_app(config)) as url:
        response = httpx.post(url + "/v1/chat/completions", json={"model": "dead", "messages": QUESTION})
    assert response.status_code == 502
    assert "cannot connect" in response.json()["error"]["message"]


@pytest.mark.parametrize("surface", ["chat", "responses", "messages"])
def test_client_disconnect_closes_the_upstream_request(gateway: str, fake: FakeProvider, surface: str) -> None:
    fake.disconnected_at.clear()
    path, body = {
        "chat": ("/v1/chat/completions", {"model": "openai_chat:slow", "messages": QUESTION, "stream": True}),
        "responses": ("/v1/responses", {"model": "openai_chat:slow", "input": "hi", "stream": True}),
        "messages": (
            "/v1/messages",
            {"model": "openai_chat:slow", "max_tokens": 10, "messages": QUESTION, "stream": True},
        ),
    }[surface]
    with httpx.stream("POST", gateway + path, json=body, timeout=10) as response:
        assert response.status_code == 200
        for _ in zip(range(3), response.iter_bytes(), strict=False):
            pass
        closed_at = time.monotonic()
    deadline = closed_at + 1.0
    while not fake.disconnected_at and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.disconnected_at, "the upstream request was still open a second after the client left"
    assert fake.disconnected_at[0] - closed_at < 1.0
