"""Gateway API keys through the real server and the official SDKs: every route refuses a missing or
wrong key in its surface's format, keys are limited to their models, lanes, rate, streams and
token budget, a response belongs to the key that created it, and a revoked key stops working."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import orjson
import pytest
from typer.testing import CliRunner

from splitlane.auth.keys import KeyStore
from splitlane.cli.main import app as cli
from splitlane.store.database import open_engine, sqlite_url
from splitlane.store.migrations import migrate
from tests.conftest import gateway_with

QUESTION = [{"role": "user", "content": "hi"}]
CONFIG = {
    "auth": "required",
    "auth_refresh_s": 0.2,
    "upstreams": {
        "sim": {"kind": "sim", "sim_profile": "instant"},
        "slow": {"kind": "sim", "sim_profile": "fast", "sim": {"decode_tps": "100", "base_latency_s": "0.01"}},
    },
    "models": {
        "sim": {"upstream": "sim"},
        "sim-other": {"upstream": "sim"},
        "sim-plan": {"alias": "sim", "lane": "plan"},
        "slow": {"upstream": "slow"},
    },
}
ROUTES = [
    ("POST", "/v1/responses", {"model": "sim", "input": "hi"}),
    ("POST", "/v1/chat/completions", {"model": "sim", "messages": QUESTION}),
    ("POST", "/v1/messages", {"model": "sim", "max_tokens": 5, "messages": QUESTION}),
    ("POST", "/v1/messages/count_tokens", {"model": "sim", "messages": QUESTION}),
    ("GET", "/v1/models", None),
    ("GET", "/v1/responses/resp_0123", None),
    ("GET", "/dashboard", None),
    ("GET", "/dashboard/api/overview", None),
    ("GET", "/dashboard/api/session?id=x", None),
    ("GET", "/dashboard/static/dashboard.js", None),
    ("GET", "/metrics", None),
    ("GET", "/no/such/route", None),
]


def create_key(store: Path | str, name: str, **limits: object) -> str:
    """A key in the gateway's database: SQLite in the data dir ``store``, or the database URL ``store``."""

    async def create() -> str:
        engine = open_engine(store if isinstance(store, str) else sqlite_url(store / "splitlane.db"))
        try:
            await migrate(engine)
            secret, _ = await KeyStore(engine).create(name, **limits)
            return secret
        finally:
            await engine.dispose()

    return asyncio.run(create())


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("auth")
    with gateway_with(CONFIG, data_dir) as url:
        yield url, data_dir


def _send(url: str, method: str, path: str, body: object, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(method, url + path, json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("credentials", ["none", "wrong bearer", "wrong x-api-key", "wrong basic"])
def test_every_route_refuses_a_missing_or_wrong_key(
    secured: tuple[str, Path], method: str, path: str, body: object, credentials: str
) -> None:
    url, _ = secured
    headers = {
        "none": {},
        "wrong bearer": {"authorization": "Bearer sl-not-a-key"},
        "wrong x-api-key": {"x-api-key": "sl-not-a-key"},
        "wrong basic": {"authorization": "Basic " + base64.b64encode(b"me:sl-not-a-key").decode()},
    }[credentials]
    response = _send(url, method, path, body, headers)
    assert response.status_code == 401, response.text
    payload = response.json()
    if path.startswith("/v1/messages"):
        assert payload["type"] == "error"
        assert payload["error"]["type"] == "authentication_error"
    else:
        assert payload["error"]["type"] == "authentication_error"
    assert ("missing API key" if credentials == "none" else "invalid or revoked") in payload["error"]["message"]
    expected = "Basic" if path.startswith(("/dashboard", "/metrics")) else "Bearer"
    assert response.headers["www-authenticate"].startswith(expected)


def test_health_is_open_and_says_nothing_else(secured: tuple[str, Path]) -> None:
    url, _ = secured
    assert httpx.get(url + "/health").json() == {"status": "ok"}


def test_sdks_with_a_key_through_each_header(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    secret = create_key(data_dir, "sdk")  # created while the gateway runs: works at once
    oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
    assert oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5).choices  # type: ignore[arg-type]
    assert oai.responses.create(model="sim", input="hi", max_output_tokens=5).output
    by_header = anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0)  # x-api-key
    by_token = anthropic.Anthropic(base_url=url, auth_token=secret, max_retries=0)  # Authorization: Bearer
    for client in (by_header, by_token):
        message = client.messages.create(model="sim", max_tokens=5, messages=QUESTION)  # type: ignore[arg-type]
        assert message.content
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="sl-wrong", max_retries=0).models.list()
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=url, api_key="sl-wrong", max_retries=0).messages.create(
            model="sim",
            max_tokens=5,
            messages=QUESTION,  # type: ignore[arg-type]
        )


