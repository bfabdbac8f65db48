"""``splitlane launch``: each client's command line and environment carry what ``splitlane setup``
would write, so nothing of the user's is edited (the real CLIs run it in tests/agents)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from splitlane.cli.launch import answering, codex_overrides, plan_launch
from splitlane.cli.setup import claude_env, codex_settings, opencode_settings

URL = "http://127.0.0.1:9911"


def test_codex_gets_the_setup_settings_as_overrides(tmp_path: Path) -> None:
    launch = plan_launch("codex", "coder", URL, "SPLITLANE_API_KEY", ["exec", "hi"], {"PATH": "/bin"}, tmp_path)
    assert launch.argv[0] == "codex"
    assert launch.argv[-2:] == ["exec", "hi"]
    flags = launch.argv[1:-2]
    assert flags[::2] == ["-c"] * (len(flags) // 2)
    merged: dict[str, object] = {}
    for override in flags[1::2]:  # each one TOML, as Codex parses it
        key, _, value = override.partition("=")
        parsed = tomllib.loads(f"v = {value}")["v"]
        if key.startswith("model_providers."):
            merged.setdefault("model_providers", {})[key.split(".", 1)[1]] = parsed  # type: ignore[union-attr]
        else:
            merged[key] = parsed
    assert merged == codex_settings("coder", URL, "SPLITLANE_API_KEY")
    assert launch.env["SPLITLANE_API_KEY"] == "splitlane"  # a placeholder while keys are off
    assert not launch.files


def test_the_users_key_is_passed_on_and_their_anthropic_key_is_not(tmp_path: Path) -> None:
    environ = {"SPLITLANE_API_KEY": "sl-mine", "ANTHROPIC_API_KEY": "sk-ant-real"}
    launch = plan_launch("claude", "coder", URL + "/v1", "SPLITLANE_API_KEY", ["-p", "hi"], environ, tmp_path)
    assert launch.argv == ["claude", "-p", "hi"]
    assert launch.env["ANTHROPIC_AUTH_TOKEN"] == "sl-mine"
    assert "ANTHROPIC_API_KEY" not in launch.env
    assert {k: launch.env[k] for k in claude_env("coder", URL)} == claude_env("coder", URL)


def test_opencode_reads_a_temporary_config(tmp_path: Path) -> None:
    launch = plan_launch("opencode", "coder", URL, "SPLITLANE_API_KEY", ["run", "hi"], {}, tmp_path)
    [(path, text)] = launch.files.items()
    assert launch.env["OPENCODE_CONFIG"] == str(path)
    assert path.parent == tmp_path
    assert json.loads(text) == opencode_settings("coder", URL, "SPLITLANE_API_KEY")


def test_a_binary_can_be_named(tmp_path: Path) -> None:
    environ = {"SPLITLANE_CODEX_BIN": "/opt/codex/bin/codex"}
    assert plan_launch("codex", "a", URL, "K", [], environ, tmp_path).argv[0] == "/opt/codex/bin/codex"


def test_unknown_client(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one of codex"):
        plan_launch("vim", "a", URL, "K", [], {}, tmp_path)


def test_overrides_of_nested_values() -> None:
    assert codex_overrides({"model": "a:b", "n": 3}) == ["-c", 'model="a:b"', "-c", "n=3"]


def test_nothing_answering() -> None:
    assert not answering("http://127.0.0.1:9")


def test_qwen_code_gets_the_openai_environment(tmp_path: Path) -> None:
    launch = plan_launch("qwen", "coder", URL, "SPLITLANE_API_KEY", ["-p", "hi"], {"SPLITLANE_API_KEY": "k"}, tmp_path)
    assert launch.argv == ["qwen", "-p", "hi"]
    assert (launch.env["OPENAI_BASE_URL"], launch.env["OPENAI_MODEL"], launch.env["OPENAI_API_KEY"]) == (
        URL + "/v1",
        "coder",
        "k",
    )
