"""``splitlane launch codex|claude|opencode|qwen [--alias A] [-- client args]``: the agent started
against the gateway with the settings ``splitlane setup`` would write, given as the client's own
overrides instead of edits to the user's files: Codex ``-c key=value`` flags, Claude Code and Qwen
Code environment variables, OpenCode a temporary config file named by ``OPENCODE_CONFIG`` (merged
over the user's).

Where no gateway answers at ``--url``, one is started (``splitlane serve``, with ``--config``) for
the client's lifetime and stopped when it exits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit

from splitlane.bench.processes import start_process, wait_ready
from splitlane.cli.served import served_models
from splitlane.cli.setup import claude_env, codex_settings, opencode_settings, qwen_env

CLIENTS = {"codex": "codex", "claude": "claude", "opencode": "opencode", "qwen": "qwen"}
PLACEHOLDER_KEY = "splitlane"  # what the client sends while the gateway's keys are off


@dataclass(frozen=True, slots=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    files: dict[Path, str] = field(default_factory=dict)  # written before the client starts


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table.as_string()
    return str(tomlkit.item(value).as_string())


def codex_overrides(settings: Mapping[str, Any]) -> list[str]:
    """``-c`` flags for Codex: one per top-level key, a table per provider as an inline table."""
    flags: list[str] = []
    for key, value in settings.items():
        if key == "model_providers":
            for name, provider in value.items():
                flags += ["-c", f"model_providers.{name}={_toml_value(provider)}"]
        else:
            flags += ["-c", f"{key}={_toml_value(value)}"]
    return flags


def plan_launch(
    client: str,
    alias: str,
    url: str,
    key_env: str,
    args: Sequence[str],
    environ: Mapping[str, str],
    workdir: Path,
    served: Mapping[str, Any] | None = None,
) -> Launch:
    """The client's command line, environment and any file it reads, pointed at ``url`` (``served``:
    the gateway's ``/v1/models`` entry of the alias)."""
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}; one of {', '.join(CLIENTS)}")
    base = url.rstrip("/").removesuffix("/v1")
    key = environ.get(key_env) or PLACEHOLDER_KEY
    env = {**environ, key_env: key}
    command = environ.get(f"SPLITLANE_{client.upper()}_BIN", CLIENTS[client])
    match client:
        case "codex":
            return Launch([command, *codex_overrides(codex_settings(alias, base, key_env)), *args], env)
        case "claude":
            env.pop("ANTHROPIC_API_KEY", None)  # the user's Anthropic key is not for the gateway
            return Launch([command, *args], {**env, **claude_env(alias, base, served), "ANTHROPIC_AUTH_TOKEN": key})
        case "opencode":
            config = workdir / "opencode.json"
            env["OPENCODE_CONFIG"] = str(config)
            return Launch([command, *args], env, {config: json.dumps(opencode_settings(alias, base, key_env))})
        case "qwen":
            return Launch([command, *args], {**env, **qwen_env(alias, base), "OPENAI_API_KEY": key})
    raise AssertionError(client)


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/").removesuffix("/v1") + "/health", timeout=1.0) as answer:
            return bool(answer.status == 200)
    except (OSError, ValueError):
        return False


@contextmanager
def gateway(url: str, config: Path | None, workdir: Path, say: Any) -> Iterator[None]:
    """The gateway at ``url``: the one answering there, or one started for the client's lifetime."""
    if answering(url):
        yield
        return
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8080
    argv = [sys.executable, "-m", "splitlane", "serve", "--host", host, "--port", str(port)]
    if config is not None:
        argv += ["--config", str(config)]
    log = workdir / "serve.log"
    say(f"no gateway at {url}: starting splitlane serve (log: {log})")
    with start_process(argv, log) as proc:
        wait_ready("splitlane serve", f"http://{host}:{port}/health", proc, log, timeout_s=180)
        yield


def run_client(launch: Launch) -> int:
    """Run the client in the foreground; Ctrl-C is the client's to handle, not ours."""
    for path, text in launch.files.items():
        path.write_text(text, encoding="utf-8")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(launch.argv, env=launch.env)
    except FileNotFoundError:
        hint = "install it, or name it with SPLITLANE_<CLIENT>_BIN"
        raise SystemExit(f"error: {launch.argv[0]} not found on PATH ({hint})") from None
    finally:
        signal.signal(signal.SIGINT, previous)


def launch(client: str, alias: str, url: str, key_env: str, config: Path | None, args: Sequence[str], say: Any) -> int:
    with tempfile.TemporaryDirectory(prefix="splitlane-launch-") as tmp:
        workdir = Path(tmp)
        with gateway(url, config, workdir, say):
            served = served_models(url, os.environ.get(key_env))
            if served is not None and alias not in served:
                say(f"warning: the gateway at {url} serves no alias {alias!r} ({', '.join(served) or 'none'})")
            entry = (served or {}).get(alias)
            return run_client(plan_launch(client, alias, url, key_env, args, dict(os.environ), workdir, entry))
