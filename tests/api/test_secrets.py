"""Credentials stay where they belong: the upstream key is read from the environment and sent only
upstream; the client's key is never forwarded; neither is logged, stored, or returned."""

from __future__ import annotations

import logging
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from splitlane.api.app import create_app
from tests.conftest import gateway_config
from tests.servers import FakeProvider, serve

UPSTREAM_SECRET = "sk-upstream-0123456789abcdefghijklmnop"
CLIENT_SECRET = "sk-client-zyxwvutsrqponmlkjihgfedcba"
QUESTION = [{"role": "user", "content": "hi"}]


def test_keys_are_sent_only_where_they_belong(
    provider: tuple[FakeProvider, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, url = provider
    fake.requests.clear()  # the fake is shared by the session: only this test's requests count
    monkeypatch.setenv("SPLITLANE_TEST_UPSTREAM_KEY", UPSTREAM_SECRET)
    caplog.set_level(logging.DEBUG)
    base = gateway_config(url, tmp_path)
    config = type(base).model_validate({**base.model_dump(exclude={"telemetry"}), "telemetry": {"capture": True}})
    with serve(create_app(config)) as gateway:
        oai = openai.OpenAI(base_url=gateway + "/v1", api_key=CLIENT_SECRET, max_retries=0)
        ant = anthropic.Anthropic(base_url=gateway, api_key=CLIENT_SECRET, max_retries=0)
        answers = [
            oai.chat.completions.create(model="openai_chat:text", messages=QUESTION).model_dump_json(),  # type: ignore[arg-type]
            oai.responses.create(model="openai_responses:text", input="hi").model_dump_json(),
            ant.messages.create(model="anthropic:text", max_tokens=9, messages=QUESTION).model_dump_json(),  # type: ignore[arg-type]
        ]
        with pytest.raises(openai.APIStatusError) as failed:
            oai.chat.completions.create(model="openai_chat:status500", messages=QUESTION)  # type: ignore[arg-type]
        answers.append(failed.value.response.text)
        answers.append(httpx.get(gateway + "/metrics").text)
        answers.append(httpx.get(gateway + "/dashboard/api/overview").text)
    sent = [r.headers for r in fake.requests]
    assert sent
    for headers in sent:
        assert UPSTREAM_SECRET in (headers.get("authorization", "") + headers.get("x-api-key", ""))
        assert CLIENT_SECRET not in str(headers)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("splitlane.db*"))
    for secret in (UPSTREAM_SECRET, CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret.encode() not in stored
        assert not any(secret in answer for answer in answers)
