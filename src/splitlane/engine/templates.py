"""Chat templates: the GGUF's own Jinja template when it has one, else the architecture's format."""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from splitlane.core.errors import InvalidRequest

ChatTurn = Mapping[str, str]


def _raise(message: str) -> None:
    raise TemplateError(message)


def render(metadata: Mapping[str, str], turns: list[ChatTurn]) -> str:
    template = metadata.get("tokenizer.chat_template")
    if template:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        try:
            return env.from_string(template).render(
                messages=turns,
                add_generation_prompt=True,
                bos_token="<bos>" if _is_gemma(metadata) else "",
                eos_token="",
            )
        except TemplateError as exc:
            raise InvalidRequest(f"the model's chat template rejected the conversation: {exc}") from exc
    if _is_gemma(metadata):
        return _gemma(turns)
    return _chatml(turns)


def _is_gemma(metadata: Mapping[str, str]) -> bool:
    return metadata.get("general.architecture", "").startswith("gemma")


def _gemma(turns: list[ChatTurn]) -> str:
    """Gemma's format: no system role; the system prompt opens the first user turn."""
    out = ["<bos>"]
    system = ""
    for turn in turns:
        if turn["role"] == "system":
            system = turn["content"]
            continue
        role = "model" if turn["role"] == "assistant" else "user"
        content = turn["content"]
        if system and role == "user":
            content, system = f"{system}\n\n{content}", ""
        out.append(f"<start_of_turn>{role}\n{content.strip()}<end_of_turn>\n")
    out.append("<start_of_turn>model\n")
    return "".join(out)


def _chatml(turns: list[ChatTurn]) -> str:
    body = "".join(f"<|im_start|>{t['role']}\n{t['content']}<|im_end|>\n" for t in turns)
    return body + "<|im_start|>assistant\n"
