"""``splitlane setup``: the client-side settings that point an agent at this gateway.

Each client reads a different file (docs/agents.md): Codex a ``config.toml`` model
provider (Responses wire API), Claude Code environment variables (here in its settings.json
``env`` block, with ``opusplan`` mapped to the plan and act lanes), OpenCode an ``opencode.json``
provider plus per-agent models, Cline its Plan and Act model settings (set in its UI).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

CLIENTS = ("codex", "claude-code", "cline", "opencode", "qwen-code")
PROVIDER_ID = "splitlane"


@dataclass(frozen=True, slots=True)
class FileChange:
    path: Path
    old: str
    new: str

    def diff(self) -> str:
        old, new = self.old.splitlines(keepends=True), self.new.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, f"{self.path} (now)", f"{self.path} (with splitlane)"))


@dataclass(frozen=True, slots=True)
class Setup:
    client: str
    files: tuple[FileChange, ...]  # empty: the client keeps its settings where we cannot write (Cline)
    instructions: str


def plan_setup(
    client: str, alias: str, url: str, key_env: str, home: Path, cwd: Path, served: Mapping[str, Any] | None = None
) -> Setup:
    """``served``: the alias's entry in the running gateway's ``/v1/models`` (its limits), if known."""
    base = url.rstrip("/").removesuffix("/v1")
    match client:
        case "codex":
            return _codex(alias, base, key_env, Path(os.environ.get("CODEX_HOME", home / ".codex")) / "config.toml")
        case "claude-code":
            return _claude(alias, base, key_env, home / ".claude" / "settings.json", served)
        case "opencode":
            return _opencode(alias, base, key_env, cwd / "opencode.json")
        case "cline":
            return _cline(alias, base, key_env)
        case "qwen-code":
            return _qwen(alias, base, key_env, home / ".qwen" / ".env")
    raise ValueError(f"unknown client {client!r}; one of {', '.join(CLIENTS)}")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _toml(path: Path, values: dict[str, Any]) -> FileChange:
    old = _read(path)
    doc = tomlkit.parse(old)
    for key, value in values.items():
        if isinstance(value, dict):
            table = doc.setdefault(key, tomlkit.table())
            for name, inner in value.items():
                sub = tomlkit.table()
                sub.update(inner)
                table[name] = sub
        else:
            doc[key] = value
    return FileChange(path, old, tomlkit.dumps(doc))


def codex_settings(alias: str, base: str, key_env: str) -> dict[str, Any]:
    """What Codex's config.toml gets (``splitlane launch codex`` passes the same as ``-c`` overrides)."""
    provider = {
        "name": "splitlane",
        "base_url": f"{base}/v1",
        "env_key": key_env,
        "wire_api": "responses",
        # Codex's Responses WebSocket: after the first turn it sends only the new items; a gateway
        # with websockets = false answers 426, on which Codex falls back to HTTP at once
        "supports_websockets": True,
    }
    return {
        "model": alias,  # no lane suffix: Codex's own Plan-mode markers pick the lane
        "model_provider": PROVIDER_ID,
        # Codex offers its hosted web_search tool by default, which only an OpenAI Responses
        # upstream can run; any other upstream refuses it (400, upstream setting `unsupported`)
        "web_search": "disabled",
        "model_providers": {PROVIDER_ID: provider},
    }


def _codex(alias: str, base: str, key_env: str, path: Path) -> Setup:
    main = _toml(path, codex_settings(alias, base, key_env))
    # Codex reads a profile from <CODEX_HOME>/<name>.config.toml (0.169: [profiles.*] tables are refused)
    profiles = [
        _toml(
            path.parent / f"splitlane-{lane}.config.toml", {"model": f"{alias}:{lane}", "model_provider": PROVIDER_ID}
        )
        for lane in ("plan", "act")
    ]
    how = (
        f"export {key_env}=<a splitlane key, or anything while keys are off>\n"
        "codex                              # execution lane\n"
        "codex --profile splitlane-plan     # planning lane (Plan mode markers are routed too)"
    )
    return Setup("codex", (main, *profiles), how)


def _json_merge(path: Path, update: dict[str, Any]) -> FileChange:
    old = _read(path)
    data: dict[str, Any] = json.loads(old) if old.strip() else {}
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return FileChange(path, old, json.dumps(data, indent=2) + "\n")


