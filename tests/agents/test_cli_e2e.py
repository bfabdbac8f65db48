"""The real agent CLIs (from npm, pinned in the Makefile) against `splitlane serve`.

Each CLI is configured by `splitlane setup <client> --write` in a temporary home, so the test
also checks that what setup writes is what the client reads. The upstream is a scripted fake
provider on loopback: a new instruction gets a shell tool call that writes a file, a tool result
gets a final message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import chdir, contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from typer.testing import CliRunner

from splitlane.api.app import create_app
from splitlane.api.responses.compaction import HANDOFF
from splitlane.bench.processes import free_port
from splitlane.cli.launch import answering
from splitlane.cli.main import app as cli
from splitlane.config import Config
from tests.agents.compacting import FINAL, CompactingChat
from tests.agents.conftest import BIN, version
from tests.agents.window import DONE, WINDOW, WindowUpstream
from tests.servers import AGENT_CONTENT, AGENT_FILE, AGENT_FINAL, AGENT_PLAN, FakeProvider, serve

pytestmark = [
    pytest.mark.agents,
    pytest.mark.skipif(
        not (BIN / "codex").exists() or not (BIN / "claude").exists(),
        reason=f"agent CLIs not installed in {BIN}: `make agents` installs them (needs npm)",
    ),
]


class Gateway:
    def __init__(self, app: Starlette, url: str, received: list[tuple[str, bytes]] | None = None) -> None:
        self.app = app
        self.url = url
        # (path, body) of each client request; ("ws:" + path, frame) of each WebSocket text frame
        self.received = received if received is not None else []

    def routed(self) -> list[Any]:
        return list(self.app.state.services.routed)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [orjson.loads(body) for p, body in self.received if p == path]


class Recording:
    """ASGI middleware keeping each request's path and body, and each WebSocket frame, as the
    client sent them (what a logging proxy in front of the gateway would see)."""

    def __init__(self, app: Starlette, received: list[tuple[str, bytes]]) -> None:
        self.app = app
        self.received = received

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":  # one scope per handshake, accepted or refused
            self.received.append(("ws-handshake:" + scope["path"], b"{}"))

            async def frames() -> Any:
                message = await receive()
                if message["type"] == "websocket.receive" and message.get("text") is not None:
                    self.received.append(("ws:" + scope["path"], message["text"].encode()))
                return message

            await self.app(scope, frames, send)
            return
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recorded() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.received.append((scope["path"], b"".join(chunks)))
            return message

        await self.app(scope, recorded, send)


@pytest.fixture
def gateway(provider: tuple[FakeProvider, str], tmp_path: Path) -> Iterator[Gateway]:
    _, url = provider
    config = Config.model_validate(
        {
            "data_dir": tmp_path / "data",
            "upstreams": {
                "planner": {"kind": "openai_chat", "base_url": url + "/v1"},
                # the same fake under another host name, so requests show which upstream they took
                "executor": {"kind": "openai_chat", "base_url": url.replace("127.0.0.1", "localhost") + "/v1"},
            },
            "models": {
                "agent": {"upstream": "executor", "model": "agent"},
                "coder": {
                    "lanes": {"plan": "planner/agent_plan", "act": "executor/agent", "background": "executor/agent"}
                },
            },
        }
    )
    app = create_app(config)
    with serve(app) as gateway_url:
        yield Gateway(app, gateway_url)


def native_config(url: str, data_dir: Path, websockets: bool = True) -> Config:
    """Each client's own API upstream (the fake at ``url``): a same-protocol hop for Claude Code
    (alias ``claude``) and for Codex (alias ``gpt``)."""
    return Config.model_validate(
        {
            "data_dir": data_dir,
            "websockets": websockets,
            "upstreams": {
                "anthropic": {"kind": "anthropic", "base_url": url},
                "responses": {"kind": "openai_responses", "base_url": url + "/v1"},
            },
            "models": {
                "claude": {"upstream": "anthropic", "model": "agent"},
                "gpt": {"upstream": "responses", "model": "agent"},
            },
        }
    )


@contextmanager
def recorded_gateway(config: Config) -> Iterator[Gateway]:
    """A gateway behind a recorder of what its clients send."""
    app = create_app(config)
    received: list[tuple[str, bytes]] = []
    with serve(Recording(app, received)) as gateway_url:  # type: ignore[arg-type]
        yield Gateway(app, gateway_url, received)


@pytest.fixture
def native(provider: tuple[FakeProvider, str], tmp_path: Path) -> Iterator[Gateway]:
    with recorded_gateway(native_config(provider[1], tmp_path / "data")) as gateway:
        yield gateway


@pytest.fixture
def native_http(provider: tuple[FakeProvider, str], tmp_path: Path) -> Iterator[Gateway]:
    """The same, serving the Responses API over HTTP only (``websockets = false``)."""
    with recorded_gateway(native_config(provider[1], tmp_path / "data", websockets=False)) as gateway:
        yield gateway


def assert_forwarded_unchanged(gateway: Gateway, fake: FakeProvider, path: str) -> None:
    """Every upstream request is one the client sent, the same JSON but for the model name."""
    sent = [{**b, "model": None} for b in gateway.bodies(path)]
    upstream = [{**r.body, "model": None} for r in fake.requests if r.path == path]
    assert upstream
    for body in upstream:
        assert body in sent, f"upstream got a body the client did not send: {sorted(body)}"


def setup_client(client: str, alias: str, gateway: Gateway, home: Path, cwd: Path) -> None:
    with chdir(cwd):  # OpenCode's opencode.json is the project's
        result = CliRunner().invoke(
            cli,
            ["setup", client, "--alias", alias, "--url", gateway.url, "--write", "--yes"],
            env={"HOME": str(home), "CODEX_HOME": str(home / ".codex")},
        )
    assert result.exit_code == 0, result.output


def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def run(argv: list[str], cwd: Path, home: Path, extra_env: dict[str, str] | None = None) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CODEX_HOME": str(home / ".codex"),
        "SPLITLANE_API_KEY": "unused",
        "ANTHROPIC_AUTH_TOKEN": "unused",
        "IS_SANDBOX": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        **(extra_env or {}),
    }
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{argv[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def hosts(fake: FakeProvider) -> list[str]:
    return [r.headers["host"].split(":")[0] for r in fake.requests]


def codex(prompt: str, cwd: Path, home: Path, *extra: str) -> str:
    return run(
        [
            str(BIN / "codex"),
            "exec",
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
            *extra,
            prompt,
        ],
        cwd,
        home,
    )


def claude(prompt: str, cwd: Path, home: Path, *extra: str) -> str:
    return run([str(BIN / "claude"), "-p", prompt, *extra], cwd, home)  # the prompt before variadic flags


@pytest.mark.agent("codex", "Responses over WebSocket → openai_chat upstream, tool loop")
def test_codex_runs_a_tool_and_answers(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("codex", "agent", gateway, home, work)
    out = codex("Create created.txt", work, home)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT  # the agent executed the tool call
    assert AGENT_FINAL in out  # the final text reached the CLI's output
    turns = gateway.routed()
    assert len(turns) == 2
    assert len({t.session for t in turns}) == 1
    assert turns[0].session.startswith(("session_id:", "prompt_cache_key:"))
    assert [t.lane for t in turns] == ["act", "act"]


@pytest.mark.agent("claude-code", "Messages → openai_chat upstream, tool loop")
def test_claude_code_runs_a_tool_and_answers(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("claude-code", "agent", gateway, home, work)
    out = claude("Create created.txt", work, home, "--dangerously-skip-permissions")
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    turns = [t for t in gateway.routed() if t.lane != "background"]
    assert len(turns) == 2
    assert len({t.session for t in turns}) == 1
    assert turns[0].session.startswith("x-claude-code-session-id:")
    # setup read tool_search false from /v1/models: no deferred tools that only Anthropic could expand
    sent = {t["function"]["name"] for r in fake.requests for t in r.body.get("tools") or []}
    assert "Bash" in sent
    assert "ToolSearch" not in sent


@pytest.mark.agent("claude-code", "Messages, plan and act lanes → two upstreams")
def test_claude_code_plan_and_act_go_to_different_upstreams(
    gateway: Gateway, fake: FakeProvider, tmp_path: Path
) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("claude-code", "coder", gateway, home, work)  # opusplan: plan mode -> coder:plan, else coder:act
    planned = claude("Plan how to create created.txt", work, home, "--permission-mode", "plan")
    assert AGENT_PLAN in planned
    assert not (work / AGENT_FILE).exists()
    assert set(hosts(fake)) == {"127.0.0.1"}  # planning turns: the planner upstream only
    fake.requests.clear()
    claude("Now do it", work, home, "--continue", "--dangerously-skip-permissions")
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert set(hosts(fake)) == {"localhost"}  # execution turns: the executor upstream only
    lanes = [t.lane for t in gateway.routed()]
    assert lanes[0] == "plan"
    assert lanes[-2:] == ["act", "act"]


@pytest.mark.agent("codex", "Responses over WebSocket, plan and act profiles → two upstreams")
def test_codex_plan_and_act_profiles_go_to_different_upstreams(
    gateway: Gateway, fake: FakeProvider, tmp_path: Path
) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("codex", "coder", gateway, home, work)
    planned = codex("Plan how to create created.txt", work, home, "--profile", "splitlane-plan")
    assert AGENT_PLAN in planned
    assert set(hosts(fake)) == {"127.0.0.1"}
    fake.requests.clear()
    codex("Create created.txt", work, home, "--profile", "splitlane-act")
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert set(hosts(fake)) == {"localhost"}
    assert [t.lane for t in gateway.routed()] == ["plan", "act", "act"]


@pytest.fixture
def engine_gateway(tmp_path: Path) -> Iterator[Gateway]:
    """The embedded default model (SmolLM2 135M Instruct), seeded so a run repeats. A small model
    can still loop until the token cap, which Codex and Claude Code treat as an error, so every reply
    also stops at its first line break or sentence end (the upstream's `stop` setting) — with the
    unseeded base Gemma a blank-line stop hit the cap in one CI run, a line-break stop in one local
    run (256 tokens of one line)."""
    config = Config.model_validate(
        {
            "data_dir": tmp_path / "data",
            "default_max_tokens": 256,
            "upstreams": {
                "local": {"kind": "local", "n_ctx": 32768, "max_output_tokens": 256, "stop": ["\n", ". "], "seed": 0}
            },
            "models": {"local": {"upstream": "local"}},
        }
    )
    app = create_app(config)
    with serve(app) as url:
        yield Gateway(app, url)


@pytest.mark.agent("codex", "Responses over WebSocket → embedded engine")
def test_codex_session_on_the_embedded_engine(engine_gateway: Gateway, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("codex", "local", engine_gateway, home, work)
    codex("Say hi", work, home)  # exit status 0: every turn's stream parsed and completed
    turns = engine_gateway.routed()
    assert turns
    assert all(t.target == "local/local" for t in turns)


@pytest.mark.agent("claude-code", "Messages → embedded engine")
def test_claude_code_session_on_the_embedded_engine(engine_gateway: Gateway, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("claude-code", "local", engine_gateway, home, work)
    # Claude Code's full prompt is ~20K tokens (minutes of prefill on two cores): a short one here
    claude("Say hi", work, home, "--bare", "--system-prompt", "You are a helpful assistant.", "--tools", "Bash")
    turns = engine_gateway.routed()
    assert turns
    assert all(t.target == "local/local" for t in turns)


@pytest.mark.agent("claude-code", "Messages → anthropic upstream, forwarded as sent")
def test_claude_code_tool_loop_to_an_anthropic_upstream_is_forwarded_as_sent(
    native: Gateway, fake: FakeProvider, tmp_path: Path
) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("claude-code", "claude", native, home, work)
    out = claude("Create created.txt", work, home, "--dangerously-skip-permissions")
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    assert_forwarded_unchanged(native, fake, "/v1/messages")
    # the breakpoints Claude Code set reached the upstream (system blocks, tools or messages)
    assert any("cache_control" in orjson.dumps(r.body).decode() for r in fake.requests if r.path == "/v1/messages")


@pytest.mark.agent("codex", "Responses over HTTP (WebSocket refused: 426) → openai_responses, forwarded as sent")
def test_codex_tool_loop_to_a_responses_upstream_is_forwarded_as_sent(
    native_http: Gateway, fake: FakeProvider, tmp_path: Path
) -> None:
    """Over HTTP: the gateway refuses Codex's WebSocket with 426, on which Codex falls back at
    once (one handshake: no retries); each POST body reaches the upstream as it was sent."""
    native = native_http
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("codex", "gpt", native, home, work)
    out = codex("Create created.txt", work, home)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    assert len(native.bodies("ws-handshake:/v1/responses")) == 1
    assert not native.bodies("ws:/v1/responses")
    assert_forwarded_unchanged(native, fake, "/v1/responses")
    tools = {t["type"] for r in fake.requests if r.path == "/v1/responses" for t in r.body["tools"]}
    assert "namespace" in tools  # Codex's own tool groups, passed as they came


@pytest.mark.agent("codex", "Responses over WebSocket → openai_responses upstream, previous_response_id expanded")
def test_codex_over_websocket_to_a_responses_upstream(native: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    """Codex's WebSocket (v2): a prewarm frame, then each turn only the items after its previous
    response; the upstream gets every turn's whole conversation, the rest of each frame as sent."""
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("codex", "gpt", native, home, work)
    out = codex("Create created.txt", work, home)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    assert not native.bodies("/v1/responses")  # no POST: every turn came over the socket
    frames = native.bodies("ws:/v1/responses")
    assert frames[0]["type"] == "response.create"
    assert frames[0]["generate"] is False
    turns = frames[1:]
    upstream = [r.body for r in fake.requests if r.path == "/v1/responses"]
    assert len(upstream) == len(turns) == 2
    assert all(f.get("previous_response_id") for f in turns)  # incremental, as Codex sends it to OpenAI
    assert len(turns[1]["input"]) < len(upstream[1]["input"])
    for frame, body in zip(turns, upstream, strict=True):
        assert body["input"][-len(frame["input"]) :] == frame["input"]
        fields = ("type", "previous_response_id", "input", "model")
        assert {k: v for k, v in frame.items() if k not in fields} == {k: v for k, v in body.items() if k not in fields}
    assert upstream[1]["input"][: len(upstream[0]["input"])] == upstream[0]["input"]  # the cached prefix holds
    turns_routed = native.routed()
    assert len(turns_routed) == 2
    assert len({t.session for t in turns_routed}) == 1


def launched(client: str, alias: str, url: str, cwd: Path, home: Path, *args: str, config: Path | None = None) -> str:
    """``splitlane launch`` as a user runs it (the CLIs found on PATH; run() names CODEX_HOME, which
    Codex wants to exist, as its default ~/.codex does once Codex has run)."""
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    options = ["--config", str(config)] if config is not None else []
    argv = [sys.executable, "-m", "splitlane", "launch", client, "--alias", alias, "--url", url, *options, "--", *args]
    return run(argv, cwd, home, {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})


COMPACTS_IN_TIME_SINCE = (2, 1, 330)  # the oldest release this was seen to pass with (pinned, latest do)
CODEX_EXEC = ("exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox")


@pytest.mark.agent("codex", "splitlane launch codex (-c overrides, no file edited) → openai_chat, tool loop")
def test_launch_codex_edits_no_file(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    out = launched("codex", "agent", gateway.url, work, home, *CODEX_EXEC, "Create created.txt")
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    written = home / ".codex" / "config.toml"  # Codex 0.138 records the project's trust there itself
    assert not written.exists() or not {"model_provider", "model_providers"} & set(tomllib.loads(written.read_text()))
    turns = gateway.routed()
    assert len(turns) == 2
    assert len({t.session for t in turns}) == 1


@pytest.mark.agent("claude-code", "splitlane launch claude (environment, no file edited) → openai_chat, tool loop")
def test_launch_claude_code_edits_no_file(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    prompt = ("-p", "Create created.txt", "--dangerously-skip-permissions")
    out = launched("claude", "agent", gateway.url, work, home, *prompt)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    assert not (home / ".claude" / "settings.json").exists()
    assert len([t for t in gateway.routed() if t.lane != "background"]) == 2


@pytest.mark.agent("codex", "splitlane launch codex, gateway started for the session → openai_chat")
def test_launch_starts_a_gateway_when_none_answers(provider: tuple[FakeProvider, str], tmp_path: Path) -> None:
    _, url = provider
    config = tmp_path / "splitlane.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[upstreams.fake]\nkind = "openai_chat"\nbase_url = "{url}/v1"\n'
        '[models.agent]\nupstream = "fake"\nmodel = "agent"\n'
    )
    gateway_url = f"http://127.0.0.1:{free_port()}"
    home, work = tmp_path / "home", repo(tmp_path)
    launched("codex", "agent", gateway_url, work, home, *CODEX_EXEC, "Create created.txt", config=config)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert not answering(gateway_url)  # stopped with the client


@pytest.mark.agent("claude-code", "Messages → 128K-window upstream: the window from /v1/models, compaction in time")
@pytest.mark.parametrize("told", [True, False], ids=["window-told", "window-unknown"])
def test_claude_code_compacts_before_a_smaller_window_refuses(told: bool, tmp_path: Path) -> None:
    """Claude Code assumes a 1M window for a model name it does not know: without the gateway's
    context_window in its environment the prompt outgrows the 128K upstream, which refuses it;
    told (setup reads /v1/models), Claude Code compacts first and the task ends."""
    upstream = WindowUpstream()
    with serve(upstream.app()) as url:
        model: dict[str, Any] = {"upstream": "window", "model": "window"}
        if told:
            model["context_window"] = WINDOW
        config = Config.model_validate(
            {
                "data_dir": tmp_path / "data",
                "upstreams": {"window": {"kind": "anthropic", "base_url": url}},
                "models": {"big": model},
            }
        )
        app = create_app(config)
        with serve(app) as gateway_url:
            home, work = tmp_path / "home", repo(tmp_path)
            setup_client("claude-code", "big", Gateway(app, gateway_url), home, work)
            env = orjson.loads((home / ".claude" / "settings.json").read_bytes())["env"]
            assert ("CLAUDE_CODE_MAX_CONTEXT_TOKENS" in env) is told
            prompt = ["-p", "Print many x characters with python, repeatedly", "--dangerously-skip-permissions"]
            if told:
                try:
                    out = claude(prompt[1], work, home, *prompt[2:])
                except AssertionError:
                    if tuple(int(p) for p in version("claude-code").split(".")) < COMPACTS_IN_TIME_SINCE:
                        pytest.xfail("Claude Code 2.1.167 does not compact within one tool loop, told or not")
                    raise
                assert DONE in out
            else:
                argv = [str(BIN / "claude"), *prompt]
                with pytest.raises(AssertionError, match="failed"):
                    run(argv, work, home)
    refused = [s for s in upstream.seen if s.status == 400]
    assert bool(refused) is not told
    if told:
        assert any(s.compaction for s in upstream.seen)
        assert max(s.tokens for s in upstream.seen) <= WINDOW


@pytest.mark.agent("codex", "Codex's own OpenAI provider (openai_base_url) → openai_chat: remote compaction")
def test_codex_remote_compaction_through_a_chat_upstream(tmp_path: Path) -> None:
    """Codex compacts through the server when its provider is OpenAI's: a compaction_trigger turn
    that must answer one compaction item (or, in older releases, /v1/responses/compact). The
    gateway summarizes on the Chat upstream and Codex goes on from the summary."""
    upstream = CompactingChat()
    with serve(upstream.app()) as url:
        config = Config.model_validate(
            {
                "data_dir": tmp_path / "data",
                "upstreams": {"chat": {"kind": "openai_chat", "base_url": url + "/v1"}},
                "models": {"agent": {"upstream": "chat", "model": "agent"}},
            }
        )
        with recorded_gateway(config) as gateway:
            home, work = tmp_path / "home", repo(tmp_path)
            codex_home = home / ".codex"
            codex_home.mkdir(parents=True)
            (codex_home / "config.toml").write_text(
                f'model = "agent"\nopenai_base_url = "{gateway.url}/v1"\nmodel_auto_compact_token_limit = 12000\n'
                'model_context_window = 100000\nweb_search = "disabled"\n'
            )
            env = {"PATH": os.environ["PATH"], "HOME": str(home), "CODEX_HOME": str(codex_home)}
            subprocess.run(
                [str(BIN / "codex"), "login", "--with-api-key"], input="sk-test", env=env, check=True,
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            out = codex("List the numbers to 3000", work, home)
    assert FINAL in out
    frames = [*gateway.bodies("ws:/v1/responses"), *gateway.bodies("/v1/responses")]
    triggered = any((f.get("input") or [{}])[-1].get("type") == "compaction_trigger" for f in frames)
    # v2 (0.169 on): a compaction_trigger turn; before it (0.138): POST /v1/responses/compact
    assert triggered != bool(gateway.bodies("/v1/responses/compact"))
    summary_turns = [r for r in upstream.requests if not r.get("tools")]
    assert len(summary_turns) == 1
    assert HANDOFF.strip()[:40] in orjson.dumps(upstream.requests[-1]["messages"]).decode()


needs_opencode = pytest.mark.skipif(
    not (BIN / "opencode").exists(), reason=f"OpenCode not installed in {BIN}: `make agents` installs it (needs npm)"
)


def opencode(prompt: str, cwd: Path, home: Path) -> str:
    return run([str(BIN / "opencode"), "run", prompt], cwd, home)


@needs_opencode
@pytest.mark.agent("opencode", "Chat Completions (@ai-sdk/openai-compatible, setup) → openai_chat, tool loop")
def test_opencode_runs_a_tool_and_answers(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("opencode", "agent", gateway, home, work)
    out = opencode("Create created.txt", work, home)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    turns = [t for t in gateway.routed() if t.lane != "background"]
    assert len(turns) == 2
    assert len({t.session for t in turns}) == 1
    assert {t.lane for t in turns} == {"act"}  # OpenCode's build agent: the act lane


@needs_opencode
@pytest.mark.agent("opencode", "Responses (@ai-sdk/openai provider) → openai_chat, tool loop")
def test_opencode_with_its_openai_provider_speaks_responses(
    provider: tuple[FakeProvider, str], fake: FakeProvider, tmp_path: Path
) -> None:
    config = Config.model_validate(
        {
            "data_dir": tmp_path / "data",
            "upstreams": {"executor": {"kind": "openai_chat", "base_url": provider[1] + "/v1"}},
            "models": {"agent": {"upstream": "executor", "model": "agent"}},
        }
    )
    with recorded_gateway(config) as gateway:
        home, work = tmp_path / "home", repo(tmp_path)
        sl = {"npm": "@ai-sdk/openai", "name": "splitlane", "models": {"agent": {"name": "agent"}},
              "options": {"baseURL": gateway.url + "/v1", "apiKey": "{env:SPLITLANE_API_KEY}"}}  # fmt: skip
        settings = {
            "$schema": "https://opencode.ai/config.json",
            "model": "splitlane/agent",
            "provider": {"splitlane": sl},
        }
        (work / "opencode.json").write_text(orjson.dumps(settings).decode())
        out = opencode("Create created.txt", work, home)
        assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
        assert AGENT_FINAL in out
        assert len(gateway.bodies("/v1/responses")) >= 2  # the tool call and the answer, on the Responses API
        assert not gateway.bodies("/v1/chat/completions")


@needs_opencode
@pytest.mark.agent("opencode", "splitlane launch opencode (OPENCODE_CONFIG, no file edited) → openai_chat, tool loop")
def test_launch_opencode_edits_no_file(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    out = launched("opencode", "agent", gateway.url, work, home, "run", "Create created.txt")
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    assert not (work / "opencode.json").exists()
    assert len([t for t in gateway.routed() if t.lane != "background"]) == 2


needs_qwen = pytest.mark.skipif(
    not (BIN / "qwen").exists(), reason=f"Qwen Code not installed in {BIN}: `make agents` installs it (needs npm)"
)
QWEN_ENV = {"QWEN_CODE_SUPPRESS_YOLO_WARNING": "1"}


@needs_qwen
@pytest.mark.agent("qwen-code", "Chat Completions (OpenAI-compatible, setup's ~/.qwen/.env) → openai_chat, tool loop")
def test_qwen_code_runs_a_tool_and_answers(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    setup_client("qwen-code", "agent", gateway, home, work)
    out = run([str(BIN / "qwen"), "-p", "Create created.txt", "--yolo"], work, home, QWEN_ENV)
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    turns = [t for t in gateway.routed() if t.lane != "background"]
    assert len(turns) == 2
    assert len({t.session for t in turns}) == 1


@needs_qwen
@pytest.mark.agent("qwen-code", "splitlane launch qwen (environment, no file edited) → openai_chat, tool loop")
def test_launch_qwen_code_edits_no_file(gateway: Gateway, fake: FakeProvider, tmp_path: Path) -> None:
    home, work = tmp_path / "home", repo(tmp_path)
    argv = [sys.executable, "-m", "splitlane", "launch", "qwen", "--alias", "agent", "--url", gateway.url]
    out = run(
        [*argv, "--", "-p", "Create created.txt", "--yolo"],
        work,
        home,
        {**QWEN_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
    )
    assert (work / AGENT_FILE).read_text() == AGENT_CONTENT
    assert AGENT_FINAL in out
    assert not (home / ".qwen" / ".env").exists()
