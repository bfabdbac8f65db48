"""A labelled corpus of agent requests (body + headers), built from the client markers in
../shared/PROTOCOLS.md §4: Codex, Claude Code, Cline (legacy and SDK), OpenCode and plain SDK calls.

A case is a short session: its steps go through one planner in order, so tool-result
continuations that carry no marker are judged on the session state earlier steps left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PLAN, ACT, BG = "plan", "act", "background"

CONFIG = {
    "upstreams": {
        "frontier": {"kind": "anthropic", "base_url": "http://127.0.0.1:9"},
        "fast": {"kind": "openai_chat", "base_url": "http://127.0.0.1:9/v1"},
    },
    "models": {
        "coder": {
            "lanes": {
                "plan": "frontier/claude-sonnet-4-5",
                "act": "fast/MiniMax-M2.5",
                "background": "fast/MiniMax-M2.5",
            }
        },
        "coder-plan": {"alias": "coder", "lane": "plan"},  # Cline Plan model / OpenCode agent.plan.model
        "coder-act": {"alias": "coder", "lane": "act"},
        "claude-opus-4-5": {"alias": "coder", "lane": "plan"},  # Claude Code opusplan: ANTHROPIC_DEFAULT_OPUS_MODEL
        "claude-sonnet-4-5": {"alias": "coder", "lane": "act"},  # ... and ANTHROPIC_DEFAULT_SONNET_MODEL
        "small-helper": {"upstream": "fast", "model": "MiniMax-M2.5"},
    },
    "rules": [
        {"name": "research team plans", "header": "x-team: research", "lane": "plan"},
        {"name": "/plan command", "text": "/plan ", "lane": "plan"},
    ],
}


@dataclass
class Step:
    body: dict[str, Any]
    lane: str
    headers: dict[str, str] = field(default_factory=dict)
    explicit: bool = False


@dataclass
class Case:
    client: str
    name: str
    surface: str
    steps: list[Step]


TOOLS_CHAT = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
TOOLS_RESP = [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]
TOOLS_ANT = [
    {"name": "Bash", "input_schema": {"type": "object"}},
    {"name": "ExitPlanMode", "input_schema": {"type": "object"}},
]
CODEX_PLAN = "<collaboration_mode># Plan Mode (Conversational)\nYou work in 3 phases...</collaboration_mode>"
CODEX_PLAN_OLD = "<collaboration_mode># Collaboration Mode: Plan\nPlan first.</collaboration_mode>"
CODEX_DEFAULT = (
    "<collaboration_mode># Collaboration Mode: Default\nKnown mode names are Default and Plan.</collaboration_mode>"
)
CC_PLAN = (
    "<system-reminder>\nPlan mode is active. The user indicated that they do not want you to execute yet -- "
    "you MUST NOT make any edits\n## Plan File Info:\nNo plan file exists yet.\n## Plan Workflow\n..."
    "</system-reminder>"
)
CC_EXIT = (
    "<system-reminder>\n## Exited Plan Mode\nYou have exited plan mode. You can now make edits, run tools, "
    "and take actions.</system-reminder>"
)
CC_REENTER = "<system-reminder>\n## Re-entering Plan Mode\nYou are returning to plan mode...</system-reminder>"
CC_SYSTEM = "You are Claude Code, Anthropic's official CLI for Claude."
CLINE_SYSTEM = "You are Cline, a highly skilled software engineer...\n====\nACT MODE V.S. PLAN MODE\n..."
CLINE_ENV = (
    "<environment_details>\n# Current Working Directory\n/repo\n\n# Current Mode\n{mode}\n{extra}</environment_details>"
)
CLINE_PLAN_TEXT = (
    "In this mode you should focus on information gathering, asking questions, and architecting a solution."
)
CLINE_SDK_SYSTEM = "You are Cline, an AI coding agent.\n\n# Plan / Act Modes\n..."
OC_PLAN = (
    "<system-reminder>\n# Plan Mode - System Reminder\nCRITICAL: Plan mode ACTIVE - you are in READ-ONLY "
    "phase.</system-reminder>"
)
OC_PLAN_EXPERIMENTAL = (
    "<system-reminder>Plan mode is active. You MUST NOT make any edits (except to the plan "
    "file below)</system-reminder>"
)
OC_BUILD = "<system-reminder>Your operational mode has changed from plan to build.</system-reminder>"


def codex(*items: dict[str, Any], model: str = "coder", tools: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "instructions": "You are Codex, a coding agent.",
        "input": list(items),
        "stream": True,
        "store": False,
        "tool_choice": "auto",
        "prompt_cache_key": "conv-1",
    }
    if tools:
        body["tools"] = TOOLS_RESP
    return body


def dev(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


CODEX_CALL = [
    {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": '{"cmd":"ls"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "a.py b.py"},
]
CODEX_H = {"session_id": "codex-1", "originator": "codex_cli_rs"}


def claude(
    *messages: dict[str, Any], model: str = "coder", tools: bool = True, system: str = CC_SYSTEM
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 32000,
        "stream": True,
        "messages": list(messages),
        "system": [{"type": "text", "text": system}],
    }
    if tools:
        body["tools"] = TOOLS_ANT
    return body


def cu(*texts: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": t} for t in texts]}


def ca_tool(call_id: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": call_id, "name": "Bash", "input": {"command": "ls"}}],
    }


def cresult(call_id: str, text: str = "a.py") -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": text}]}


CC_H = {"x-claude-code-session-id": "cc-1", "anthropic-version": "2023-06-01", "x-app": "cli"}


def chat(
    *messages: dict[str, Any], model: str = "coder", system: str | None = None, tools: bool = True
) -> dict[str, Any]:
    msgs = ([{"role": "system", "content": system}] if system else []) + list(messages)
    body: dict[str, Any] = {"model": model, "messages": msgs, "stream": True, "stream_options": {"include_usage": True}}
    if tools:
        body |= {"tools": TOOLS_CHAT, "tool_choice": "auto", "parallel_tool_calls": False}
    return body


def mu(*texts: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": t} for t in texts]}


def cline_env(mode: str) -> str:
    return CLINE_ENV.format(mode=mode, extra=CLINE_PLAN_TEXT + "\n" if mode == "PLAN MODE" else "")


CHAT_CALL = [
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "bash", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "call_9", "content": "ok"},
]
OC_H = {"x-session-affinity": "oc-1", "user-agent": "opencode/1.18.2"}


CASES: list[Case] = [
    # ---------------------------------------------------------------- Codex (Responses)
    Case("codex", "plan mode", "responses", [Step(codex(dev(CODEX_PLAN), user("Refactor the parser")), PLAN, CODEX_H)]),
    Case(
        "codex",
        "older plan heading",
        "responses",
        [Step(codex(dev(CODEX_PLAN_OLD), user("Refactor the parser")), PLAN, CODEX_H)],
    ),
    Case(
        "codex",
        "default mode",
        "responses",
        [Step(codex(dev(CODEX_DEFAULT), user("Fix the failing test")), ACT, CODEX_H)],
    ),
    Case(
        "codex",
        "plan then default: last block wins",
        "responses",
        [Step(codex(dev(CODEX_PLAN), user("plan it"), dev(CODEX_DEFAULT), user("now do it")), ACT, CODEX_H)],
    ),
    Case(
        "codex",
        "default then plan",
        "responses",
        [Step(codex(dev(CODEX_DEFAULT), user("hi"), dev(CODEX_PLAN), user("let's plan")), PLAN, CODEX_H)],
    ),
    Case(
        "codex",
        "tool result in plan mode",
        "responses",
        [Step(codex(dev(CODEX_PLAN), user("Look around"), *CODEX_CALL), PLAN, CODEX_H)],
    ),
    Case(
        "codex",
        "compaction subagent",
        "responses",
        [Step(codex(user("Summarize"), tools=False), BG, {**CODEX_H, "x-openai-subagent": "compact"})],
    ),
    Case(
        "codex",
        "review subagent",
        "responses",
        [Step(codex(user("Review this diff")), BG, {**CODEX_H, "x-openai-subagent": "review"})],
    ),
    Case("codex", "no mode marker", "responses", [Step(codex(user("Add a flag")), ACT, CODEX_H)]),
    Case(
        "codex",
        "lane-specific alias",
        "responses",
        [Step(codex(user("Add a flag"), model="coder:plan"), PLAN, CODEX_H, explicit=True)],
    ),
    Case(
        "codex",
        "lane header",
        "responses",
        [Step(codex(dev(CODEX_PLAN), user("x")), BG, {**CODEX_H, "x-splitlane-lane": "background"}, explicit=True)],
    ),
    # ---------------------------------------------------------------- Claude Code (Messages)
    Case("claude-code", "plan mode reminder", "messages", [Step(claude(cu("Design the cache", CC_PLAN)), PLAN, CC_H)]),
    Case(
        "claude-code",
        "exited plan mode",
        "messages",
        [
            Step(
                claude(cu("Design", CC_PLAN), {"role": "assistant", "content": "Plan: ..."}, cu("go", CC_EXIT)),
                ACT,
                CC_H,
            )
        ],
    ),
    Case(
        "claude-code",
        "plan approved via ExitPlanMode",
        "messages",
        [
            Step(
                claude(
                    cu("Design", CC_PLAN),
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "toolu_p", "name": "ExitPlanMode", "input": {"plan": "..."}}
                        ],
                    },
                    cresult("toolu_p", "User has approved your plan. You can now start coding."),
                ),
                ACT,
                CC_H,
            )
        ],
    ),
    Case(
        "claude-code",
        "re-entering plan mode",
        "messages",
        [Step(claude(cu("a", CC_EXIT), {"role": "assistant", "content": "done"}, cu("hmm", CC_REENTER)), PLAN, CC_H)],
    ),
    Case(
        "claude-code",
        "tool-result continuation without reminder",
        "messages",
        [
            Step(claude(cu("Explore the repo", CC_PLAN)), PLAN, CC_H),
            Step(claude(cu("Explore the repo"), ca_tool("toolu_1"), cresult("toolu_1")), PLAN, CC_H),
            Step(
                claude(
                    cu("Explore the repo"),
                    ca_tool("toolu_1"),
                    cresult("toolu_1"),
                    ca_tool("toolu_2"),
                    cresult("toolu_2"),
                ),
                PLAN,
                CC_H,
            ),
        ],
    ),
    Case(
        "claude-code",
        "execution continues after exit",
        "messages",
        [
            Step(claude(cu("Implement", CC_EXIT)), ACT, {**CC_H, "x-claude-code-session-id": "cc-2"}),
            Step(
                claude(cu("Implement"), ca_tool("toolu_3"), cresult("toolu_3")),
                ACT,
                {**CC_H, "x-claude-code-session-id": "cc-2"},
            ),
        ],
    ),
    Case(
        "claude-code",
        "opusplan: opus model in plan mode",
        "messages",
        [Step(claude(cu("Design", CC_PLAN), model="claude-opus-4-5"), PLAN, CC_H, explicit=True)],
    ),
    Case(
        "claude-code",
        "opusplan: sonnet model outside plan mode",
        "messages",
        [Step(claude(cu("Implement"), model="claude-sonnet-4-5"), ACT, CC_H, explicit=True)],
    ),
    Case(
        "claude-code",
        "warmup on the small model",
        "messages",
        [Step(claude(cu("Warmup"), model="small-helper", tools=False), BG, CC_H)],
    ),
    Case(
        "claude-code",
        "session title",
        "messages",
        [Step(claude(cu("Please write a 5-10 word title for the following conversation: ..."), tools=False), BG, CC_H)],
    ),
    Case(
        "claude-code",
        "subagent with tools",
        "messages",
        [
            Step(
                claude(
                    cu("Find the config loader"),
                    system="You are an agent for Claude Code, Anthropic's official CLI for Claude.",
                ),
                ACT,
                {**CC_H, "x-claude-code-session-id": "cc-sub"},
            )
        ],
    ),
    Case(
        "claude-code",
        "session from metadata.user_id",
        "messages",
        [
            Step(
                claude(cu("Plan the refactor", CC_PLAN))
                | {"metadata": {"user_id": "user_ab12_account__session_5f0c2a9e-1111-2222-3333-444455556666"}},
                PLAN,
                {},
            ),
            Step(
                claude(cu("Plan the refactor"), ca_tool("toolu_4"), cresult("toolu_4"))
                | {"metadata": {"user_id": "user_ab12_account__session_5f0c2a9e-1111-2222-3333-444455556666"}},
                PLAN,
                {},
            ),
        ],
    ),
    # ---------------------------------------------------------------- Cline legacy (Chat)
    Case(
        "cline",
        "legacy PLAN MODE",
        "chat",
        [Step(chat(mu("<task>Add caching</task>", cline_env("PLAN MODE")), system=CLINE_SYSTEM), PLAN)],
    ),
    Case(
        "cline",
        "legacy ACT MODE",
        "chat",
        [Step(chat(mu("<task>Add caching</task>", cline_env("ACT MODE")), system=CLINE_SYSTEM), ACT)],
    ),
    Case(
        "cline",
        "legacy tool results then ACT MODE",
        "chat",
        [
            Step(
                chat(
                    mu("<task>Add caching</task>", cline_env("PLAN MODE")),
                    *CHAT_CALL,
                    mu("[bash] Result: ok", cline_env("ACT MODE")),
                    system=CLINE_SYSTEM,
                ),
                ACT,
            )
        ],
    ),
    Case(
        "cline",
        "legacy plan answered by tool result",
        "chat",
        [
            Step(
                chat(
                    mu("<task>Why is it slow?</task>", cline_env("PLAN MODE")),
                    *CHAT_CALL,
                    mu("[bash] Result: ok", cline_env("PLAN MODE")),
                    system=CLINE_SYSTEM,
                ),
                PLAN,
            )
        ],
    ),
    Case(
        "cline",
        "separate Plan model",
        "chat",
        [
            Step(
                chat(mu("<task>x</task>", cline_env("PLAN MODE")), model="coder-plan", system=CLINE_SYSTEM),
                PLAN,
                explicit=True,
            )
        ],
    ),
    Case(
        "cline",
        "separate Act model",
        "chat",
        [
            Step(
                chat(mu("<task>x</task>", cline_env("ACT MODE")), model="coder-act", system=CLINE_SYSTEM),
                ACT,
                explicit=True,
            )
        ],
    ),
    # ---------------------------------------------------------------- Cline SDK (Chat)
    Case(
        "cline-sdk",
        "user_input mode=plan",
        "chat",
        [
            Step(
                chat(
                    mu('<user_input mode="plan">How should we add auth?</user_input>'),
                    system=CLINE_SDK_SYSTEM + "\n\n# Plan Mode\nYou are in Plan mode.",
                ),
                PLAN,
            )
        ],
    ),
    Case(
        "cline-sdk",
        "user_input mode=act",
        "chat",
        [Step(chat(mu('<user_input mode="act">Add auth</user_input>'), system=CLINE_SDK_SYSTEM), ACT)],
    ),
    Case(
        "cline-sdk",
        "mode notice plan->act",
        "chat",
        [
            Step(
                chat(
                    mu('<user_input mode="plan">design</user_input>'),
                    {"role": "assistant", "content": "Plan..."},
                    mu(
                        "<mode_notice>The user switched from plan mode to act mode before sending this message."
                        "</mode_notice>"
                        '<user_input mode="act">go ahead</user_input>'
                    ),
                    system=CLINE_SDK_SYSTEM,
                ),
                ACT,
            )
        ],
    ),
    Case(
        "cline-sdk",
        "plan mode only in the system prompt",
        "chat",
        [
            Step(
                chat(
                    mu("What does this module do?"),
                    *CHAT_CALL,
                    system=CLINE_SDK_SYSTEM + "\n\n# Plan Mode\nYou are in Plan mode.",
                ),
                PLAN,
            )
        ],
    ),
    Case(
        "cline-sdk",
        "yolo",
        "chat",
        [Step(chat(mu('<user_input mode="yolo">ship it</user_input>'), system=CLINE_SDK_SYSTEM), ACT)],
    ),
    # ---------------------------------------------------------------- OpenCode (Chat)
    Case(
        "opencode",
        "plan reminder",
        "chat",
        [Step(chat(mu("How is routing done?", OC_PLAN), system="You are opencode."), PLAN, OC_H)],
    ),
    Case(
        "opencode",
        "experimental plan mode",
        "chat",
        [Step(chat(mu("Plan the auth change", OC_PLAN_EXPERIMENTAL), system="You are opencode."), PLAN, OC_H)],
    ),
    Case(
        "opencode",
        "switch to build",
        "chat",
        [
            Step(
                chat(
                    mu("How?", OC_PLAN),
                    {"role": "assistant", "content": "Plan..."},
                    mu("Do it", OC_BUILD),
                    system="You are opencode.",
                ),
                ACT,
                OC_H,
            )
        ],
    ),
    Case(
        "opencode",
        "title generation",
        "chat",
        [Step(chat(mu("Generate a title for this conversation:\nHow is routing done?"), tools=False), BG, OC_H)],
    ),
    Case(
        "opencode",
        "agent.plan.model",
        "chat",
        [Step(chat(mu("How is routing done?"), model="coder-plan", system="You are opencode."), PLAN, OC_H, True)],
    ),
    Case(
        "opencode",
        "plan continuation without reminder",
        "chat",
        [
            Step(
                chat(mu("Investigate the bug", OC_PLAN), system="You are opencode."),
                PLAN,
                {**OC_H, "x-session-affinity": "oc-2"},
            ),
            Step(
                chat(mu("Investigate the bug"), *CHAT_CALL, system="You are opencode."),
                PLAN,
                {**OC_H, "x-session-affinity": "oc-2"},
            ),
        ],
    ),
    # ---------------------------------------------------------------- plain SDK calls
    Case("sdk", "plain chat", "chat", [Step(chat(mu("What is 2+2?"), tools=False), ACT)]),
    Case(
        "sdk",
        "plain responses",
        "responses",
        [Step({"model": "coder", "input": "Write a function that reverses a list."}, ACT)],
    ),
    Case(
        "sdk",
        "plain messages with tools",
        "messages",
        [Step(claude(cu("List the files"), system="You are a helpful assistant."), ACT)],
    ),
    Case(
        "sdk",
        "user rule on a header",
        "chat",
        [Step(chat(mu("Write the design doc"), tools=False), PLAN, {"x-team": "research"})],
    ),
    Case("sdk", "user rule on text", "chat", [Step(chat(mu("/plan the migration to v2")), PLAN)]),
]
