from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from sqlalchemy import text

from splitlane.api.app import create_app
from splitlane.config import Config
from splitlane.store.database import open_engine, sqlite_url
from tests.servers import FakeProvider, serve

KINDS = ("openai_chat", "openai_responses", "anthropic")
SCENARIOS = ("text", "tool", "reasoning", "midstream_error", "status500", "status429", "slow")


@pytest.fixture(scope="session")
def provider() -> Iterator[tuple[FakeProvider, str]]:
    fake = FakeProvider()
    with serve(fake.app()) as url:
        yield fake, url


def gateway_config(provider_url: str, data_dir: Path) -> Config:
    upstreams = {
        kind: {
            "kind": kind,
            "base_url": provider_url + ("" if kind == "anthropic" else "/v1"),
            "api_key_env": "SPLITLANE_TEST_UPSTREAM_KEY",
            "idle_timeout_s": 5.0,
        }
        for kind in KINDS
    }
    upstreams["local"] = {"kind": "local", "n_ctx": 4096}
    models = {f"{kind}:{scenario}": {"upstream": kind, "model": scenario} for kind in KINDS for scenario in SCENARIOS}
    models["local"] = {"upstream": "local"}
    for scenario in ("vllm_text", "vllm_tool", "vllm_bad_schema"):  # vLLM's own bytes (tests/fixtures/capture_vllm.py)
        models[f"openai_chat:{scenario}"] = {"upstream": "openai_chat", "model": scenario}
    return Config.model_validate({"data_dir": data_dir, "upstreams": upstreams, "models": models})


@pytest.fixture(scope="session")
def gateway(provider: tuple[FakeProvider, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _, provider_url = provider
    config = gateway_config(provider_url, tmp_path_factory.mktemp("gateway"))
    with serve(create_app(config)) as url:
        yield url


@pytest.fixture
def fake(provider: tuple[FakeProvider, str]) -> FakeProvider:
    fake, _ = provider
    fake.requests.clear()
    return fake


@pytest.fixture
def oai(gateway: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway + "/v1", api_key="test-key", max_retries=0, timeout=60)


@pytest.fixture
def ant(gateway: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway, api_key="test-key", max_retries=0, timeout=60)


@contextmanager
def gateway_with(config: dict[str, Any], data_dir: Path) -> Iterator[str]:
    """A gateway of its own, for tests that need a particular config."""
    with serve(create_app(Config.model_validate({"data_dir": data_dir, **config}))) as url:
        yield url


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose only upstream is the simulator's near-instant profile, answering any model."""
    config = {
        "upstreams": {"sim": {"kind": "sim", "sim_profile": "instant"}},
        "models": {"sim": {"upstream": "sim"}},
        "catch_all": "sim",
    }
    with gateway_with(config, tmp_path_factory.mktemp("sim")) as url:
        yield url


# ---------------------------------------------------------------- the store, on SQLite and PostgreSQL
TABLES = "api_keys, turns, telemetry_drops, captures, responses, key_requests, key_leases, key_spend, schema_migrations"


def postgres_url() -> str:
    url = os.environ.get("SPLITLANE_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("CI must set SPLITLANE_TEST_POSTGRES_URL (.ci/services starts PostgreSQL on loopback)")
    pytest.skip("no PostgreSQL here: run `bash .ci/services` and set SPLITLANE_TEST_POSTGRES_URL to what it prints")


async def reset_postgres(url: str) -> None:
    engine = open_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE IF EXISTS {TABLES} CASCADE"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same store tests, against SQLite and against a real PostgreSQL (emptied first)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "splitlane.db")
        return
    url = postgres_url()
    asyncio.run(reset_postgres(url))
    yield url


@pytest.fixture(scope="session")
def vllm_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """Two real vLLM replicas (tests/vllm.py); skips, saying why, where vLLM cannot run."""
    from tests.vllm import need_vllm, start_fleet

    need_vllm()
    replicas = start_fleet(2, tmp_path_factory.mktemp("vllm"))
    try:
        yield replicas
    finally:
        for replica in replicas:
            replica.stop()
