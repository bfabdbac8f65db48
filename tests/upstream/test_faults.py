"""The fault matrix: every upstream fault × every surface, streamed and not, through the official
SDKs. Each request ends cleanly — a mapped HTTP error before the first byte, the surface's own
in-stream error after it — within its timeout (the SDKs' 15 s timeout would fail the test on a
hang), and afterwards the gateway is back to its baseline: no turn in flight, no upstream
connection lent out, no task left on its event loop."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import gateway_with
from tests.servers import FakeProvider

QUESTION = [{"role": "user", "content": "hi"}]
TIMEOUTS = {"first_byte_timeout_s": 0.5, "idle_timeout_s": 0.5, "total_timeout_s": 2.0, "connect_timeout_s": 2.0}


@dataclass(frozen=True)
class Fault:
    upstream: str
    model: str
    status: int  # what a client sees before the first byte (and for a request that is not streamed)
    midstream: bool  # streamed: the failure comes after the first event, as an in-stream error
    words: str  # in the error message


FAULTS = {
    "connection refused": Fault("refused", "text", 502, False, "cannot connect"),
    "DNS failure": Fault("dns", "text", 502, False, "cannot connect"),
    "TLS error": Fault("tls", "text", 502, False, "cannot connect"),
    "HTTP 500": Fault("chat", "status500", 502, False, "internal failure upstream"),
    "HTTP 429": Fault("chat", "status429", 429, False, "slow down"),
    "stall before the first byte": Fault("chat", "stall", 504, False, "sent nothing within 0.5 s"),
    "stall mid-stream": Fault("chat", "stall_midstream", 504, True, "sent nothing for 0.5 s"),
    "truncated SSE": Fault("chat", "truncated", 502, True, "ended"),
    "invalid JSON in a chunk": Fault("chat", "bad_json", 502, True, "invalid JSON"),
    "a stream that never ends": Fault("chat", "slow", 504, True, "did not finish within 2 s"),
    "truncated SSE (Anthropic upstream)": Fault("anthropic", "truncated", 502, True, "ended"),
    "invalid JSON (Anthropic upstream)": Fault("anthropic", "bad_json", 502, True, "invalid JSON"),
    "truncated SSE (Responses upstream)": Fault("responses", "truncated", 502, True, "ended"),
    "invalid JSON (Responses upstream)": Fault("responses", "bad_json", 502, True, "invalid JSON"),
}


def fault_config(
    provider_url: str, chat_timeouts: dict[str, float] | None = None, **extra: object
) -> dict[str, object]:
    """Every fault as a model; ``chat_timeouts`` overrides the ``chat`` upstream's clocks."""
    port = provider_url.rsplit(":", 1)[1]
    upstreams = {
        "refused": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9/v1"},
        "dns": {"kind": "openai_chat", "base_url": "http://splitlane-test.invalid/v1"},
        "tls": {"kind": "openai_chat", "base_url": f"https://127.0.0.1:{port}/v1"},  # a plain HTTP server
        "chat": {"kind": "openai_chat", "base_url": provider_url + "/v1"},
        "anthropic": {"kind": "anthropic", "base_url": provider_url},
        "responses": {"kind": "openai_responses", "base_url": provider_url + "/v1"},
    }
    return {
        "upstreams": {
            name: {**u, **TIMEOUTS, **(chat_timeouts if name == "chat" and chat_timeouts else {})}
            for name, u in upstreams.items()
        },
        "models": {f"{f.upstream}:{f.model}": {"upstream": f.upstream, "model": f.model} for f in FAULTS.values()}
        | {"pause": {"upstream": "chat", "model": "pause"}},
        **extra,
    }


