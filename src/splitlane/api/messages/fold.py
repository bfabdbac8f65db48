"""Anthropic Messages stream events -> the Message object a non-streamed request answers with.

The same accumulation Anthropic's SDKs do (``message_start`` gives the message, blocks start with
their own JSON and grow by their deltas, ``message_delta`` sets the stop and usage), over whatever
block and delta kinds the upstream sends: unknown ones keep their start JSON.
"""

from __future__ import annotations

from typing import Any

import orjson

_STRING_DELTAS = {"text_delta": "text", "thinking_delta": "thinking", "signature_delta": "signature"}


class MessagesFold:
    def __init__(self) -> None:
        self.message: dict[str, Any] | None = None
        self.content: list[dict[str, Any]] = []
        self.partial_json: dict[int, list[str]] = {}

    def feed(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        match data.get("type"):
            case "message_start":
                self.message = dict(data.get("message") or {})
                self.content = list(self.message.get("content") or [])
                self.message["content"] = self.content
            case "content_block_start":
                self.content.append(dict(data.get("content_block") or {}))
            case "content_block_delta":
                self._delta(int(data.get("index", len(self.content) - 1)), data.get("delta") or {})
            case "content_block_stop":
                index = int(data.get("index", len(self.content) - 1))
                if index in self.partial_json and 0 <= index < len(self.content):
                    text = "".join(self.partial_json.pop(index))
                    self.content[index]["input"] = orjson.loads(text) if text.strip() else {}
            case "message_delta" if self.message is not None:
                self.message.update(data.get("delta") or {})
                self.message["usage"] = {**(self.message.get("usage") or {}), **(data.get("usage") or {})}

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        if not 0 <= index < len(self.content):
            return
        block = self.content[index]
        kind = delta.get("type")
        if kind in _STRING_DELTAS:
            key = _STRING_DELTAS[kind]
            block[key] = str(block.get(key) or "") + str(delta.get(key, ""))
        elif kind == "input_json_delta":
            self.partial_json.setdefault(index, []).append(str(delta.get("partial_json", "")))
        elif kind == "citations_delta":
            block["citations"] = [*(block.get("citations") or []), delta.get("citation")]

    def result(self) -> dict[str, Any] | None:
        return self.message
