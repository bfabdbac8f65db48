"""Hostile input against all three surfaces, property-based (hypothesis): malformed JSON, wrong
types, huge strings, deep nesting, invalid UTF-8, bogus tool schemas, odd headers. Every answer is a
4xx with a message in the surface's own error format (or a proper answer where the input happens to
be valid) — never a 5xx, never a hang (every request has a 10 s timeout; a hang fails the test).

``SPLITLANE_FUZZ_EXAMPLES`` sets the inputs tried per strategy (default 150); the counts are printed.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import gateway_with

EXAMPLES = int(os.environ.get("SPLITLANE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
PATHS = ["/v1/responses", "/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens"]
SEEN: Counter[str] = Counter()

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=24,
)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the valid shape, sometimes anything at all."""
    return st.one_of(valid, valid, json_values)


texts = st.text(max_size=200) | st.just("\ud800 lone surrogate") | st.just("x" * 100_000)
schemas = maybe(
    st.fixed_dictionaries(
        {"type": maybe(st.sampled_from(["object", "array", "string", "nonsense"]))},
        optional={
            "properties": maybe(st.dictionaries(st.text(max_size=8), maybe(st.fixed_dictionaries({"type": scalars})))),
            "required": maybe(st.lists(st.text(max_size=8), max_size=3)),
            "$ref": st.text(max_size=20),
            "additionalProperties": json_values,
        },
    )
)
chat_tool = st.fixed_dictionaries(
    {
        "type": maybe(st.just("function")),
        "function": maybe(st.fixed_dictionaries({"name": maybe(texts)}, optional={"parameters": schemas})),
    }
)
chat_message = st.fixed_dictionaries(
    {"role": maybe(st.sampled_from(["system", "user", "assistant", "tool", "developer"])), "content": maybe(texts)},
    optional={"tool_call_id": json_values, "tool_calls": json_values, "name": json_values},
)
bodies = {
    "/v1/chat/completions": st.fixed_dictionaries(
        {"model": maybe(st.just("sim")), "messages": maybe(st.lists(chat_message, max_size=4))},
        optional={
            "stream": maybe(st.booleans()),
            "max_tokens": maybe(st.integers(-5, 10**12)),
            "tools": maybe(st.lists(chat_tool, max_size=3)),
            "tool_choice": json_values | st.sampled_from(["auto", "required", "none"]),
            "temperature": json_values,
            "stop": json_values,
            "stream_options": json_values,
            "response_format": json_values,
        },
    ),
    "/v1/responses": st.fixed_dictionaries(
        {"model": maybe(st.just("sim")), "input": maybe(texts | st.lists(json_values, max_size=4))},
        optional={
            "stream": maybe(st.booleans()),
            "instructions": maybe(texts),
            "max_output_tokens": maybe(st.integers(-5, 10**12)),
            "tools": maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {"type": maybe(st.just("function")), "name": maybe(texts)}, optional={"parameters": schemas}
                    ),
                    max_size=3,
                )
            ),
            "tool_choice": json_values,
            "previous_response_id": maybe(texts),
            "reasoning": json_values,
            "text": json_values,
        },
    ),
    "/v1/messages": st.fixed_dictionaries(
        {
            "model": maybe(st.just("sim")),
            "max_tokens": maybe(st.integers(-5, 10**12)),
            "messages": maybe(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "role": maybe(st.sampled_from(["user", "assistant"])),
                            "content": maybe(texts | st.lists(json_values, max_size=3)),
                        }
                    ),
                    max_size=4,
                )
            ),
        },
        optional={
            "stream": maybe(st.booleans()),
            "system": maybe(texts),
            "tools": maybe(
                st.lists(st.fixed_dictionaries({"name": maybe(texts)}, optional={"input_schema": schemas}), max_size=3)
            ),
            "tool_choice": json_values,
            "thinking": json_values,
            "metadata": json_values,
        },
    ),
}
bodies["/v1/messages/count_tokens"] = bodies["/v1/messages"]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, httpx.Client]]:
    # The cap is what a deployment sets: without it a valid body asking for 10^12 tokens streams
    # forever (correctly), and one asking for 10^5 takes seconds on a busy machine.
    config = {
        "upstreams": {"sim": {"kind": "sim", "sim_profile": "instant"}},
        "models": {"sim": {"upstream": "sim"}},
        "max_tokens_cap": 512,
    }
    with gateway_with(config, tmp_path_factory.mktemp("fuzz")) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield url, client
    print(f"\nhostile inputs tried: {dict(SEEN)}; total {sum(SEEN.values())}")


