"""Everything the gateway builds at start, in one object passed explicitly (no module globals)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.config import Config
from splitlane.routing.table import RouteTable
from splitlane.store.database import open_engine, sqlite_url
from splitlane.store.responses import ResponseStore
from splitlane.upstream.base import Upstream
from splitlane.upstream.registry import build_upstreams


@dataclass(slots=True)
class Services:
    config: Config
    upstreams: dict[str, Upstream]
    routes: RouteTable
    database: AsyncEngine
    responses: ResponseStore

    @classmethod
    async def start(cls, config: Config) -> Services:
        upstreams = build_upstreams(config)
        database = open_engine(sqlite_url(config.db_path))
        responses = ResponseStore(database)
        await responses.start()
        return cls(config, upstreams, RouteTable(config, upstreams), database, responses)

    async def aclose(self) -> None:
        await asyncio.gather(*(u.aclose() for u in self.upstreams.values()))
        await self.database.dispose()