@pytest.fixture(scope="module")
def faulty(provider: tuple[FakeProvider, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _, url = provider
    with gateway_with(fault_config(url), tmp_path_factory.mktemp("faults")) as gateway:
        yield gateway


def gauges(gateway: str) -> dict[str, float]:
    text = httpx.get(gateway + "/metrics").text
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ("splitlane_turns_in_flight", "splitlane_event_loop_tasks"):
                values[sample.name] = sample.value
            if sample.name == "splitlane_upstream_connections_in_use":
                values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


def settled(gateway: str, baseline_tasks: float) -> dict[str, float]:
    """The gauges once the gateway is back to rest (or what they were after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        now = gauges(gateway)
        rest = now["splitlane_turns_in_flight"] == 0 and now["splitlane_upstream_connections_in_use"] == 0
        if (rest and now["splitlane_event_loop_tasks"] <= baseline_tasks) or time.monotonic() > deadline:
            return now


def outcome(gateway: str, surface: str, model: str, stream: bool) -> tuple[int | str, str]:
    """(HTTP status, message) of an error before the first byte, or ("in-stream", message)."""
    oai = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0, timeout=15)
    ant = anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0, timeout=15)
    try:
        if surface == "chat":
            if not stream:
                oai.chat.completions.create(model=model, messages=QUESTION)  # type: ignore[arg-type]
                return 200, ""
            try:
                for _ in oai.chat.completions.create(model=model, messages=QUESTION, stream=True):  # type: ignore[arg-type]
                    pass
            except openai.APIError as exc:
                if not isinstance(exc, openai.APIStatusError):
                    return "in-stream", exc.message
                raise
        elif surface == "responses":
            if not stream:
                oai.responses.create(model=model, input="hi")
                return 200, ""
            events = list(oai.responses.create(model=model, input="hi", stream=True))
            if events[-1].type == "response.failed":
                error = events[-1].response.error
                assert error is not None
                return "in-stream", error.message
        else:
            if not stream:
                ant.messages.create(model=model, max_tokens=20, messages=QUESTION)  # type: ignore[arg-type]
                return 200, ""
            try:
                with ant.messages.stream(model=model, max_tokens=20, messages=QUESTION) as events:  # type: ignore[arg-type]
                    for _ in events:
                        pass
            except anthropic.APIStatusError as exc:
                if exc.status_code == 200:  # an `error` event in a stream that had begun
                    return "in-stream", exc.message
                raise
        return 200, ""
    except (openai.APIStatusError, anthropic.APIStatusError) as exc:
        return exc.status_code, exc.message


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("surface", ["responses", "chat", "messages"])
@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_ends_the_request_cleanly(
    faulty: str, fake_watch: FakeProvider, name: str, surface: str, stream: bool
) -> None:
    fault = FAULTS[name]
    baseline = gauges(faulty)["splitlane_event_loop_tasks"]
    status, message = outcome(faulty, surface, f"{fault.upstream}:{fault.model}", stream)
    expected: int | str = "in-stream" if stream and fault.midstream else fault.status
    assert status == expected, message
    assert fault.words in message
    after = settled(faulty, baseline)
    assert after["splitlane_turns_in_flight"] == 0
    assert after["splitlane_upstream_connections_in_use"] == 0
    assert after["splitlane_event_loop_tasks"] <= baseline
    if fault.upstream != "refused" and fault.model in ("slow", "stall_midstream", "truncated", "bad_json"):
        assert fake_watch.disconnected_at, "the upstream stream was not closed"


@pytest.fixture
def fake_watch(provider: tuple[FakeProvider, str]) -> FakeProvider:
    fake, _ = provider
    fake.disconnected_at.clear()
    return fake


def test_keepalive_pings_before_the_first_byte_and_mid_stream(
    provider: tuple[FakeProvider, str], tmp_path: Path
) -> None:
    _, url = provider
    slow = {"first_byte_timeout_s": 10.0, "idle_timeout_s": 10.0, "total_timeout_s": 30.0}
    config = fault_config(url, slow, keepalive_s=0.15)
    with gateway_with(config, tmp_path) as gateway:
        for path, body, ping, failed in [
            ("/v1/chat/completions", {"messages": QUESTION}, b": keepalive", b'data: {"error"'),
            ("/v1/responses", {"input": "hi"}, b": keepalive", b"response.failed"),
            ("/v1/messages", {"messages": QUESTION, "max_tokens": 20}, b"event: ping", b"event: error"),
        ]:
            for model, where in [("chat:stall", "before the first byte"), ("pause", "mid-stream")]:
                raw = httpx.post(gateway + path, json={**body, "model": model, "stream": True}, timeout=15).content
                assert ping in raw, where
                assert failed not in raw, where
        # the SDKs skip the pings
        oai = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0, timeout=15)
        text = "".join(
            c.choices[0].delta.content or ""
            for c in oai.chat.completions.create(model="pause", messages=QUESTION, stream=True)  # type: ignore[arg-type]
            if c.choices
        )
        assert text
        ant = anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0, timeout=15)
        with ant.messages.stream(model="chat:stall", max_tokens=20, messages=QUESTION) as events:  # type: ignore[arg-type]
            assert events.get_final_text()


def test_failure_after_pings_is_an_in_stream_error(provider: tuple[FakeProvider, str], tmp_path: Path) -> None:
    _, url = provider
    config = fault_config(url, {"first_byte_timeout_s": 0.5}, keepalive_s=0.1)
    with gateway_with(config, tmp_path) as gateway:
        for surface in ("responses", "chat", "messages"):
            status, message = outcome(gateway, surface, "chat:stall", stream=True)
            assert status == "in-stream"
            assert "sent nothing within 0.5 s" in message


def test_client_leaving_during_pings_closes_the_upstream_request(
    provider: tuple[FakeProvider, str], tmp_path: Path
) -> None:
    _, url = provider
    config = fault_config(
        url, dict.fromkeys(("first_byte_timeout_s", "idle_timeout_s", "total_timeout_s"), 30.0), keepalive_s=0.1
    )
    with gateway_with(config, tmp_path) as gateway:
        baseline = gauges(gateway)["splitlane_event_loop_tasks"]
        body = {"model": "chat:stall", "messages": QUESTION, "stream": True}  # the upstream is silent for 5 s
        with httpx.stream("POST", gateway + "/v1/chat/completions", json=body, timeout=10) as response:
            assert response.status_code == 200
            chunks = response.iter_bytes()  # held: a dropped iterator would close the response at once
            assert next(chunks).startswith(b": keepalive")
            deadline = time.monotonic() + 2
            while gauges(gateway)["splitlane_upstream_connections_in_use"] != 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert gauges(gateway)["splitlane_upstream_connections_in_use"] == 1
            left = time.monotonic()
        after = settled(gateway, baseline)
        assert time.monotonic() - left < 3, f"the turn outlived its client: {after}"
        assert after["splitlane_turns_in_flight"] == 0
        assert after["splitlane_upstream_connections_in_use"] == 0
        assert after["splitlane_event_loop_tasks"] <= baseline
        metrics = httpx.get(gateway + "/metrics").text
        cancelled = [
            s.value
            for family in text_string_to_metric_families(metrics)
            for s in family.samples
            if s.name == "splitlane_turns_total" and s.labels.get("status") == "cancelled"
        ]
        assert cancelled == [1.0]
