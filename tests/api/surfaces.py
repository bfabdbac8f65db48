"""One way to talk to each surface through the official SDKs, so every test can run on all three."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anthropic
import openai

SURFACES = ("responses", "chat", "messages")
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
QUESTION = "What is the weather in Paris?"


@dataclass
class Reply:
    text: str
    tool_calls: list[tuple[str, str, dict[str, Any]]]  # (id, name, arguments)
    input_tokens: int  # the whole prompt, whatever the surface's convention
    cached_tokens: int
    output_tokens: int
    reasoning: str
    raw: Any


class Client:
    def __init__(self, surface: str, oai: openai.OpenAI, ant: anthropic.Anthropic) -> None:
        self.surface = surface
        self.oai = oai
        self.ant = ant

    def ask(
        self, model: str, history: list[Any] | None = None, stream: bool = True, tools: bool = False, **extra: Any
    ) -> Reply:
        history = history if history is not None else self.first_turn()
        return getattr(self, f"_{self.surface}")(model, history, stream, tools, extra)

    def first_turn(self) -> list[Any]:
        return [{"role": "user", "content": QUESTION}]  # the same shape on every surface

    def tools(self) -> list[dict[str, Any]]:
        if self.surface == "responses":
            return [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": WEATHER_SCHEMA,
                }
            ]
        if self.surface == "chat":
            return [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Weather for a city",
                        "parameters": WEATHER_SCHEMA,
                    },
                }
            ]
        return [{"name": "get_weather", "description": "Weather for a city", "input_schema": WEATHER_SCHEMA}]

    def follow_up(self, history: list[Any], reply: Reply, tool_output: str) -> list[Any]:
        """The next turn's history: the reply as the assistant's turn plus one tool result."""
        call_id = reply.tool_calls[0][0]
        if self.surface == "responses":
            return [
                *history,
                *[item.model_dump(exclude_none=True) for item in reply.raw.output],
                {"type": "function_call_output", "call_id": call_id, "output": tool_output},
            ]
        if self.surface == "chat":
            message = reply.raw.choices[0].message
            return [
                *history,
                {
                    "role": "assistant",
                    "content": message.content,
                    "tool_calls": [c.model_dump() for c in message.tool_calls or []],
                },
                {"role": "tool", "tool_call_id": call_id, "content": tool_output},
            ]
        return [
            *history,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.raw.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": tool_output}]},
        ]

    def _responses(self, model: str, history: list[Any], stream: bool, tools: bool, extra: dict[str, Any]) -> Reply:
        kwargs: dict[str, Any] = {"model": model, "input": history, **extra}
        if tools:
            kwargs["tools"] = self.tools()
        if stream:
            with self.oai.responses.stream(**kwargs) as s:
                final = s.get_final_response()
        else:
            final = self.oai.responses.create(**kwargs)
        calls = [(i.call_id, i.name, json.loads(i.arguments)) for i in final.output if i.type == "function_call"]
        reasoning = "".join(s.text for i in final.output if i.type == "reasoning" for s in i.summary)
        usage = final.usage
        assert usage is not None
        return Reply(
            final.output_text,
            calls,
            usage.input_tokens,
            usage.input_tokens_details.cached_tokens,
            usage.output_tokens,
            reasoning,
            final,
        )

    def _chat(self, model: str, history: list[Any], stream: bool, tools: bool, extra: dict[str, Any]) -> Reply:
        kwargs: dict[str, Any] = {"model": model, "messages": history, **extra}
        if tools:
            kwargs["tools"] = self.tools()
        if stream:
            with self.oai.chat.completions.stream(**kwargs, stream_options={"include_usage": True}) as s:
                final = s.get_final_completion()
        else:
            final = self.oai.chat.completions.create(**kwargs)
        message = final.choices[0].message
        calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
        usage = final.usage
        assert usage is not None
        details = usage.prompt_tokens_details
        reasoning = getattr(message, "reasoning_content", None) or (message.model_extra or {}).get(
            "reasoning_content", ""
        )
        return Reply(
            message.content or "",
            calls,
            usage.prompt_tokens,
            details.cached_tokens or 0 if details else 0,
            usage.completion_tokens,
            reasoning or "",
            final,
        )

    def _messages(self, model: str, history: list[Any], stream: bool, tools: bool, extra: dict[str, Any]) -> Reply:
        kwargs: dict[str, Any] = {"model": model, "messages": history, "max_tokens": 256, **extra}
        sampling = {k: kwargs.pop(k) for k in ("temperature", "top_p", "top_k") if k in kwargs}
        if sampling:  # this SDK version no longer takes sampling arguments; the API still does
            kwargs["extra_body"] = sampling
        if tools:
            kwargs["tools"] = self.tools()
        if stream:
            with self.ant.messages.stream(**kwargs) as s:
                final = s.get_final_message()
        else:
            final = self.ant.messages.create(**kwargs)
        text = "".join(b.text for b in final.content if b.type == "text")
        calls = [(b.id, b.name, dict(b.input)) for b in final.content if b.type == "tool_use"]
        reasoning = "".join(b.thinking for b in final.content if b.type == "thinking")
        u = final.usage
        cached = u.cache_read_input_tokens or 0
        total = u.input_tokens + cached + (u.cache_creation_input_tokens or 0)
        return Reply(text, calls, total, cached, u.output_tokens, reasoning, final)
