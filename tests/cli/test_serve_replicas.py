"""Two `splitlane serve` processes on one PostgreSQL, as a team runs gateway replicas behind a load
balancer: one key's rate, streams and token budget hold across both (not twice over), a burst
against both stays within the limit (plus, for a token budget, the documented bound: the turns in
flight when it is crossed), and each replica's dashboard shows the turns of both."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.api.test_auth import create_key, one_stream_at_a_time
from tests.conftest import postgres_url, reset_postgres
from tests.processes import free_port, serve_process

QUESTION = [{"role": "user", "content": "hi"}]


def _config(path: Path, port: int, database: str) -> Path:
    path.write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f'data_dir = "{path.parent}"\n'
        f'database_url = "{database}"\n'
        'auth = "required"\n'
        "auth_refresh_s = 0.2\n"
        "[upstreams.sim]\n"
        'kind = "sim"\n'
        'sim_profile = "instant"\n'
        "[upstreams.slow]\n"
        'kind = "sim"\n'
        'sim_profile = "fast"\n'
        'sim = { decode_tps = "100", base_latency_s = "0.01" }\n'
        "[models.sim]\n"
        'upstream = "sim"\n'
        "[models.slow]\n"
        'upstream = "slow"\n'
    )
    return path


@pytest.fixture(scope="module")
def database() -> str:
    url = postgres_url()
    asyncio.run(reset_postgres(url))
    return url


@pytest.fixture(scope="module")
def gateways(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two replicas started together (they migrate the empty database under its advisory lock)."""
    ports = [free_port(), free_port()]
    configs = [
        _config(tmp_path_factory.mktemp(f"replica{i}") / "splitlane.toml", p, database) for i, p in enumerate(ports)
    ]
    with serve_process(configs[0], ports[0]), serve_process(configs[1], ports[1]):
        yield [f"http://127.0.0.1:{port}" for port in ports]


def _chat(url: str, secret: str, max_tokens: int = 5) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json={"model": "sim", "messages": QUESTION, "max_tokens": max_tokens},
        headers={"authorization": f"Bearer {secret}"},
        timeout=30,
    )


def test_a_rate_limit_holds_across_both_replicas(gateways: list[str], database: str) -> None:
    secret = create_key(database, "rpm", rpm=6)
    clients = [openai.OpenAI(base_url=url + "/v1", api_key=secret, max_retries=0) for url in gateways]
    for n in range(6):
        clients[n % 2].chat.completions.create(model="sim", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
    for client in clients:  # 3 on each: both now refuse
        with pytest.raises(openai.RateLimitError, match="6 requests per minute") as refused:
            client.chat.completions.create(model="sim", messages=QUESTION, max_tokens=5)  # type: ignore[arg-type]
        assert 1 <= int(refused.value.response.headers["retry-after"]) <= 60


def test_a_burst_against_both_replicas_stays_within_the_rate(gateways: list[str], database: str) -> None:
    secret = create_key(database, "burst", rpm=12)
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda n: _chat(gateways[n % 2], secret), range(40)))
    statuses = [r.status_code for r in replies]
    assert statuses.count(200) == 12  # the bound for a rate is 0: never one over
    assert statuses.count(429) == 28
    admitted_by = [sum(1 for n, r in enumerate(replies) if n % 2 == i and r.status_code == 200) for i in (0, 1)]
    assert all(admitted_by)  # both replicas admitted some: one limit, not one replica doing all the work


def test_streams_in_flight_count_on_both_replicas(gateways: list[str], database: str) -> None:
    secret = create_key(database, "streams", max_streams=1)
    first, second = (anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0) for url in gateways)
    one_stream_at_a_time(first, second)  # a stream on one replica: the key's second, on the other, is refused


def test_a_token_budget_holds_across_both_within_the_documented_bound(gateways: list[str], database: str) -> None:
    """Budget 200 tokens, at most 3 turns in flight: 8 clients on both replicas send turns of up to
    ~40 tokens until one is refused for the budget. The spend ends within 200 + 3 turns' tokens
    (counted per replica it would reach about 400); then both refuse."""
    secret = create_key(database, "spender", token_budget=200, max_streams=3)
    spent = threading.Event()
    replies: list[httpx.Response] = []

    def client(n: int) -> None:
        for _ in range(50):
            if spent.is_set():
                return
            reply = _chat(gateways[n % 2], secret, max_tokens=30)
            replies.append(reply)
            if reply.status_code == 429 and "budget of 200 tokens" in reply.json()["error"]["message"]:
                spent.set()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(client, range(8)))
    assert spent.is_set()
    assert {r.status_code for r in replies} <= {200, 429}
    admitted = [r.json()["usage"]["total_tokens"] for r in replies if r.status_code == 200]
    assert sum(admitted) <= 200 + 3 * max(admitted)
    for url in gateways:
        refused = _chat(url, secret)
        assert refused.status_code == 429
        assert "budget of 200 tokens" in refused.json()["error"]["message"]


def test_each_replicas_dashboard_shows_the_turns_of_both(gateways: list[str], database: str) -> None:
    admin = create_key(database, "admin", admin=True)
    user = create_key(database, "dash")
    for n, url in enumerate(gateways):
        reply = httpx.post(
            url + "/v1/chat/completions",
            json={"model": "sim", "messages": QUESTION, "max_tokens": 3},
            headers={"authorization": f"Bearer {user}", "x-session-affinity": f"dash-{n}"},
            timeout=30,
        )
        assert reply.status_code == 200
    for url in gateways:
        overview = httpx.get(url + "/dashboard/api/overview", headers={"x-api-key": admin}, timeout=30).json()
        sessions = {row["id"] for row in overview["sessions"]}
        assert {"x-session-affinity:dash-0", "x-session-affinity:dash-1"} <= sessions