def claude_env(alias: str, base: str, served: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The environment Claude Code reads (its settings.json ``env`` block, or ``splitlane launch``'s);
    with the gateway's word on the alias (``served``), its limits: Claude Code knows no context
    window for a name it does not recognise and assumes 200K, so it would not compact before a
    smaller upstream refuses the prompt; and tool search off unless every lane is Anthropic's."""
    limits = {}
    if served is not None:
        if served.get("context_window"):
            window = str(served["context_window"])
            # the model's window (2.1.2xx on), and the window auto-compaction keeps under (2.1.167 on)
            limits["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] = window
            limits["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] = window
        if served.get("max_output_tokens"):
            limits["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(served["max_output_tokens"])
        if served.get("tool_search") is False:
            limits["ENABLE_TOOL_SEARCH"] = "false"  # deferred tools reach such upstreams inline
    return {
        "ANTHROPIC_BASE_URL": base,
        "ANTHROPIC_MODEL": "opusplan",  # plan mode asks for the "opus" model, the rest for "sonnet"
        "ANTHROPIC_DEFAULT_OPUS_MODEL": f"{alias}:plan",
        "ANTHROPIC_DEFAULT_SONNET_MODEL": f"{alias}:act",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": f"{alias}:background",
        "ANTHROPIC_SMALL_FAST_MODEL": f"{alias}:background",  # older versions
        "CLAUDE_CODE_SUBAGENT_MODEL": f"{alias}:act",
        **limits,
    }


def _claude(alias: str, base: str, key_env: str, path: Path, served: Mapping[str, Any] | None) -> Setup:
    how = (
        f"export ANTHROPIC_AUTH_TOKEN=${key_env}   # or ANTHROPIC_API_KEY; anything while keys are off\n"
        "claude                               # plan mode goes to the plan lane, the rest to act"
    )
    if served is None:
        how += "\n(no gateway answered: start it and run setup again to add its context window and limits)"
    return Setup("claude-code", (_json_merge(path, {"env": claude_env(alias, base, served)}),), how)


def opencode_settings(alias: str, base: str, key_env: str) -> dict[str, Any]:
    """What opencode.json gets (``splitlane launch opencode``: a temporary file named by OPENCODE_CONFIG)."""
    models = {f"{alias}:{lane}": {"name": f"{alias} ({lane})"} for lane in ("plan", "act", "background")}
    return {
        "$schema": "https://opencode.ai/config.json",
        "model": f"{PROVIDER_ID}/{alias}:act",
        "small_model": f"{PROVIDER_ID}/{alias}:background",
        "provider": {
            PROVIDER_ID: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "splitlane",
                "options": {"baseURL": f"{base}/v1", "apiKey": f"{{env:{key_env}}}"},
                "models": models,
            }
        },
        "agent": {"plan": {"model": f"{PROVIDER_ID}/{alias}:plan"}, "build": {"model": f"{PROVIDER_ID}/{alias}:act"}},
    }


def _opencode(alias: str, base: str, key_env: str, path: Path) -> Setup:
    update = opencode_settings(alias, base, key_env)
    return Setup(
        "opencode", (_json_merge(path, update),), "opencode        # Tab switches plan/build; each has its own lane"
    )


def qwen_env(alias: str, base: str) -> dict[str, str]:
    """What Qwen Code reads for an OpenAI-compatible provider (its environment, or ~/.qwen/.env)."""
    return {"OPENAI_BASE_URL": f"{base}/v1", "OPENAI_MODEL": alias}


def _qwen(alias: str, base: str, key_env: str, path: Path) -> Setup:
    """~/.qwen/.env, its other lines kept; the key stays in the environment (a variable set there
    wins over the file's), so the file holds only a placeholder for it."""
    old = _read(path)
    values = {**qwen_env(alias, base), "OPENAI_API_KEY": "splitlane"}
    kept = [line for line in old.splitlines() if line.split("=", 1)[0].strip() not in values]
    new = "\n".join([*kept, *(f"{k}={v}" for k, v in values.items())]) + "\n"
    how = f"export OPENAI_API_KEY=${key_env}   # when gateway keys are on\nqwen"
    return Setup("qwen-code", (FileChange(path, old, new),), how)


def _cline(alias: str, base: str, key_env: str) -> Setup:
    text = (
        "Cline keeps these in its settings panel (VS Code extension state), so splitlane cannot write them:\n"
        "  API Provider:  OpenAI Compatible\n"
        f"  Base URL:      {base}/v1\n"
        f"  API Key:       the value of ${key_env} (anything while keys are off)\n"
        "  [x] Use different models for Plan and Act modes\n"
        f"  Plan Mode model ID:  {alias}:plan\n"
        f"  Act Mode model ID:   {alias}:act\n"
    )
    return Setup("cline", (), text + "Cline's own PLAN/ACT MODE markers are routed too, with one model id.")