def test_dashboard_and_metrics_need_an_admin_key(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    user, admin = create_key(data_dir, "user"), create_key(data_dir, "admin", admin=True)
    for path in ("/dashboard", "/dashboard/api/overview", "/metrics"):
        refused = httpx.get(url + path, headers={"authorization": f"Bearer {user}"})
        assert refused.status_code == 403
        assert refused.json()["error"]["type"] == "permission_error"
        assert httpx.get(url + path, headers={"authorization": f"Bearer {admin}"}).status_code == 200
    browser = httpx.get(url + "/dashboard", auth=("anyone", admin))  # HTTP Basic: the browser's login prompt
    assert browser.status_code == 200
    assert "text/html" in browser.headers["content-type"]


def test_a_response_belongs_to_the_key_that_created_it(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    alice, bob = create_key(data_dir, "alice"), create_key(data_dir, "bob")
    as_alice = openai.OpenAI(base_url=url + "/v1", api_key=alice, max_retries=0)
    as_bob = openai.OpenAI(base_url=url + "/v1", api_key=bob, max_retries=0)
    created = as_alice.responses.create(model="sim", input="hi", max_output_tokens=5, store=True)
    assert as_alice.responses.retrieve(created.id).id == created.id
    with pytest.raises(openai.NotFoundError):
        as_bob.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        as_bob.responses.create(model="sim", input="and?", previous_response_id=created.id, max_output_tokens=5)
    follow_up = as_alice.responses.create(
        model="sim", input="and?", previous_response_id=created.id, max_output_tokens=5
    )
    assert follow_up.output


def test_a_key_limited_to_models_and_lanes(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    secret = create_key(data_dir, "scoped", models=("sim", "sim-p*"), lanes=("act",))
    oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
    assert sorted(m.id for m in oai.models.list()) == ["sim", "sim-plan"]
    assert oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5).choices  # type: ignore[arg-type]
    with pytest.raises(openai.PermissionDeniedError, match="may not use model 'sim-other'"):
        oai.chat.completions.create(model="sim-other", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
    ant = anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError, match="plan lane"):
        ant.messages.create(model="sim-plan", max_tokens=5, messages=QUESTION)  # type: ignore[arg-type]


def test_requests_per_minute(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    secret = create_key(data_dir, "rpm", rpm=2)
    oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
    for _ in range(2):
        oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError, match="2 requests per minute") as refused:
        oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60


def test_streams_at_once(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    secret = create_key(data_dir, "streams", max_streams=1)
    ant = anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0)
    one_stream_at_a_time(ant, ant)


def one_stream_at_a_time(streaming: anthropic.Anthropic, other: anthropic.Anthropic) -> None:
    """A key of one stream: while ``streaming`` streams (the `slow` model: 2 s or more), ``other``
    is refused; after, it is served."""
    started, ended = threading.Event(), threading.Event()

    def long_stream() -> None:
        with streaming.messages.stream(model="slow", max_tokens=200, messages=QUESTION) as stream:  # type: ignore[arg-type]
            for _ in stream.text_stream:
                started.set()
        ended.set()

    thread = threading.Thread(target=long_stream)
    thread.start()
    assert started.wait(30)
    with pytest.raises(anthropic.RateLimitError, match="at most 1 request in flight"):
        other.messages.create(model="sim", max_tokens=5, messages=QUESTION)  # type: ignore[arg-type]
    assert not ended.is_set()  # the first stream was still running
    thread.join(30)
    assert other.messages.create(model="sim", max_tokens=5, messages=QUESTION).content  # type: ignore[arg-type]


def test_token_budget_survives_a_restart(tmp_path: Path) -> None:
    secret = create_key(tmp_path, "budget", token_budget=20)
    with gateway_with(CONFIG, tmp_path) as url:
        oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
        first = oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=30)  # type: ignore[arg-type]
        assert first.usage is not None
        assert first.usage.total_tokens > 20
        with pytest.raises(openai.RateLimitError, match="budget of 20 tokens") as refused:
            oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
        assert int(refused.value.response.headers["retry-after"]) >= 1
    with gateway_with(CONFIG, tmp_path) as url:  # a new process reads the use back from telemetry
        oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
        with pytest.raises(openai.RateLimitError, match="budget"):
            oai.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]


