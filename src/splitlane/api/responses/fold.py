"""Responses stream events -> the Response object: the terminal event carries it whole."""

from __future__ import annotations

from typing import Any

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def restore(response: dict[str, Any], restored: dict[str, Any]) -> dict[str, Any]:
    """``response`` with the fields the gateway edited on the way up as the client asked (itself
    when they already are)."""
    if all(response.get(k) == v for k, v in restored.items()):
        return response
    return {**response, **restored}


class ResponsesFold:
    def __init__(self, restored: dict[str, Any]) -> None:
        self.restored = restored
        self.response: dict[str, Any] | None = None

    def feed(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("type") in TERMINAL and isinstance(data.get("response"), dict):
            self.response = restore(data["response"], self.restored)

    def result(self) -> dict[str, Any] | None:
        return self.response
