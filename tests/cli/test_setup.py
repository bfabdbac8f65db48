from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitlane.cli.main import app
from splitlane.cli.setup import plan_setup


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["setup", *args], env={"HOME": str(tmp_path), "CODEX_HOME": str(tmp_path / "cx")})
    return result.exit_code, result.output


def test_printing_writes_nothing(tmp_path: Path) -> None:
    code, out = invoke(tmp_path, "codex", "--alias", "coder")
    assert code == 0
    assert 'wire_api = "responses"' in out
    assert 'model = "coder"' in out
    assert not (tmp_path / "cx").exists()


def test_codex_write_keeps_the_users_settings_and_comments(tmp_path: Path) -> None:
    config = tmp_path / "cx" / "config.toml"
    config.parent.mkdir()
    config.write_text('# mine\napproval_policy = "never"\n[model_providers.other]\nname = "other"\n')
    code, out = invoke(tmp_path, "codex", "--alias", "coder", "--url", "http://127.0.0.1:9999", "--write", "--yes")
    assert code == 0
    assert "+model_provider" in out
    text = config.read_text()
    data = tomllib.loads(text)
    assert text.startswith("# mine")
    assert data["approval_policy"] == "never"
    assert "other" in data["model_providers"]
    assert data["model_providers"]["splitlane"]["base_url"] == "http://127.0.0.1:9999/v1"
    assert data["web_search"] == "disabled"  # a hosted tool only a Responses upstream could run
    assert tomllib.loads((config.parent / "splitlane-plan.config.toml").read_text())["model"] == "coder:plan"
    code, out = invoke(tmp_path, "codex", "--alias", "coder", "--url", "http://127.0.0.1:9999", "--write", "--yes")
    assert "nothing to change" in out


def test_claude_code_and_opencode_merge_json(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"env": {"FOO": "1"}, "theme": "dark"}))
    assert invoke(tmp_path, "claude-code", "--alias", "coder", "--write", "--yes")[0] == 0
    data = json.loads(settings.read_text())
    assert data["theme"] == "dark"
    assert data["env"]["FOO"] == "1"
    assert data["env"]["ANTHROPIC_MODEL"] == "opusplan"
    assert data["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"] == "coder:plan"
    assert data["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8080"  # no /v1: the client appends it


def test_opencode_per_agent_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke(tmp_path, "opencode", "--alias", "coder", "--write", "--yes")[0] == 0
    data = json.loads((tmp_path / "opencode.json").read_text())
    assert data["agent"]["plan"]["model"] == "splitlane/coder:plan"
    assert data["provider"]["splitlane"]["npm"] == "@ai-sdk/openai-compatible"


def test_cline_is_printed_not_written(tmp_path: Path) -> None:
    code, out = invoke(tmp_path, "cline", "--alias", "coder")
    assert code == 0
    assert "Plan Mode model ID:  coder:plan" in out
    assert invoke(tmp_path, "cline", "--write")[0] == 1


def test_claude_code_gets_the_gateways_limits(tmp_path: Path) -> None:
    served = {"id": "coder", "context_window": 128000, "max_output_tokens": 8192, "tool_search": False}
    plan = plan_setup("claude-code", "coder", "http://127.0.0.1:1", "K", tmp_path, tmp_path, served)
    env = json.loads(plan.files[0].new)["env"]
    assert env["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] == env["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "128000"
    assert env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8192"
    assert env["ENABLE_TOOL_SEARCH"] == "false"
    unknown = plan_setup("claude-code", "coder", "http://127.0.0.1:1", "K", tmp_path, tmp_path, None)
    assert "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in json.loads(unknown.files[0].new)["env"]
    assert "no gateway answered" in unknown.instructions


def test_qwen_code_env_file_keeps_other_lines(tmp_path: Path) -> None:
    env = tmp_path / ".qwen" / ".env"
    env.parent.mkdir()
    env.write_text("GEMINI_API_KEY=mine\nOPENAI_MODEL=old\n")
    assert (
        invoke(tmp_path, "qwen-code", "--alias", "coder", "--url", "http://127.0.0.1:9999", "--write", "--yes")[0] == 0
    )
    lines = env.read_text().splitlines()
    assert "GEMINI_API_KEY=mine" in lines
    assert "OPENAI_MODEL=coder" in lines
    assert "OPENAI_MODEL=old" not in lines
    assert "OPENAI_BASE_URL=http://127.0.0.1:9999/v1" in lines
