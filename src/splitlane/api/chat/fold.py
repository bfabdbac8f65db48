"""Chat Completions chunks -> the chat.completion object a non-streamed request answers with
(what the OpenAI SDK's stream accumulator does: strings concatenate, tool calls by index,
fields the chunks carry that we do not name are kept)."""

from __future__ import annotations

from typing import Any

_CHUNK_ONLY = ("object", "choices", "usage")


class ChatFold:
    def __init__(self) -> None:
        self.top: dict[str, Any] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}
        self.usage: Any = None

    def feed(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        self.top.update({k: v for k, v in data.items() if k not in _CHUNK_ONLY})
        if data.get("usage"):
            self.usage = data["usage"]
        for choice in data.get("choices") or []:
            index = int(choice.get("index", 0))
            out = self.choices.setdefault(
                index,
                {
                    "index": index,
                    "message": {"role": "assistant", "content": None},
                    "finish_reason": None,
                    "logprobs": None,
                },
            )
            self._delta(index, out["message"], choice.get("delta") or {})
            if choice.get("finish_reason") is not None:
                out["finish_reason"] = choice["finish_reason"]

    def _delta(self, index: int, message: dict[str, Any], delta: dict[str, Any]) -> None:
        for key, value in delta.items():
            if key == "tool_calls":
                for call in value or []:
                    self._call(self.calls.setdefault(index, {}), call)
            elif isinstance(value, str) and key != "role" and isinstance(message.get(key), str):
                message[key] += value
            elif value is not None:
                message[key] = value

    @staticmethod
    def _call(calls: dict[int, dict[str, Any]], call: dict[str, Any]) -> None:
        entry = calls.setdefault(
            int(call.get("index", 0)), {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if call.get("id"):
            entry["id"] = call["id"]
        function = call.get("function") or {}
        if function.get("name"):
            entry["function"]["name"] = function["name"]
        entry["function"]["arguments"] += function.get("arguments") or ""

    def result(self) -> dict[str, Any] | None:
        if not self.choices:
            return None
        for index, calls in self.calls.items():
            self.choices[index]["message"]["tool_calls"] = [calls[i] for i in sorted(calls)]
        return {
            **self.top,
            "object": "chat.completion",
            "choices": [self.choices[i] for i in sorted(self.choices)],
            "usage": self.usage,
        }
