"""The Responses API over a WebSocket (api/responses/socket.py), through the real server with a
real WebSocket client (the ``websockets`` library): frames as Codex sends them, events back as
the HTTP path streams them, the socket's own conversation state, refusals in OpenAI's format."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.api.test_auth import CONFIG as AUTH_CONFIG
from tests.api.test_auth import create_key
from tests.conftest import gateway_with
from tests.servers import FakeProvider

BETA = {"OpenAI-Beta": "responses_websockets=2026-02-06", "session-id": "sess-ws-1"}
HI = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]


def ws_url(gateway: str) -> str:
    return gateway.replace("http://", "ws://") + "/v1/responses"


def turn(ws: ClientConnection, frame: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one frame; the events up to the response's end (or an error frame)."""
    ws.send(orjson.dumps(frame).decode())
    events: list[dict[str, Any]] = []
    while True:
        event = orjson.loads(ws.recv(timeout=30))
        events.append(event)
        if event["type"] in ("response.completed", "response.failed", "response.incomplete", "error"):
            return events


def create(model: str, items: list[Any], **extra: Any) -> dict[str, Any]:
    return {"type": "response.create", "model": model, "input": items, "store": False, "stream": True, **extra}


def upstream_inputs(fake: FakeProvider) -> list[Any]:
    return [r.body.get("input") or r.body.get("messages") for r in fake.requests]


def test_a_turn_streams_the_events_the_http_path_streams(gateway: str, fake: FakeProvider) -> None:
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        events = turn(ws, create("openai_chat:text", HI))
    with httpx.stream(
        "POST", gateway + "/v1/responses", json={"model": "openai_chat:text", "input": HI, "stream": True}
    ) as response:
        posted = [orjson.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == [e["type"] for e in posted]
    assert events[-1]["type"] == "response.completed"
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "".join(e["delta"] for e in posted if e["type"] == "response.output_text.delta") != ""
    assert fake.requests[0].body["messages"][-1]["content"] == "hi"  # a Chat upstream got the turn


def test_previous_response_id_on_the_socket_expands_to_the_whole_conversation(gateway: str, fake: FakeProvider) -> None:
    more = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and then?"}]}]
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        first = turn(ws, create("openai_responses:text", HI))
        done = first[-1]["response"]
        second = turn(ws, create("openai_responses:text", more, previous_response_id=done["id"]))
    assert second[-1]["type"] == "response.completed"
    sent = [r.body for r in fake.requests]
    assert len(sent) == 2
    assert "previous_response_id" not in sent[1]  # no upstream holds the socket's state
    assert sent[1]["input"] == [*HI, *done["output"], *more]
    assert "type" not in sent[1]
    assert sent[1]["stream"] is True


def test_a_prewarm_is_answered_without_the_upstream_and_becomes_the_prefix(gateway: str, fake: FakeProvider) -> None:
    more = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}]
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        warm = turn(ws, create("openai_responses:text", HI, generate=False))
        assert [e["type"] for e in warm] == ["response.created", "response.completed"]
        assert warm[-1]["response"]["output"] == []
        assert not fake.requests
        answer = turn(ws, create("openai_responses:text", more, previous_response_id=warm[-1]["response"]["id"]))
    assert answer[-1]["type"] == "response.completed"
    assert fake.requests[0].body["input"] == [*HI, *more]
    assert "generate" not in fake.requests[0].body


def test_an_unknown_previous_response_is_an_error_frame_and_the_socket_stays_open(
    gateway: str, fake: FakeProvider
) -> None:
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        [error] = turn(ws, create("openai_chat:text", HI, previous_response_id="resp_nowhere"))
        assert error["type"] == "error"
        assert error["status"] == 404
        assert error["error"]["param"] == "previous_response_id"
        assert turn(ws, create("openai_chat:text", HI))[-1]["type"] == "response.completed"


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        ("{not json", "not JSON"),
        ('{"type": "session.update"}', "unsupported frame type 'session.update'"),
        ('{"type": "response.create", "model": "openai_chat:text"}', "input"),
    ],
)
def test_bad_frames_get_an_error_frame(gateway: str, fake: FakeProvider, frame: str, says: str) -> None:
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        ws.send(frame)
        error = orjson.loads(ws.recv(timeout=10))
        assert error["type"] == "error"
        assert error["status"] == 400
        assert error["error"]["type"] == "invalid_request_error"
        assert says in error["error"]["message"]
        ws.send('{"type": "response.processed", "response_id": "resp_x"}')  # an acknowledgement: no answer
        assert turn(ws, create("openai_chat:text", HI))[-1]["type"] == "response.completed"


def test_an_upstream_refusal_is_an_error_frame_with_its_status_and_retry_after(
    gateway: str, fake: FakeProvider
) -> None:
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        [error] = turn(ws, create("openai_chat:status429", HI))
    assert error["status"] == 429
    assert error["error"]["type"] == "rate_limit_error"
    assert error["headers"]["retry-after"] == "7"


def test_closing_the_socket_mid_stream_closes_the_upstream_request(gateway: str, fake: FakeProvider) -> None:
    fake.disconnected_at.clear()
    with connect(ws_url(gateway), additional_headers=BETA) as ws:
        ws.send(orjson.dumps(create("openai_chat:slow", HI)).decode())
        for _ in range(4):
            ws.recv(timeout=10)
        closed_at = time.monotonic()
    deadline = closed_at + 2.0
    while not fake.disconnected_at and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.disconnected_at, "the upstream request was still open after the socket closed"


def test_with_websockets_off_the_upgrade_is_refused_with_426(tmp_path: Path) -> None:
    config = {
        "websockets": False,
        "upstreams": {"sim": {"kind": "sim", "sim_profile": "instant"}},
        "models": {"sim": {"upstream": "sim"}},
    }
    with gateway_with(config, tmp_path) as url, pytest.raises(InvalidStatus) as refused:
        connect(ws_url(url), additional_headers=BETA)
    response = refused.value.response
    assert response.status_code == 426
    error = orjson.loads(response.body)["error"]
    assert error["code"] == "websockets_disabled"
    assert "POST /v1/responses" in error["message"]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("secured-ws")
    with gateway_with(AUTH_CONFIG, data_dir) as url:
        yield url, data_dir


def test_keys_are_checked_at_the_handshake_and_limits_per_turn(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(url), additional_headers={**BETA, "Authorization": "Bearer wrong"})
    assert refused.value.response.status_code == 401
    assert orjson.loads(refused.value.response.body)["error"]["type"] == "authentication_error"
    secret = create_key(data_dir, "ws-rpm", rpm=1)
    with connect(ws_url(url), additional_headers={**BETA, "Authorization": f"Bearer {secret}"}) as ws:
        assert turn(ws, create("sim", HI))[-1]["type"] == "response.completed"
        [error] = turn(ws, create("sim", HI))  # the key's second turn in a minute
    assert error["status"] == 429
    assert "1 requests per minute" in error["error"]["message"]
    assert 1 <= int(error["headers"]["retry-after"]) <= 60
