"""The key ring re-reads the store in a task of its own: requests never wait for that read, and a
revoked key is still refused within about ``refresh_s``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.auth.keyring import KeyRing
from splitlane.auth.keys import ApiKey, KeyStore
from splitlane.store.database import open_engine, sqlite_url
from splitlane.store.migrations import migrate

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _store_with_a_key(tmp_path: Path) -> tuple[AsyncEngine, KeyStore, str]:
    engine = open_engine(sqlite_url(tmp_path / "keys.db"))
    await migrate(engine)
    store = KeyStore(engine)
    secret, _ = await store.create("ci")
    return engine, store, secret


async def test_requests_do_not_wait_for_the_refresh_and_revocation_still_lands(tmp_path: Path) -> None:
    engine, store, secret = await _store_with_a_key(tmp_path)
    ring = KeyRing(engine, required=True, refresh_s=0.3)
    readers: list[str] = []
    read_all = ring.store.all

    async def all_keys() -> list[ApiKey]:
        task = asyncio.current_task()
        readers.append(task.get_name() if task is not None else "?")
        return await read_all()

    ring.store.all = all_keys  # type: ignore[method-assign]
    try:
        await ring.refresh()
        ring.start()
        readers.clear()
        request = asyncio.current_task()
        assert request is not None
        request.set_name("request")
        for _ in range(20):  # 1 s of requests: three refresh periods
            assert await ring.lookup(secret) is not None
            await asyncio.sleep(0.05)
        assert len(readers) >= 2  # the ring kept re-reading
        assert set(readers) == {"splitlane-keyring"}  # and only its own task did
        await store.revoke("ci")
        for _ in range(40):  # refused within about refresh_s (polled: a loaded machine may lag)
            if await ring.lookup(secret) is None:
                break
            await asyncio.sleep(0.05)
        assert await ring.lookup(secret) is None
        assert set(readers) == {"splitlane-keyring"}
    finally:
        await ring.aclose()
        await engine.dispose()


async def test_without_its_task_a_request_refreshes_a_stale_ring_itself(tmp_path: Path) -> None:
    engine, store, secret = await _store_with_a_key(tmp_path)
    ring = KeyRing(engine, required=True, refresh_s=0.05)
    try:
        assert await ring.lookup(secret) is not None
        await store.revoke("ci")
        await asyncio.sleep(0.06)
        assert await ring.lookup(secret) is None
    finally:
        await engine.dispose()


async def test_the_refresh_task_outlives_a_failing_store(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = open_engine(sqlite_url(tmp_path / "keys.db"))
    await migrate(engine)
    ring = KeyRing(engine, required=True, refresh_s=0.05)
    calls = 0

    async def broken(unless_younger_than: float = 0.0) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("store gone")

    ring.refresh = broken  # type: ignore[method-assign]
    try:
        ring.start()
        await asyncio.sleep(0.3)
        assert calls >= 2  # it failed, logged, and tried again
        assert "cannot refresh the API keys" in caplog.text
    finally:
        await ring.aclose()
        await engine.dispose()