PRICED = {
    **CONFIG,
    "models": {**CONFIG["models"], "priced": {"upstream": "sim", "price": {"input": 1e4, "output": 1e4}}},
}  # type: ignore[dict-item]


def test_money_budget_refuses_once_spent_in_each_surface_and_survives_a_restart(tmp_path: Path) -> None:
    """$10,000 per million tokens: a turn of ~40 tokens costs ~$0.40, over the $0.25 budget."""
    secret = create_key(tmp_path, "money", usd_budget=0.25)
    with gateway_with(PRICED, tmp_path) as url:
        http = httpx.Client(base_url=url, headers={"authorization": f"Bearer {secret}"}, timeout=30)
        first = http.post("/v1/chat/completions", json={"model": "priced", "messages": QUESTION, "max_tokens": 30})
        assert first.status_code == 200
        assert float(first.headers["x-splitlane-budget-remaining-usd"]) == pytest.approx(0.25)  # before this turn
        ant = anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0)
        with pytest.raises(anthropic.RateLimitError, match=r"spent its budget of \$0.25") as refused:
            ant.messages.create(model="priced", max_tokens=5, messages=QUESTION)  # type: ignore[arg-type]
        assert refused.value.body["type"] == "error"  # type: ignore[index]
        assert refused.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
        assert int(refused.value.response.headers["retry-after"]) >= 1
        free = http.post("/v1/chat/completions", json={"model": "sim", "messages": QUESTION, "max_tokens": 5})
        assert free.status_code == 429  # the budget is the key's, whatever the model
    with gateway_with(PRICED, tmp_path) as url:  # a new process reads the spend back from telemetry
        oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
        with pytest.raises(openai.RateLimitError, match="spent its budget"):
            oai.chat.completions.create(model="priced", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
    report = CliRunner().invoke(
        cli, ["report", "--json", "--by", "key", "--database", sqlite_url(tmp_path / "splitlane.db")]
    )
    (group,) = orjson.loads(report.output)["groups"]  # the refused turns never reached an upstream
    assert group["group"].startswith("key_")  # the key's id, as `splitlane keys list` shows it
    assert group["cost_usd"] > 0.25


def test_a_money_budget_is_not_spent_by_free_turns(tmp_path: Path) -> None:
    """The sim's 'instant' profile has no price: turns cost $0 and never exhaust a money budget."""
    secret = create_key(tmp_path, "free", usd_budget=0.01)
    with gateway_with(CONFIG, tmp_path) as url:
        oai = openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0)
        for _ in range(3):
            reply = oai.chat.completions.with_raw_response.create(model="sim", messages=QUESTION, max_tokens=30)  # type: ignore[arg-type]
            assert float(reply.headers["x-splitlane-budget-remaining-usd"]) == pytest.approx(0.01)


def test_cli_create_list_revoke(secured: tuple[str, Path]) -> None:
    url, data_dir = secured
    database = ["--database", sqlite_url(data_dir / "splitlane.db")]
    runner = CliRunner()
    created = runner.invoke(cli, ["keys", "create", "ci", "--rpm", "100", "--budget-usd", "2.5", *database])
    assert created.exit_code == 0, created.output
    assert "$2.50/day" in created.stderr
    secret = created.stdout.strip().splitlines()[0]
    assert secret.startswith("sl-")
    listed = runner.invoke(cli, ["keys", "list", "--json", *database])
    assert '"name":"ci"' in listed.stdout
    assert secret not in listed.stdout
    assert secret not in (data_dir / "splitlane.db").read_bytes().decode("latin-1")  # only its hash is stored
    headers = {"authorization": f"Bearer {secret}"}
    assert httpx.get(url + "/v1/models", headers=headers).status_code == 200
    duplicate = runner.invoke(cli, ["keys", "create", "ci", *database])
    assert duplicate.exit_code == 1
    assert "exists already" in duplicate.output
    assert runner.invoke(cli, ["keys", "revoke", "ci", *database]).exit_code == 0
    for _ in range(50):  # refused within auth_refresh_s (0.2 s here)
        if httpx.get(url + "/v1/models", headers=headers).status_code == 401:
            break
        threading.Event().wait(0.05)
    assert httpx.get(url + "/v1/models", headers=headers).status_code == 401
    assert runner.invoke(cli, ["keys", "revoke", "nobody", *database]).exit_code == 1
