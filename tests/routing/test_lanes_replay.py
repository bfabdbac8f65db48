"""A Claude Code-style session replayed through a plan+act alias: the plan upstream serves only the
planning turns; `splitlane route explain` agrees with the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from typer.testing import CliRunner

from splitlane.cli.main import app
from tests.conftest import gateway_with
from tests.routing.corpus import CC_EXIT, CC_PLAN
from tests.servers import FakeProvider

TOOLS = [
    {
        "name": "Bash",
        "description": "run",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
    }
]


def lanes_config(provider_url: str) -> dict[str, object]:
    return {
        "upstreams": {
            "frontier": {"kind": "anthropic", "base_url": provider_url},
            "fast": {"kind": "openai_chat", "base_url": provider_url + "/v1"},
        },
        "models": {"coder": {"lanes": {"plan": "frontier/tool", "act": "fast/tool", "background": "fast/text"}}},
    }


@pytest.fixture
def lanes_gateway(provider: tuple[FakeProvider, str], tmp_path: Path) -> Iterator[str]:
    with gateway_with(lanes_config(provider[1]), tmp_path) as url:
        yield url


def test_plan_upstream_serves_only_planning_turns(lanes_gateway: str, fake: FakeProvider) -> None:
    client = anthropic.Anthropic(base_url=lanes_gateway, api_key="x", max_retries=0)
    headers = {"X-Claude-Code-Session-Id": "replay-1"}
    # 3 planning turns (a request, two tool-result continuations), exit plan mode, 5 execution turns
    script = [CC_PLAN, None, None, CC_EXIT, None, None, None, None]
    history: list[dict[str, object]] = []
    lanes = []
    for reminder in script:
        if not history or reminder is not None:
            history.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Work on the parser"},
                        *([{"type": "text", "text": reminder}] if reminder else []),
                    ],
                }
            )
        raw = client.messages.with_raw_response.create(
            model="coder",
            max_tokens=512,
            messages=history,  # type: ignore[arg-type]
            tools=TOOLS,
            extra_headers=headers,
        )
        lanes.append(raw.headers["x-splitlane-lane"])
        reply = raw.parse()
        history.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]})
        call = next((b for b in reply.content if b.type == "tool_use"), None)
        if call is not None:
            history.append(
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "output"}]}
            )
    assert lanes == ["plan"] * 3 + ["act"] * 5
    paths = [r.path for r in fake.requests]
    assert paths.count("/v1/messages") == 3
    assert paths.count("/v1/chat/completions") == 5
    assert paths[:3] == ["/v1/messages"] * 3


def test_route_explain_prints_lane_reason_upstream_and_replica(
    provider: tuple[FakeProvider, str], tmp_path: Path
) -> None:
    config = tmp_path / "splitlane.toml"
    lanes = lanes_config(provider[1])
    config.write_text(
        "\n".join(
            f'[upstreams.{n}]\nkind = "{u["kind"]}"\nbase_url = "{u["base_url"]}"'  # type: ignore[index]
            for n, u in lanes["upstreams"].items()
        )  # type: ignore[attr-defined]
        + '\n[models.coder.lanes]\nplan = "frontier/tool"\nact = "fast/tool"\n'
    )
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "model": "coder",
                "max_tokens": 100,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "Design it"}, {"type": "text", "text": CC_PLAN}],
                    }
                ],
            }
        )
    )
    runner = CliRunner()
    text = runner.invoke(
        app, ["route", "explain", str(request), "--config", str(config), "--header", "X-Claude-Code-Session-Id: s1"]
    )
    assert text.exit_code == 0, text.output
    assert "lane: plan" in text.output
    assert "frontier/tool" in text.output
    assert "claude-code plan mode is active" in text.output
    assert f"replica: {provider[1]}" in text.output
    as_json = runner.invoke(
        app, ["route", "explain", str(request), "--config", str(config), "--json", "-H", "x-splitlane-lane: act"]
    )
    info = json.loads(as_json.output)
    assert info["lane"] == "act"
    assert info["source"] == "explicit"
    assert info["upstream"] == "fast"
