"""Data residency: routes that would leave the allowed regions are refused, never silently."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from splitlane.config import Config
from splitlane.core.errors import PermissionDenied
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.routing.planner import Planner
from splitlane.routing.replicas import stand_ins
from tests.conftest import gateway_with

CONFIG = {
    "upstreams": {
        "us": {"kind": "anthropic", "base_url": "http://127.0.0.1:9", "region": "us"},
        "eu": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9/v1", "region": "eu"},
    },
    "models": {
        "coder": {"lanes": {"plan": "us/big", "act": "eu/fast"}, "fallbacks": ["eu/big-eu"], "allowed_regions": ["eu"]},
        "us-only": {"upstream": "us", "allowed_regions": ["eu"]},
    },
}


def plan_for(model: str, lane_header: str | None = None) -> object:
    config = Config.model_validate(CONFIG)
    headers = {"x-splitlane-lane": lane_header} if lane_header else {}
    request = ChatRequest(model, (Message(Role.USER, (TextPart("hi"),)),), headers=headers)
    return Planner(config, stand_ins(config)).plan(request)


def test_a_lane_outside_the_regions_uses_an_allowed_fallback_and_says_so() -> None:
    plan = plan_for("coder", "plan")
    assert [t.label for t in plan.targets] == ["eu/big-eu"]  # type: ignore[attr-defined]
    assert plan.excluded == ("us/big (region us)",)  # type: ignore[attr-defined]


def test_no_allowed_route_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied, match=r"regions \['eu'\].*us/us-only \(region us\)"):
        plan_for("us-only")
    with gateway_with(CONFIG, tmp_path) as gateway:
        response = httpx.post(
            gateway + "/v1/messages",
            json={"model": "us-only", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        )
        chat = httpx.post(
            gateway + "/v1/chat/completions", json={"model": "us-only", "messages": [{"role": "user", "content": "hi"}]}
        )
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    assert chat.status_code == 403
    assert chat.json()["error"]["code"] == "residency_violation"
