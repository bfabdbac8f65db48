"""``splitlane bench quality``: fixed prompts through each packaged model, replies kept for a person.

A benchmark, not a test: 20 prompts (coding questions, forced and free tool calls, short
instructions) run through the embedded engine exactly as the gateway runs them (``LocalUpstream``:
the model's chat template, the tool prompt, the forced-call grammar), at each model's own default
sampling with one seed. Each reply gets a rough check — an expected word or the right tool — that
counts, but a person reads the replies (``quality.md``) to judge them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from splitlane.config import UpstreamConfig
from splitlane.core.events import BlockKind, BlockStart, Finish, TextDelta, ToolArgsDelta
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest, Sampling, ToolChoice, ToolChoiceMode, ToolSpec
from splitlane.engine.models import MODELS
from splitlane.upstream.local.adapter import LocalUpstream

WEATHER = ToolSpec(
    "get_weather",
    "The current weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
READ_FILE = ToolSpec(
    "read_file",
    "Read a file of the repository.",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
SHELL = ToolSpec(
    "shell",
    "Run a shell command and return its output.",
    {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
)


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    kind: str  # code | tool | instruction
    text: str
    expect: tuple[str, ...] = ()  # a reply passes the rough check with any of these (case-insensitive)
    tools: tuple[ToolSpec, ...] = ()
    forced: bool = False
    tool: str | None = None  # the call a tool prompt expects


CODE, TOOL, SAY = "code", "tool", "instruction"
PROMPTS: tuple[Prompt, ...] = (
    Prompt("reverse", CODE, "Write a Python function that reverses a string.", ("[::-1]", "reversed(")),
    Prompt("even", CODE, "Write a Python function is_even(n) that returns True when n is even.", ("% 2",)),
    Prompt("sum-list", CODE, "Write a Python function that returns the sum of a list of numbers.", ("sum(", "+=")),
    Prompt("fizzbuzz", CODE, "Write FizzBuzz in Python for the numbers 1 to 15.", ("fizz",)),
    Prompt("max", CODE, "In Python, how do I find the largest number in a list?", ("max(",)),
    Prompt("read-file", CODE, "How do I read a text file line by line in Python?", ("open(",)),
    Prompt("git-branch", CODE, "Which git command creates a new branch and switches to it?",
           ("checkout -b", "switch -c")),
    Prompt("list-files", CODE, "Which shell command lists all files in a folder, hidden ones included?", ("ls -a",)),
    Prompt("bug", CODE, "Fix the bug: def add(a, b): return a - b", ("a + b",)),
    Prompt("explain", CODE, "What does this Python line do? print(len('hello'))", ("5", "length")),
    Prompt("sql", CODE, "Write an SQL query that selects every row of the table users.", ("select *",)),
    Prompt("json", CODE, "How do I turn a Python dict into a JSON string?", ("json.dumps",)),
    Prompt("weather-forced", TOOL, "What is the weather in Paris?", tools=(WEATHER,), forced=True, tool="get_weather"),
    Prompt("read-forced", TOOL, "Show me the file README.md.", tools=(READ_FILE, SHELL), forced=True,
           tool="read_file"),
    Prompt("shell-forced", TOOL, "Run the tests with pytest.", tools=(READ_FILE, SHELL), forced=True, tool="shell"),
    Prompt("weather-auto", TOOL, "What is the weather in Tokyo right now?", tools=(WEATHER,), tool="get_weather"),
    Prompt("capital", SAY, "What is the capital of France? Answer in one word.", ("paris",)),
    Prompt("translate", SAY, "Translate 'good morning' into Spanish.", ("buenos",)),
    Prompt("list", SAY, "Name three primary colours, as a list.", ("red", "blue", "yellow")),
    Prompt("haiku", SAY, "Write a haiku about the sea.", ("sea", "wave", "ocean")),
)  # fmt: skip


@dataclass(slots=True)
class Reply:
    model: str
    prompt: str
    text: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # (name, arguments)
    output_tokens: int = 0
    seconds: float = 0.0
    decode_s: float = 0.0
    passed: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "text": self.text,
            "calls": [{"name": n, "arguments": a} for n, a in self.calls],
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 3),
            "decode_tps": round(self.output_tokens / self.decode_s, 1) if self.decode_s else None,
            "passed": self.passed,
        }


def request(prompt: Prompt, max_tokens: int, seed: int) -> ChatRequest:
    choice = ToolChoice(ToolChoiceMode.REQUIRED if prompt.forced else ToolChoiceMode.AUTO)
    return ChatRequest(
        model="local",
        messages=(Message(Role.USER, (TextPart(prompt.text),)),),
        tools=prompt.tools,
        tool_choice=choice,
        sampling=Sampling(seed=seed),
        max_output_tokens=max_tokens,
    )


def check(prompt: Prompt, reply: Reply) -> bool:
    """The rough check: the expected call for a tool prompt, else any expected word."""
    if prompt.tool is not None:
        return any(name == prompt.tool for name, _ in reply.calls)
    return any(word.lower() in reply.text.lower() for word in prompt.expect)


async def ask(upstream: LocalUpstream, model: str, prompt: Prompt, max_tokens: int, seed: int) -> Reply:
    reply = Reply(model, prompt.id)
    names: dict[int, str] = {}
    args: dict[int, list[str]] = {}
    start = time.perf_counter()
    async for event in upstream.stream(request(prompt, max_tokens, seed)):
        match event:
            case TextDelta(text=text):
                reply.text += text
            case BlockStart(index=index, kind=BlockKind.TOOL_CALL, tool_name=name):
                names[index], args[index] = name, []
            case ToolArgsDelta(index=index, json=piece):
                args[index].append(piece)
            case Finish(usage=usage, engine=engine):
                reply.output_tokens = usage.output_tokens
                reply.decode_s = engine.decode_s if engine else 0.0
    reply.seconds = time.perf_counter() - start
    reply.calls = [(names[i], "".join(args[i])) for i in sorted(names)]
    reply.passed = check(prompt, reply)
    return reply


async def run(
    models: Sequence[str],
    max_tokens: int,
    seed: int,
    n_threads: int | None,
    tick: Callable[[str], None],
    prompts: Sequence[Prompt] = PROMPTS,
) -> list[Reply]:
    replies: list[Reply] = []
    for model in models:
        upstream = LocalUpstream(model, UpstreamConfig(kind="local", model=model, n_ctx=2048, n_threads=n_threads))
        try:
            for prompt in prompts:
                tick(f"{model}: {prompt.id}")
                replies.append(await ask(upstream, model, prompt, max_tokens, seed))
        finally:
            await upstream.aclose()
    return replies


def markdown(replies: Sequence[Reply], models: Sequence[str], prompts: Sequence[Prompt] = PROMPTS) -> str:
    by = {(r.model, r.prompt): r for r in replies}
    lines = [
        "# Embedded models: replies to 20 fixed prompts",
        "",
        "Written by `splitlane bench quality` (each model's default sampling, one seed). The check",
        "column is rough (an expected word, or the expected tool called); read the replies.",
        "",
        "| model | checks passed | mean output tokens | mean decode tok/s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for model in models:
        mine = [r for r in replies if r.model == model]
        decode = [r.output_tokens / r.decode_s for r in mine if r.decode_s]
        lines.append(
            f"| {MODELS[model].title if model in MODELS else model} | {sum(r.passed for r in mine)} / {len(mine)} "
            f"| {sum(r.output_tokens for r in mine) / max(len(mine), 1):.0f} "
            f"| {sum(decode) / max(len(decode), 1):.1f} |"
        )
    for prompt in prompts:
        lines += ["", f"## {prompt.id} ({prompt.kind})", "", f"> {prompt.text}", ""]
        for model in models:
            reply = by.get((model, prompt.id))
            if reply is None:
                continue
            mark = "✓" if reply.passed else "✗"
            lines += [f"**{model}** {mark} ({reply.output_tokens} tokens, {reply.seconds:.1f} s)", ""]
            body = reply.text.strip()
            body += "".join(f"\n[call] {name}({arguments})" for name, arguments in reply.calls)
            lines += ["````text", body or "(empty)", "````", ""]  # a four-backtick fence holds the reply's own
    return "\n".join(lines).rstrip() + "\n"