def check(response: httpx.Response, path: str) -> None:
    """No 5xx, and a refusal carries a message in its surface's format."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["message"]
        if path.startswith("/v1/messages"):
            assert response.json()["type"] == "error"
    SEEN[f"{response.status_code // 100}xx"] += 1


def post(client: httpx.Client, path: str, content: bytes, headers: dict[str, bytes] | None = None) -> httpx.Response:
    with client.stream(
        "POST", path, content=content, headers={"content-type": b"application/json", **(headers or {})}
    ) as response:
        response.read()  # a 200 stream is read to its end: a stream that never ends fails on the timeout
        return response


@pytest.mark.parametrize("path", PATHS)
def test_structured_bodies(target: tuple[str, httpx.Client], path: str) -> None:
    import orjson

    @FUZZ
    @given(body=bodies[path])
    def run(body: dict[str, Any]) -> None:
        try:
            raw = orjson.dumps(body)
        except (orjson.JSONEncodeError, TypeError):  # integers beyond 64 bits, lone surrogates: send as text
            raw = repr(body).encode("utf-8", "surrogatepass")
        check(post(target[1], path, raw), path)

    run()


@pytest.mark.parametrize("path", PATHS)
def test_raw_bytes(target: tuple[str, httpx.Client], path: str) -> None:
    @FUZZ
    @given(
        raw=st.binary(max_size=300)
        | st.builds(lambda n, c: c * n, st.integers(1, 100_000), st.sampled_from([b"[", b'{"a":', b"[[{}],"]))
        | st.builds(lambda b: b'{"model": "sim", "messages": [{"role": "user", "content": "' + b + b'"}]}', st.binary())
    )
    def run(raw: bytes) -> None:
        check(post(target[1], path, raw), path)

    run()


@pytest.mark.parametrize("path", PATHS)
def test_odd_headers(target: tuple[str, httpx.Client], path: str) -> None:
    body = b'{"model": "sim", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "input": "hi"}'
    header_value = st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
    )

    @FUZZ
    @given(
        headers=st.dictionaries(
            st.sampled_from(
                [
                    "anthropic-beta",
                    "anthropic-version",
                    "session_id",
                    "x-session-affinity",
                    "x-claude-code-session-id",
                    "authorization",
                    "x-api-key",
                    "user-agent",
                    "content-type",
                    "x-stainless-lang",
                    "x-client-request-id",
                ]
            ),
            header_value,
            max_size=4,
        )
    )
    def run(headers: dict[str, str]) -> None:
        encoded = {k: v.strip(" \t").encode("latin-1") for k, v in headers.items()}  # h11 sends no padding
        check(post(target[1], path, body, encoded), path)

    run()


@pytest.mark.parametrize(
    "header",
    [b"x-evil: a\rb", b"x-evil: a\x00b", b"x-big: " + b"a" * 200_000, b"anthropic-beta: \xff\xfe"],
    ids=["bare CR", "NUL", "200 KB value", "not UTF-8"],
)
def test_header_injection_on_the_wire(target: tuple[str, httpx.Client], header: bytes) -> None:
    """Bytes a client library would refuse to send, straight onto the socket: a 4xx or a closed
    connection, never a 5xx or a hang."""
    url, _ = target
    host, port = url.removeprefix("http://").split(":")
    body = b'{"model": "sim", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}'
    request = (
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + header
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n\r\n"
        + body
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    if answer:
        status = int(answer.split(b" ", 2)[1])
        assert status < 500, answer[:300]
