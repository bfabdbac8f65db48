"""Request bodies sent compressed (``content-encoding``: Codex compresses its requests with zstd):
decoded within the body-size limit, refused in the surface's own error format when they can't be."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import httpx
import orjson
import pytest
import zstandard

from tests.conftest import gateway_with

CHAT = {"model": "sim", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
MESSAGES = {"model": "sim", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
CODECS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("coding", list(CODECS))
@pytest.mark.parametrize(("path", "body"), [("/v1/chat/completions", CHAT), ("/v1/messages", MESSAGES)])
def test_a_compressed_body_is_read_as_sent(sim: str, coding: str, path: str, body: dict[str, object]) -> None:
    data = CODECS[coding](orjson.dumps(body))
    reply = httpx.post(
        sim + path, content=data, headers={"content-encoding": coding, "content-type": "application/json"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["usage"]


def test_a_body_that_inflates_past_the_limit_is_413_in_the_surface_format(tmp_path: Path) -> None:
    """1 MiB limit; a 2 MiB JSON body compresses to a few KB (a decompression bomb, in miniature)."""
    config = {
        "max_body_bytes": 1024 * 1024,
        "upstreams": {"sim": {"kind": "sim", "sim_profile": "instant"}},
        "models": {"sim": {"upstream": "sim"}},
    }
    padding = {**MESSAGES, "metadata": {"user_id": "x" * (2 * 1024 * 1024)}}
    data = zstandard.ZstdCompressor().compress(orjson.dumps(padding))
    assert len(data) < 10_000
    with gateway_with(config, tmp_path) as url:
        reply = httpx.post(url + "/v1/messages", content=data, headers={"content-encoding": "zstd"})
        assert reply.status_code == 413
        assert reply.json()["type"] == "error"
        assert reply.json()["error"]["type"] == "request_too_large"
        assert "once decompressed" in reply.json()["error"]["message"]
        bomb = gzip.compress(orjson.dumps({**CHAT, "user": "y" * (2 * 1024 * 1024)}))
        chat = httpx.post(url + "/v1/chat/completions", content=bomb, headers={"content-encoding": "gzip"})
        assert chat.status_code == 413
        assert "limit" in chat.json()["error"]["message"]


@pytest.mark.parametrize(
    ("coding", "data", "says"),
    [
        ("gzip", b"not gzip at all", "not valid gzip data"),
        ("gzip", gzip.compress(orjson.dumps(CHAT))[:-12], "truncated gzip"),
        ("zstd", b"\x28\xb5\x2f\xfd garbage", "not valid zstd data"),
        ("br", orjson.dumps(CHAT), "content-encoding 'br' is not supported"),
    ],
)
def test_a_body_that_cannot_be_decoded_is_400(sim: str, coding: str, data: bytes, says: str) -> None:
    reply = httpx.post(sim + "/v1/chat/completions", content=data, headers={"content-encoding": coding})
    assert reply.status_code == 400
    assert says in reply.json()["error"]["message"]
